//! The system-call layer: every system call of the core is made here, through
//! [`syscall!`], and nowhere else (a test checks). The rule for nix and libc: libc for
//! the calls, nix for `Errno` only. Each function turns the kernel's -1 into an
//! [`Error`] whose sentence names the call, the socket, the address and the usual cause.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use crate::addr::{family_name, socktype_name, SockAddr};
use crate::error::{Error, Result};

/// Calls a libc function and turns its -1 into the errno it left, as socket2's
/// `syscall!`. The caller's `// SAFETY:` comment says why the arguments are valid.
macro_rules! syscall {
    ($function:ident ( $($arg:expr),* $(,)? )) => {{
        #[allow(unused_unsafe)]
        let ret = unsafe { libc::$function($($arg),*) };
        if ret == -1 {
            Err(Errno::last())
        } else {
            Ok(ret)
        }
    }};
}

/// The error of the system call that just failed, with a hint for the usual causes.
/// `op` is the call's name, `addr` the address it was given, if any.
pub(crate) fn os_error(op: &str, fd: RawFd, addr: Option<&SockAddr>) -> Error {
    os_error_of(Errno::last(), op, fd, addr)
}

/// As [`os_error`], for an errno already read (prise-run explains the calls it sees
/// with it).
pub fn os_error_of(errno: Errno, op: &str, fd: RawFd, addr: Option<&SockAddr>) -> Error {
    let what = match (op, addr) {
        ("bind" | "connect", Some(addr)) => format!("{op} socket {fd} to {addr}"),
        (_, Some(addr)) => format!("{op} {addr} on socket {fd}"),
        (_, None) => format!("{op} on descriptor {fd}"),
    };
    let error = Error::new(errno, what);
    match explain(op, fd, errno, addr) {
        Some(hint) => error.hint(hint),
        None => error,
    }
}

/// The usual cause of `errno` for call `op`, in words a learner can act on.
fn explain(op: &str, fd: RawFd, errno: Errno, addr: Option<&SockAddr>) -> Option<String> {
    let at = addr.map(|a| a.to_string()).unwrap_or_default();
    Some(match (op, errno) {
        (_, Errno::EBADF) => format!("descriptor {fd} is not open: was it closed already?"),
        (_, Errno::ENOTSOCK) => format!("descriptor {fd} is a file or pipe, not a socket"),
        ("connect", Errno::ECONNREFUSED) => format!("is a server listening on {at}?"),
        (_, Errno::ECONNREFUSED) => "nothing answered at the peer's address".into(),
        ("bind", Errno::EADDRINUSE) => match addr.and_then(SockAddr::unix_path) {
            Some(name) if name.starts_with(b"@") => {
                format!("another socket already uses the abstract name {at}")
            }
            Some(_) => format!(
                "a file already exists at the path of {at}: remove it if no server uses it, \
                 or choose another path"
            ),
            None => format!(
                "another socket already uses {at}: a server still running there, or the \
                 connections of one that stopped, which stay in TIME_WAIT for a minute after \
                 closing; SO_REUSEADDR set before bind lets a server bind over TIME_WAIT \
                 (prise_tcp_listen sets it), else stop the other server or choose another port"
            ),
        },
        ("bind", Errno::EACCES) => "ports below 1024 need administrator rights".into(),
        ("bind", Errno::EADDRNOTAVAIL) => format!("{at} is not an address of this machine"),
        ("bind" | "connect" | "sendto", Errno::EAFNOSUPPORT) => {
            "the address family does not match the socket's".into()
        }
        ("accept", Errno::EINVAL) => "the socket is not listening: call listen first".into(),
        ("listen" | "accept", Errno::EOPNOTSUPP) => {
            "only stream sockets (SOCK_STREAM) listen and accept".into()
        }
        (_, Errno::EPIPE) => "the peer has closed the connection".into(),
        (_, Errno::ECONNRESET) => "the peer reset the connection".into(),
        (_, Errno::ENOTCONN) => "the socket is not connected".into(),
        (_, Errno::EDESTADDRREQ) => {
            "the socket has no destination: connect it or use sendto".into()
        }
        (_, Errno::EAGAIN) => "no data before the timeout, or the socket is non-blocking".into(),
        (_, Errno::EMFILE) => "this process has no descriptor left: close some".into(),
        (_, Errno::ETIMEDOUT) => format!("no answer from {at} in time"),
        _ => return None,
    })
}

fn ret_unit(
    ret: std::result::Result<libc::c_int, Errno>,
    op: &str,
    fd: RawFd,
    addr: Option<&SockAddr>,
) -> Result<()> {
    ret.map(drop)
        .map_err(|errno| os_error_of(errno, op, fd, addr))
}

/// Takes ownership of a descriptor a system call has just made.
fn owned(fd: RawFd) -> OwnedFd {
    // SAFETY: fd was just returned by the kernel and nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn ret_len(
    ret: std::result::Result<libc::ssize_t, Errno>,
    op: &str,
    fd: RawFd,
    addr: Option<&SockAddr>,
) -> Result<usize> {
    ret.map(|n| n as usize)
        .map_err(|errno| os_error_of(errno, op, fd, addr))
}

/// socket(2), with the flags the caller gives (prise_socket).
pub fn socket(
    domain: libc::c_int,
    socktype: libc::c_int,
    protocol: libc::c_int,
) -> Result<OwnedFd> {
    // SAFETY: plain system call on integers.
    let fd = match syscall!(socket(domain, socktype, protocol)) {
        Ok(fd) => fd,
        Err(errno) => return Err(socket_error(domain, socktype, protocol, errno)),
    };
    Ok(owned(fd))
}

/// A socket prise makes for its caller (helpers, course API, probes): close-on-exec, as
/// Python, Go and Rust's std make theirs, so that a program that execs another does not
/// hand it its sockets.
pub fn new_socket(
    domain: libc::c_int,
    socktype: libc::c_int,
    protocol: libc::c_int,
) -> Result<OwnedFd> {
    socket(domain, socktype | libc::SOCK_CLOEXEC, protocol)
}

/// Why socket(2) failed, with the usual cause.
pub fn socket_error(
    domain: libc::c_int,
    socktype: libc::c_int,
    protocol: libc::c_int,
    errno: Errno,
) -> Error {
    let error = Error::new(
        errno,
        format!(
            "socket({}, {}, {protocol})",
            family_name(domain),
            socktype_name(socktype)
        ),
    );
    match errno {
        Errno::EAFNOSUPPORT => error.hint("this system does not offer that family"),
        Errno::EMFILE => error.hint("this process has no descriptor left: close some"),
        Errno::EINVAL | Errno::EPROTONOSUPPORT | Errno::ESOCKTNOSUPPORT => {
            error.hint("that family, type and protocol do not go together")
        }
        _ => error,
    }
}

pub fn bind(fd: RawFd, addr: &SockAddr) -> Result<()> {
    // SAFETY: addr points to addr.len() valid bytes.
    let ret = syscall!(bind(fd, addr.as_ptr(), addr.len()));
    ret_unit(ret, "bind", fd, Some(addr))
}

pub fn listen(fd: RawFd, backlog: libc::c_int) -> Result<()> {
    // SAFETY: plain system call on integers.
    ret_unit(syscall!(listen(fd, backlog)), "listen", fd, None)
}

/// accept4(2), returning the peer's address too; `flags` 0 is accept(2) (prise_accept),
/// SOCK_CLOEXEC for the connections prise's servers accept.
pub fn accept(fd: RawFd, flags: libc::c_int) -> Result<(OwnedFd, SockAddr)> {
    let mut peer = SockAddr::for_kernel();
    let mut len = peer.len();
    // SAFETY: peer has room for len bytes; the kernel writes at most that.
    let conn = syscall!(accept4(fd, peer.as_mut_ptr(), &mut len, flags))
        .map_err(|errno| os_error_of(errno, "accept", fd, None))?;
    peer.set_len(len);
    Ok((owned(conn), peer))
}

pub fn connect(fd: RawFd, addr: &SockAddr) -> Result<()> {
    // SAFETY: addr points to addr.len() valid bytes.
    let ret = syscall!(connect(fd, addr.as_ptr(), addr.len()));
    ret_unit(ret, "connect", fd, Some(addr))
}

/// send(2); MSG_NOSIGNAL is always added: a closed peer is EPIPE, never a SIGPIPE death.
pub fn send(fd: RawFd, buf: &[u8], flags: libc::c_int) -> Result<usize> {
    // SAFETY: buf is valid for buf.len() bytes.
    let ret = syscall!(send(
        fd,
        buf.as_ptr().cast(),
        buf.len(),
        flags | libc::MSG_NOSIGNAL,
    ));
    ret_len(ret, "send", fd, None)
}

pub fn recv(fd: RawFd, buf: &mut [u8], flags: libc::c_int) -> Result<usize> {
    // SAFETY: buf is valid for writes of buf.len() bytes.
    let ret = syscall!(recv(fd, buf.as_mut_ptr().cast(), buf.len(), flags));
    ret_len(ret, "recv", fd, None)
}

/// sendto(2) with MSG_NOSIGNAL; `to` None sends on a connected socket.
pub fn sendto(fd: RawFd, buf: &[u8], flags: libc::c_int, to: Option<&SockAddr>) -> Result<usize> {
    let (ptr, len) = match to {
        Some(addr) => (addr.as_ptr(), addr.len()),
        None => (std::ptr::null(), 0),
    };
    // SAFETY: buf is valid for buf.len() bytes; ptr is NULL or valid for len bytes.
    let ret = syscall!(sendto(
        fd,
        buf.as_ptr().cast(),
        buf.len(),
        flags | libc::MSG_NOSIGNAL,
        ptr,
        len,
    ));
    ret_len(ret, "sendto", fd, to)
}

/// recvfrom(2), returning the sender's address (empty for a connected stream socket).
pub fn recvfrom(fd: RawFd, buf: &mut [u8], flags: libc::c_int) -> Result<(usize, SockAddr)> {
    let mut from = SockAddr::for_kernel();
    let mut len = from.len();
    // SAFETY: buf is valid for buf.len() bytes; from has room for len bytes.
    let ret = syscall!(recvfrom(
        fd,
        buf.as_mut_ptr().cast(),
        buf.len(),
        flags,
        from.as_mut_ptr(),
        &mut len,
    ));
    let n = ret_len(ret, "recvfrom", fd, None)?;
    from.set_len(len);
    Ok((n, from))
}

/// read(2): works on any descriptor.
pub fn read(fd: RawFd, buf: &mut [u8]) -> Result<usize> {
    // SAFETY: buf is valid for writes of buf.len() bytes.
    let ret = syscall!(read(fd, buf.as_mut_ptr().cast(), buf.len()));
    ret_len(ret, "read", fd, None)
}

/// write(2) that never raises SIGPIPE: send(MSG_NOSIGNAL) on a socket; on any other
/// descriptor a write with SIGPIPE held back (see [`write_once`]).
pub fn write(fd: RawFd, buf: &[u8]) -> Result<usize> {
    write_once(fd, buf, &mut Writer::Socket)
}

/// write(2) on a descriptor that is not a socket (pipe, file, terminal) without the
/// process receiving SIGPIPE (see [`sigpipe_held`]).
pub fn write_no_sigpipe(fd: RawFd, buf: &[u8]) -> Result<usize> {
    // SAFETY: buf is valid for buf.len() bytes.
    let ret = sigpipe_held(|| unsafe { libc::write(fd, buf.as_ptr().cast(), buf.len()) });
    if ret < 0 {
        Err(os_error("write", fd, None))
    } else {
        Ok(ret as usize)
    }
}

/// Runs `write`, a write(2)-like call (-1 and errno on failure), without the process
/// receiving SIGPIPE: the signal is blocked in this thread for the call, and a SIGPIPE
/// the call raised is taken back before the mask is restored. A SIGPIPE that was
/// already pending for another reason is left alone. errno is the call's.
pub fn sigpipe_held(write: impl FnOnce() -> libc::ssize_t) -> libc::ssize_t {
    // SAFETY: the sigset_t values are initialised by sigemptyset before use; the calls
    // only read and write those local values.
    unsafe {
        let mut pipe_only: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut pipe_only);
        libc::sigaddset(&mut pipe_only, libc::SIGPIPE);
        let mut saved: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_BLOCK, &pipe_only, &mut saved);
        let mut pending: libc::sigset_t = std::mem::zeroed();
        libc::sigpending(&mut pending);
        let was_pending = libc::sigismember(&pending, libc::SIGPIPE) == 1;

        let ret = write();
        let errno = Errno::last();

        if ret < 0 && errno == Errno::EPIPE && !was_pending {
            let zero = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            while libc::sigtimedwait(&pipe_only, std::ptr::null_mut(), &zero) < 0
                && Errno::last() == Errno::EINTR
            {}
        }
        libc::pthread_sigmask(libc::SIG_SETMASK, &saved, std::ptr::null_mut());
        errno.set();
        ret
    }
}

/// How the next piece goes out: send(MSG_NOSIGNAL) until the descriptor turns out not
/// to be a socket, then write(2) with SIGPIPE held back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Writer {
    Socket,
    Other,
}

/// One write that never raises SIGPIPE; moves `writer` to `Other` on ENOTSOCK.
pub fn write_once(fd: RawFd, buf: &[u8], writer: &mut Writer) -> Result<usize> {
    if *writer == Writer::Socket {
        let caller_errno = Errno::last_raw();
        // SAFETY: buf is valid for buf.len() bytes.
        let ret = unsafe { libc::send(fd, buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) };
        if ret >= 0 {
            return Ok(ret as usize);
        }
        if Errno::last() != Errno::ENOTSOCK {
            return Err(os_error("write", fd, None));
        }
        *writer = Writer::Other;
        // The ENOTSOCK was prise's question, not the caller's failure: a write that
        // succeeds leaves errno as the caller had it, as write(2) would.
        let written = write_no_sigpipe(fd, buf);
        if written.is_ok() {
            Errno::set_raw(caller_errno);
        }
        return written;
    }
    write_no_sigpipe(fd, buf)
}

/// The descriptor's status flags (F_GETFL: O_NONBLOCK, …).
pub fn status_flags(fd: RawFd) -> Result<libc::c_int> {
    // SAFETY: fcntl on an integer descriptor.
    syscall!(fcntl(fd, libc::F_GETFL)).map_err(|errno| os_error_of(errno, "fcntl", fd, None))
}

/// Turns O_NONBLOCK on or off.
pub fn set_nonblocking(fd: RawFd, on: bool) -> Result<()> {
    let flags = status_flags(fd)?;
    let wanted = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    // SAFETY: fcntl on an integer descriptor with integer flags.
    ret_unit(
        syscall!(fcntl(fd, libc::F_SETFL, wanted)),
        "fcntl",
        fd,
        None,
    )
}

/// Whether `fd` is a socket; None when it is not open.
pub fn is_socket(fd: RawFd) -> Option<bool> {
    // SAFETY: stat is plain data; fstat writes it.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: st is ours.
    syscall!(fstat(fd, &mut st))
        .ok()
        .map(|_| st.st_mode & libc::S_IFMT == libc::S_IFSOCK)
}

/// Whether two descriptors refer to the same open socket (the same inode of sockfs):
/// false when either is closed.
pub fn same_socket(a: RawFd, b: RawFd) -> bool {
    let identity = |fd: RawFd| {
        // SAFETY: stat is plain data; fstat writes it.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        // SAFETY: st is ours.
        syscall!(fstat(fd, &mut st))
            .ok()
            .map(|_| (st.st_dev, st.st_ino))
    };
    matches!((identity(a), identity(b)), (Some(x), Some(y)) if x == y)
}

/// A close-on-exec duplicate of `fd` (F_DUPFD_CLOEXEC).
pub fn dup_cloexec(fd: RawFd) -> Result<OwnedFd> {
    // SAFETY: fcntl on an integer descriptor; the new one is owned at once.
    let copy = syscall!(fcntl(fd, libc::F_DUPFD_CLOEXEC, 0))
        .map_err(|errno| os_error_of(errno, "dup", fd, None))?;
    Ok(owned(copy))
}

/// The descriptor flags (F_GETFD: FD_CLOEXEC); EBADF when `fd` is not open.
pub fn descriptor_flags(fd: RawFd) -> Result<libc::c_int> {
    // SAFETY: fcntl on an integer descriptor.
    syscall!(fcntl(fd, libc::F_GETFD)).map_err(|errno| os_error_of(errno, "fcntl", fd, None))
}

/// Turns close-on-exec on (F_SETFD), for descriptors a program inherited.
pub fn set_cloexec(fd: RawFd) -> Result<()> {
    let flags = descriptor_flags(fd)?;
    // SAFETY: fcntl on an integer descriptor with integer flags.
    ret_unit(
        syscall!(fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC)),
        "fcntl",
        fd,
        None,
    )
}

/// Takes ownership of a descriptor this process inherited (socket activation): it is
/// closed when dropped. The caller makes sure nothing else owns it.
pub fn adopt_inherited(fd: RawFd) -> Result<OwnedFd> {
    descriptor_flags(fd)?;
    Ok(owned(fd))
}

/// The wait argument of poll and epoll_wait for `deadline`: milliseconds rounded up, so
/// that the wait never ends before it, and 0 once it has passed.
pub fn millis_until(deadline: std::time::Instant) -> libc::c_int {
    let left = deadline.saturating_duration_since(std::time::Instant::now());
    libc::c_int::try_from(left.as_micros().div_ceil(1000)).unwrap_or(libc::c_int::MAX)
}

/// poll(2) on one descriptor for `events`, at most `millis` (-1: no limit): whether it
/// became ready. EINTR is returned, for the caller to decide.
pub fn poll_one(fd: RawFd, events: libc::c_short, millis: libc::c_int) -> Result<bool> {
    let mut entry = [libc::pollfd {
        fd,
        events,
        revents: 0,
    }];
    Ok(poll_many(&mut entry, millis)? > 0)
}

/// poll(2) on every entry, at most `millis` (-1: no limit): how many are ready, their
/// `revents` filled in. EINTR is returned, for the caller to decide.
pub fn poll_many(entries: &mut [libc::pollfd], millis: libc::c_int) -> Result<usize> {
    let first = entries.first().map_or(-1, |entry| entry.fd);
    // SAFETY: entries is valid for entries.len() pollfd structures, ours.
    let ready = syscall!(poll(
        entries.as_mut_ptr(),
        entries.len() as libc::nfds_t,
        millis
    ))
    .map_err(|errno| os_error_of(errno, "poll", first, None))?;
    Ok(ready as usize)
}

/// A socket option read as the plain C value `T` (a timeval, a ucred, an int).
pub fn get_option<T: Copy>(fd: RawFd, level: libc::c_int, name: libc::c_int) -> Result<T> {
    // SAFETY: T is plain data (the option's C struct); all-zero is a valid start.
    let mut value: T = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<T>() as libc::socklen_t;
    // SAFETY: value is valid for writes of len bytes.
    syscall!(getsockopt(
        fd,
        level,
        name,
        (&mut value as *mut T).cast(),
        &mut len
    ))
    .map_err(|errno| os_error_of(errno, &format!("getsockopt({level}, {name})"), fd, None))?;
    Ok(value)
}

/// sendmsg(2) with MSG_NOSIGNAL added.
///
/// # Safety
/// `message` points at live buffers of the lengths it gives.
pub unsafe fn sendmsg(fd: RawFd, message: &libc::msghdr, flags: libc::c_int) -> Result<usize> {
    ret_len(
        syscall!(sendmsg(fd, message, flags | libc::MSG_NOSIGNAL)),
        "sendmsg",
        fd,
        None,
    )
}

/// recvmsg(2).
///
/// # Safety
/// `message` points at live buffers of the lengths it gives.
pub unsafe fn recvmsg(fd: RawFd, message: &mut libc::msghdr, flags: libc::c_int) -> Result<usize> {
    ret_len(syscall!(recvmsg(fd, message, flags)), "recvmsg", fd, None)
}

/// A new epoll instance, close-on-exec.
pub fn epoll_create() -> Result<OwnedFd> {
    // SAFETY: epoll_create1 on a flag; the new descriptor is owned at once.
    let epoll = syscall!(epoll_create1(libc::EPOLL_CLOEXEC))
        .map_err(|errno| os_error_of(errno, "epoll_create1", -1, None))?;
    Ok(owned(epoll))
}

/// epoll_ctl(2): `op` (EPOLL_CTL_ADD, _MOD, _DEL) for `fd`, reporting `events` with `token`.
pub fn epoll_control(
    epoll: RawFd,
    op: libc::c_int,
    fd: RawFd,
    events: u32,
    token: u64,
) -> Result<()> {
    let mut event = libc::epoll_event { events, u64: token };
    // SAFETY: epoll_ctl on integers and a local event.
    ret_unit(
        syscall!(epoll_ctl(epoll, op, fd, &mut event)),
        "epoll_ctl",
        fd,
        None,
    )
}

/// An epoll instance (close-on-exec) watching `fd` for `events`.
pub fn epoll_watching(fd: RawFd, events: u32) -> Result<OwnedFd> {
    let epoll = epoll_create()?;
    epoll_control(epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, events, 0)?;
    Ok(epoll)
}

/// One epoll_wait(2), at most `millis` (-1: no limit): how many of `events` it filled.
/// EINTR is returned, for the caller to decide.
pub fn epoll_wait(
    epoll: RawFd,
    events: &mut [libc::epoll_event],
    millis: libc::c_int,
) -> Result<usize> {
    let room = libc::c_int::try_from(events.len()).unwrap_or(libc::c_int::MAX);
    // SAFETY: events has room for `room` entries.
    let n = syscall!(epoll_wait(epoll, events.as_mut_ptr(), room, millis))
        .map_err(|errno| os_error_of(errno, "epoll_wait", epoll, None))?;
    Ok(n as usize)
}

/// One epoll_wait(2) for one event, at most `millis`: its events, or None on timeout.
/// EINTR is returned, for the caller to decide.
pub fn epoll_wait_one(epoll: &OwnedFd, millis: libc::c_int) -> Result<Option<u32>> {
    let mut event = [libc::epoll_event { events: 0, u64: 0 }];
    let n = epoll_wait(epoll.as_raw_fd(), &mut event, millis)?;
    Ok((n > 0).then_some(event[0].events))
}

/// A non-blocking, close-on-exec signalfd(2) reading the signals of `mask` (which the
/// caller blocks, so that they wait there instead of being delivered).
pub fn signalfd(mask: &libc::sigset_t) -> Result<OwnedFd> {
    // SAFETY: mask is an initialised signal set; the new descriptor is owned at once.
    let fd = syscall!(signalfd(-1, mask, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC))
        .map_err(|errno| os_error_of(errno, "signalfd", -1, None))?;
    Ok(owned(fd))
}

/// Reads one signal waiting on a signalfd: its number, or None when none waits.
pub fn read_signal(fd: RawFd) -> Result<Option<libc::c_int>> {
    // SAFETY: signalfd_siginfo is plain data; all-zero is a valid value.
    let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::signalfd_siginfo>();
    // SAFETY: info is valid for writes of size bytes.
    match syscall!(read(
        fd,
        (&mut info as *mut libc::signalfd_siginfo).cast(),
        size
    )) {
        Ok(n) if n as usize == size => Ok(Some(info.ssi_signo as libc::c_int)),
        Ok(_) | Err(Errno::EAGAIN) => Ok(None),
        Err(errno) => Err(os_error_of(errno, "read", fd, None)),
    }
}

pub fn shutdown(fd: RawFd, how: libc::c_int) -> Result<()> {
    // SAFETY: plain system call on integers.
    let ret = syscall!(shutdown(fd, how));
    ret_unit(ret, "shutdown", fd, None)
}

/// close(2). Not retried on EINTR: Linux has released the descriptor already.
pub fn close(fd: RawFd) -> Result<()> {
    // SAFETY: plain system call on an integer.
    ret_unit(syscall!(close(fd)), "close", fd, None)
}

pub fn getsockname(fd: RawFd) -> Result<SockAddr> {
    let mut addr = SockAddr::for_kernel();
    let mut len = addr.len();
    // SAFETY: addr has room for len bytes.
    let ret = syscall!(getsockname(fd, addr.as_mut_ptr(), &mut len));
    ret_unit(ret, "getsockname", fd, None)?;
    addr.set_len(len);
    Ok(addr)
}

pub fn getpeername(fd: RawFd) -> Result<SockAddr> {
    let mut addr = SockAddr::for_kernel();
    let mut len = addr.len();
    // SAFETY: addr has room for len bytes.
    let ret = syscall!(getpeername(fd, addr.as_mut_ptr(), &mut len));
    ret_unit(ret, "getpeername", fd, None)?;
    addr.set_len(len);
    Ok(addr)
}

/// setsockopt(2) with the option's value as bytes.
pub fn setsockopt(fd: RawFd, level: libc::c_int, name: libc::c_int, value: &[u8]) -> Result<()> {
    let len = libc::socklen_t::try_from(value.len())
        .map_err(|_| Error::with_message(Errno::EINVAL, "option value too large"))?;
    // SAFETY: value is valid for len bytes.
    syscall!(setsockopt(fd, level, name, value.as_ptr().cast(), len))
        // The call's name is only written out when there is a failure to report.
        .map_err(|errno| os_error_of(errno, &format!("setsockopt({level}, {name})"), fd, None))?;
    Ok(())
}

/// getsockopt(2) into `value`; returns how many bytes the kernel wrote.
pub fn getsockopt(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: &mut [u8],
) -> Result<usize> {
    let mut len = libc::socklen_t::try_from(value.len()).unwrap_or(libc::socklen_t::MAX);
    // SAFETY: value is valid for writes of len bytes.
    syscall!(getsockopt(
        fd,
        level,
        name,
        value.as_mut_ptr().cast(),
        &mut len
    ))
    .map_err(|errno| os_error_of(errno, &format!("getsockopt({level}, {name})"), fd, None))?;
    Ok(len as usize)
}

/// The value of an integer socket option (SO_TYPE, SO_DOMAIN, …).
pub fn get_int_option(fd: RawFd, level: libc::c_int, name: libc::c_int) -> Result<libc::c_int> {
    let mut value = [0u8; std::mem::size_of::<libc::c_int>()];
    getsockopt(fd, level, name, &mut value)?;
    Ok(libc::c_int::from_ne_bytes(value))
}

/// An integer socket option, the common case (SO_REUSEADDR, IPV6_V6ONLY, …).
pub fn set_int_option(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> Result<()> {
    setsockopt(fd, level, name, &value.to_ne_bytes())
}

/// A connected pair of Unix sockets of `socktype`, for tests.
#[cfg(test)]
pub(crate) fn socketpair(socktype: libc::c_int) -> (OwnedFd, OwnedFd) {
    let mut sv = [0; 2];
    // SAFETY: room for the two descriptors; each is owned at once.
    syscall!(socketpair(
        libc::AF_UNIX,
        socktype | libc::SOCK_CLOEXEC,
        0,
        sv.as_mut_ptr()
    ))
    .expect("socketpair");
    (owned(sv[0]), owned(sv[1]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;
    use std::os::fd::AsRawFd;

    fn loopback_any_port() -> SockAddr {
        SockAddr::from("127.0.0.1:0".parse::<SocketAddr>().unwrap())
    }

    #[test]
    fn tcp_exchange_over_loopback() {
        let server_fd = socket(libc::AF_INET, libc::SOCK_STREAM, 0).unwrap();
        let server = server_fd.as_raw_fd();
        bind(server, &loopback_any_port()).unwrap();
        listen(server, 4).unwrap();
        let bound = getsockname(server).unwrap();
        assert_ne!(bound.port(), Some(0));

        let client_fd = new_socket(libc::AF_INET, libc::SOCK_STREAM, 0).unwrap();
        let client = client_fd.as_raw_fd();
        connect(client, &bound).unwrap();
        let (conn_fd, peer) = accept(server, 0).unwrap();
        let conn = conn_fd.as_raw_fd();
        assert_eq!(peer, getsockname(client).unwrap());
        assert_eq!(getpeername(client).unwrap(), bound);

        assert_eq!(send(client, b"ping", 0).unwrap(), 4);
        let mut buf = [0u8; 8];
        assert_eq!(recv(conn, &mut buf, 0).unwrap(), 4);
        assert_eq!(&buf[..4], b"ping");
        assert_eq!(write(conn, b"pong").unwrap(), 4);
        assert_eq!(read(client, &mut buf).unwrap(), 4);
        assert_eq!(&buf[..4], b"pong");

        shutdown(client, libc::SHUT_WR).unwrap();
        assert_eq!(read(conn, &mut buf).unwrap(), 0);
        // Only what prise makes for its caller is close-on-exec.
        let cloexec = |fd: RawFd| unsafe { libc::fcntl(fd, libc::F_GETFD) } & libc::FD_CLOEXEC;
        assert_eq!(cloexec(server), 0);
        assert_eq!(cloexec(conn), 0);
        assert_eq!(cloexec(client), libc::FD_CLOEXEC);
    }

    #[test]
    fn refused_connect_names_the_address_and_the_cause() {
        // Bind without listening: a port nobody accepts on.
        let holder = socket(libc::AF_INET, libc::SOCK_STREAM, 0).unwrap();
        bind(holder.as_raw_fd(), &loopback_any_port()).unwrap();
        let addr = getsockname(holder.as_raw_fd()).unwrap();
        let client = socket(libc::AF_INET, libc::SOCK_STREAM, 0).unwrap();
        let err = connect(client.as_raw_fd(), &addr).unwrap_err();
        assert_eq!(err.errno(), Errno::ECONNREFUSED);
        assert!(err.message().contains(&addr.to_string()), "{err}");
        assert!(err.message().contains("is a server listening"), "{err}");
    }

    #[test]
    fn udp_sendto_recvfrom_reports_sender() {
        let a = socket(libc::AF_INET6, libc::SOCK_DGRAM, 0).unwrap();
        let (a, a_fd) = (a.as_raw_fd(), a);
        bind(a, &SockAddr::from("[::1]:0".parse::<SocketAddr>().unwrap())).unwrap();
        let b = socket(libc::AF_INET6, libc::SOCK_DGRAM, 0).unwrap();
        let (b, b_fd) = (b.as_raw_fd(), b);
        bind(b, &SockAddr::from("[::1]:0".parse::<SocketAddr>().unwrap())).unwrap();
        let to = getsockname(b).unwrap();
        assert_eq!(sendto(a, b"hi", 0, Some(&to)).unwrap(), 2);
        let mut buf = [0u8; 4];
        let (n, from) = recvfrom(b, &mut buf, 0).unwrap();
        assert_eq!((n, from), (2, getsockname(a).unwrap()));
        drop((a_fd, b_fd));
    }

    #[test]
    fn bad_descriptors_are_errors_with_reasons() {
        let err = send(-1, b"x", 0).unwrap_err();
        assert_eq!(err.errno(), Errno::EBADF);
        assert!(err.message().contains("not open"));
        let err = listen(0, 1).unwrap_err(); // stdin is never a listening socket here
        assert!(matches!(err.errno(), Errno::ENOTSOCK | Errno::EBADF));
    }

    #[test]
    fn a_unix_address_in_use_is_a_path_not_a_port() {
        let path = std::env::temp_dir().join(format!("prise-in-use-{}", std::process::id()));
        std::fs::write(&path, b"x").unwrap();
        let addr = SockAddr::unix(path.to_str().unwrap().as_bytes()).unwrap();
        let fd = socket(libc::AF_UNIX, libc::SOCK_STREAM, 0).unwrap();
        let err = bind(fd.as_raw_fd(), &addr).unwrap_err();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(err.errno(), Errno::EADDRINUSE);
        assert!(
            err.message().contains("a file already exists at the path"),
            "{err}"
        );
        assert!(!err.message().contains("port"), "{err}");
    }

    #[test]
    fn options_round_trip() {
        let owned = socket(libc::AF_INET, libc::SOCK_STREAM, 0).unwrap();
        let fd = owned.as_raw_fd();
        set_int_option(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1).unwrap();
        let mut value = [0u8; 4];
        assert_eq!(
            getsockopt(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, &mut value).unwrap(),
            4
        );
        assert_eq!(i32::from_ne_bytes(value), 1);
    }
}
