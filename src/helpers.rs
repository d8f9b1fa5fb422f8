//! The high-level helpers a C programmer reaches for first (UNP's tcp_connect,
//! tcp_listen, readline; Python's create_connection, create_server(dual_stack=True),
//! settimeout): each one does the whole job, or reports which step failed and why.

use std::ffi::CStr;
use std::io::IoSlice;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{getsockopt, sendmsg, sockopt, ControlMessage, MsgFlags, UnixAddr};

use crate::addr::{family_name, SockAddr};
use crate::error::{shown, Error, Result};
use crate::resolve::{self, Hints, Target};
use crate::socket;

fn resolve_for(
    host: Option<&CStr>,
    service: &CStr,
    socktype: libc::c_int,
    passive: bool,
) -> Result<resolve::AddrInfoList> {
    let hints = Hints {
        family: libc::AF_UNSPEC,
        socktype,
        protocol: 0,
        flags: if passive {
            libc::AI_PASSIVE
        } else {
            libc::AI_ADDRCONFIG
        },
    };
    resolve::getaddrinfo(host, Some(service), &hints).or_else(|error| {
        // AI_ADDRCONFIG hides loopback-only families on hosts without other
        // addresses; ask again without it before giving up.
        if passive {
            return Err(error);
        }
        resolve::getaddrinfo(host, Some(service), &Hints { flags: 0, ..hints })
    })
}

/// Tries every address in order with `attempt` until one works; the failure names every
/// address tried and keeps the errno of the last attempt.
fn try_each(
    list: &resolve::AddrInfoList,
    what: &str,
    target: &Target<'_>,
    mut attempt: impl FnMut(&resolve::AddrInfo) -> Result<OwnedFd>,
) -> Result<OwnedFd> {
    let mut tried = Vec::new();
    let mut last: Option<Error> = None;
    for entry in list.iter() {
        match attempt(&entry) {
            Ok(fd) => return Ok(fd),
            Err(error) => {
                tried.push(entry.addr.to_string());
                last = Some(error);
            }
        }
    }
    let last = last.unwrap_or_else(|| Error::with_message(Errno::ENOENT, "no address"));
    if tried.len() == 1 {
        return Err(last);
    }
    Err(Error::with_message(
        last.errno(),
        format!(
            "{what} {target}: every address failed (tried {}); last: {}",
            tried.join(", "),
            last.message()
        ),
    ))
}

/// Connects a TCP socket to host:service, trying every address (IPv6 and IPv4) in order.
pub fn tcp_connect(host: &CStr, service: &CStr, timeout: Option<Duration>) -> Result<OwnedFd> {
    connect_first(host, service, libc::SOCK_STREAM, timeout)
}

/// A socket of `socktype` connected to the first address of host:service that answers;
/// each attempt bounded by `timeout` when given.
fn connect_first(
    host: &CStr,
    service: &CStr,
    socktype: libc::c_int,
    timeout: Option<Duration>,
) -> Result<OwnedFd> {
    let list = resolve_for(Some(host), service, socktype, false)?;
    let target = Target {
        host: Some(host),
        service: Some(service),
    };
    try_each(&list, "connect to", &target, |entry| {
        let fd = socket::new_socket(entry.family, entry.socktype, entry.protocol)?;
        match timeout {
            None => socket::connect(fd.as_raw_fd(), &entry.addr)?,
            Some(limit) => connect_within(fd.as_raw_fd(), &entry.addr, limit)?,
        }
        Ok(fd)
    })
}

fn set_nonblocking(fd: RawFd, on: bool) -> Result<()> {
    // SAFETY: fcntl on an integer descriptor with integer flags.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(socket::os_error("fcntl", fd, None));
    }
    let wanted = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, wanted) } < 0 {
        return Err(socket::os_error("fcntl", fd, None));
    }
    Ok(())
}

/// A non-blocking connect bounded by `limit`; the socket is blocking again afterwards.
fn connect_within(fd: RawFd, addr: &SockAddr, limit: Duration) -> Result<()> {
    set_nonblocking(fd, true)?;
    match socket::connect(fd, addr) {
        Ok(()) => return set_nonblocking(fd, false),
        Err(e) if e.errno() == Errno::EINPROGRESS => {}
        Err(e) => return Err(e),
    }
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let millis = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(borrowed(fd)?, PollFlags::POLLOUT)];
        match poll(&mut fds, PollTimeout::from(millis)) {
            Ok(0) if left.is_zero() => {
                return Err(
                    Error::new(Errno::ETIMEDOUT, format!("connect socket {fd} to {addr}"))
                        .hint(format!("no answer within {} ms", limit.as_millis())),
                );
            }
            Ok(0) => continue,
            Ok(_) => break,
            Err(Errno::EINTR) => continue,
            Err(errno) => {
                return Err(Error::new(
                    errno,
                    format!("poll while connecting to {addr}"),
                ))
            }
        }
    }
    let pending = getsockopt(&borrowed(fd)?, sockopt::SocketError)
        .map_err(|errno| Error::new(errno, "getsockopt(SO_ERROR)"))?;
    if pending != 0 {
        let errno = Errno::from_raw(pending);
        let error = Error::new(errno, format!("connect socket {fd} to {addr}"));
        return Err(if errno == Errno::ECONNREFUSED {
            error.hint(format!("is a server listening on {addr}?"))
        } else {
            error
        });
    }
    set_nonblocking(fd, false)
}

/// A bound socket (and listening, for streams) for host:service; `None` host means
/// every address: one dual-stack IPv6 socket, or 0.0.0.0 where IPv6 is unavailable.
fn bound_socket(
    host: Option<&CStr>,
    service: &CStr,
    socktype: libc::c_int,
    backlog: Option<libc::c_int>,
) -> Result<OwnedFd> {
    let setup = |family: libc::c_int, protocol: libc::c_int, addr: &SockAddr| -> Result<OwnedFd> {
        let fd = socket::new_socket(family, socktype, protocol)?;
        let raw = fd.as_raw_fd();
        if socktype == libc::SOCK_STREAM {
            socket::set_int_option(raw, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
        }
        if family == libc::AF_INET6 && host.is_none() {
            socket::set_int_option(raw, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 0)?;
        }
        socket::bind(raw, addr)?;
        if let Some(backlog) = backlog {
            socket::listen(raw, backlog)?;
        }
        Ok(fd)
    };
    let target = Target {
        host,
        service: Some(service),
    };
    if host.is_none() {
        // Resolve the port once with the IPv6 wildcard, then fall back to IPv4.
        let list = resolve_for(Some(c"::"), service, socktype, true);
        if let Ok(list) = list {
            let entry = list.first();
            match setup(libc::AF_INET6, entry.protocol, &entry.addr) {
                Ok(fd) => return Ok(fd),
                Err(e) if !matches!(e.errno(), Errno::EAFNOSUPPORT | Errno::EADDRNOTAVAIL) => {
                    return Err(e)
                }
                Err(_) => {}
            }
        }
        let list = resolve_for(Some(c"0.0.0.0"), service, socktype, true)?;
        let entry = list.first();
        return setup(libc::AF_INET, entry.protocol, &entry.addr);
    }
    let list = resolve_for(host, service, socktype, true)?;
    try_each(&list, "bind to", &target, |entry| {
        setup(entry.family, entry.protocol, &entry.addr)
    })
}

pub fn tcp_listen(host: Option<&CStr>, service: &CStr, backlog: libc::c_int) -> Result<OwnedFd> {
    bound_socket(host, service, libc::SOCK_STREAM, Some(backlog))
}

pub fn udp_bind(host: Option<&CStr>, service: &CStr) -> Result<OwnedFd> {
    bound_socket(host, service, libc::SOCK_DGRAM, None)
}

/// A UDP socket connected to host:service (the first address that works).
pub fn udp_connect(host: &CStr, service: &CStr) -> Result<OwnedFd> {
    connect_first(host, service, libc::SOCK_DGRAM, None)
}

fn check_unix_type(socktype: libc::c_int) -> Result<()> {
    if socktype != libc::SOCK_STREAM && socktype != libc::SOCK_DGRAM {
        return Err(Error::with_message(
            Errno::EINVAL,
            format!("Unix socket type {socktype}: use SOCK_STREAM or SOCK_DGRAM"),
        ));
    }
    Ok(())
}

fn unix_path_addr(path: &CStr) -> Result<SockAddr> {
    if path.is_empty() {
        return Err(Error::with_message(
            Errno::EINVAL,
            "the Unix socket path is empty",
        ));
    }
    SockAddr::unix(path.to_bytes()).map_err(|e| {
        Error::with_message(
            e.errno(),
            format!(
                "Unix socket \"{}\": {}",
                shown(path.to_bytes()),
                e.message()
            ),
        )
    })
}

/// A Unix-domain server socket. Only a socket file whose server is gone is replaced;
/// anything else at the path (a file, a FIFO, a link, a directory, a live server's
/// socket) is left as it is: EADDRINUSE, saying what is there.
pub fn unix_listen(path: &CStr, socktype: libc::c_int) -> Result<OwnedFd> {
    check_unix_type(socktype)?;
    let addr = unix_path_addr(path)?;
    let fd = socket::new_socket(libc::AF_UNIX, socktype, 0)?;
    if let Err(error) = socket::bind(fd.as_raw_fd(), &addr) {
        let is_file = !path.to_bytes().starts_with(b"@");
        if error.errno() != Errno::EADDRINUSE || !is_file {
            return Err(error);
        }
        remove_stale_socket(path, &addr, socktype, error)?;
        socket::bind(fd.as_raw_fd(), &addr)?;
    }
    if socktype == libc::SOCK_STREAM {
        socket::listen(fd.as_raw_fd(), libc::SOMAXCONN)?;
    }
    Ok(fd)
}

/// lstat(2): what is at `path` itself (a link is not followed).
fn lstat(path: &CStr) -> std::result::Result<libc::stat, Errno> {
    // SAFETY: stat is plain data; lstat fills it; path is NUL-terminated.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::lstat(path.as_ptr(), &mut st) < 0 {
            return Err(Errno::last());
        }
        Ok(st)
    }
}

fn file_kind(mode: libc::mode_t) -> &'static str {
    match mode & libc::S_IFMT {
        libc::S_IFREG => "a regular file",
        libc::S_IFDIR => "a directory",
        libc::S_IFIFO => "a FIFO (named pipe)",
        libc::S_IFLNK => "a symbolic link",
        libc::S_IFCHR => "a character device",
        libc::S_IFBLK => "a block device",
        libc::S_IFSOCK => "a socket",
        _ => "a file of an unknown kind",
    }
}

/// Removes the socket file at `path` when no server answers there any more; anything
/// else is `in_use`, the failed bind, with what is there in words.
fn remove_stale_socket(
    path: &CStr,
    addr: &SockAddr,
    socktype: libc::c_int,
    in_use: Error,
) -> Result<()> {
    let refused =
        |why: String| Error::new(Errno::EADDRINUSE, format!("listen on {addr}")).hint(why);
    let found = match lstat(path) {
        Ok(st) => st,
        Err(Errno::ENOENT) => return Ok(()), // gone meanwhile: bind again
        Err(_) => return Err(in_use),
    };
    if found.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(refused(format!(
            "{} is there, not a socket: only the socket file of a server that has stopped is \
             replaced",
            file_kind(found.st_mode)
        )));
    }
    if is_live(addr, socktype)? {
        return Err(refused(
            "a server is running there: stop it or choose another path".into(),
        ));
    }
    // Unlink only the socket just probed, not something put there since.
    match lstat(path) {
        Ok(now) if now.st_dev == found.st_dev && now.st_ino == found.st_ino => {
            // SAFETY: path is NUL-terminated.
            unsafe { libc::unlink(path.as_ptr()) };
            Ok(())
        }
        Err(Errno::ENOENT) => Ok(()),
        _ => Err(in_use),
    }
}

/// Whether a server still answers at a Unix address. The probe does not block: a live
/// server whose backlog is full answers EAGAIN, which means alive.
fn is_live(addr: &SockAddr, socktype: libc::c_int) -> Result<bool> {
    let probe = socket::new_socket(libc::AF_UNIX, socktype | libc::SOCK_NONBLOCK, 0)?;
    Ok(match socket::connect(probe.as_raw_fd(), addr) {
        Ok(()) => true,
        Err(e) => !matches!(e.errno(), Errno::ECONNREFUSED | Errno::ENOENT),
    })
}

/// A Unix-domain client socket; a datagram client is auto-bound to an abstract address
/// so that the server can reply to it.
pub fn unix_connect(path: &CStr, socktype: libc::c_int) -> Result<OwnedFd> {
    check_unix_type(socktype)?;
    let addr = unix_path_addr(path)?;
    let fd = socket::new_socket(libc::AF_UNIX, socktype, 0)?;
    if socktype == libc::SOCK_DGRAM {
        socket::bind(fd.as_raw_fd(), &SockAddr::unix(b"")?)?; // autobind
    }
    socket::connect(fd.as_raw_fd(), &addr).map_err(|e| match e.errno() {
        Errno::ENOENT | Errno::ECONNREFUSED => e.hint("is the server running?"),
        _ => e,
    })?;
    Ok(fd)
}

/// Reads one line (through '\n', or until `buf` has one byte left, or end of file) and
/// NUL-terminates it; `buf` holds at least 2 bytes. Nothing after the newline is
/// consumed. On a stream socket nothing is consumed until the line is whole: a timeout
/// or O_NONBLOCK leaves a partial line queued (EAGAIN) for the next call. On a datagram
/// socket one datagram is one line. Elsewhere (pipes, files) bytes are read one at a
/// time, and when a non-blocking descriptor runs dry mid-line the part read is returned.
pub fn read_line(fd: RawFd, buf: &mut [u8]) -> Result<usize> {
    if buf.len() < 2 {
        return Err(Error::with_message(
            Errno::EINVAL,
            format!(
                "read_line needs a buffer of at least 2 bytes (a byte and the NUL), not {}",
                buf.len()
            ),
        ));
    }
    let room = buf.len() - 1;
    let n = match line_from_socket(fd, &mut buf[..room]) {
        Err(e) if e.errno() == Errno::ENOTSOCK => line_byte_by_byte(fd, &mut buf[..room])?,
        other => other?,
    };
    buf[n] = 0;
    Ok(n)
}

/// recv(2) for read_line, retrying EINTR; `flags` MSG_PEEK looks without taking.
fn recv_line_bytes(fd: RawFd, buf: &mut [u8], flags: libc::c_int) -> Result<usize> {
    loop {
        // SAFETY: buf is valid for writes of buf.len() bytes.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), flags) };
        if n >= 0 {
            return Ok(n as usize);
        }
        if Errno::last() != Errno::EINTR {
            return Err(socket::os_error("read_line", fd, None));
        }
    }
}

/// See [`read_line`]: peeks, and takes the bytes only once the line is whole (or fills
/// `buf`, or the stream ends).
fn line_from_socket(fd: RawFd, buf: &mut [u8]) -> Result<usize> {
    let mut done = 0;
    let mut datagram = None;
    let mut time_limit = None;
    let mut arrivals: Option<Arrivals> = None;
    let mut peer_done = false;
    loop {
        let rest = &mut buf[done..];
        let peeked = recv_line_bytes(fd, rest, libc::MSG_PEEK)?;
        let newline = rest[..peeked].iter().position(|b| *b == b'\n');
        // The newline is the last byte queued: a stream and a datagram read the same.
        let ends_there = peeked < rest.len() && newline.is_some_and(|i| i + 1 == peeked);
        if ends_there {
            return Ok(done + recv_line_bytes(fd, &mut rest[..peeked], 0)?);
        }
        if *datagram.get_or_insert(is_datagram(fd)?) {
            // One datagram, one line: cut to the buffer, an empty one is 0.
            return recv_line_bytes(fd, rest, 0);
        }
        let wanted = match newline {
            Some(i) => i + 1,
            // A full buffer, or the end of the stream (no more is coming).
            None if peeked == rest.len() || peeked == 0 || peer_done => peeked,
            None => {
                // Part of a line. A socket that waits for ever may take it now; one that
                // can time out keeps it queued and waits for the rest.
                let limit = match time_limit {
                    Some(limit) => limit,
                    None => *time_limit.insert(read_time_limit(fd)?),
                };
                let Some(limit) = limit else {
                    done += recv_line_bytes(fd, &mut rest[..peeked], 0)?;
                    continue;
                };
                let waiting = match &mut arrivals {
                    Some(waiting) => waiting,
                    None => arrivals.insert(Arrivals::watch(fd, limit)?),
                };
                match waiting.next()? {
                    Arrival::Data => continue,
                    // Whatever came before the end is queued now: look once more.
                    Arrival::Closed => {
                        peer_done = true;
                        continue;
                    }
                    Arrival::TimedOut => {
                        return Err(Error::new(
                            Errno::EAGAIN,
                            format!("read_line on descriptor {fd}"),
                        )
                        .hint(
                            "no whole line before the timeout, or the socket is non-blocking: \
                             the part received stays queued for the next call",
                        ))
                    }
                }
            }
        };
        return Ok(done + recv_line_bytes(fd, &mut rest[..wanted], 0)?);
    }
}

/// See [`read_line`]: for descriptors that cannot be peeked.
fn line_byte_by_byte(fd: RawFd, buf: &mut [u8]) -> Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match socket::read(fd, &mut buf[done..done + 1]) {
            Ok(0) => break,
            Ok(_) => {
                done += 1;
                if buf[done - 1] == b'\n' {
                    break;
                }
            }
            Err(e) if e.errno() == Errno::EINTR => continue,
            // What was read stays the caller's: the failure comes again on the next call.
            Err(_) if done > 0 => break,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

fn is_datagram(fd: RawFd) -> Result<bool> {
    Ok(socket::get_int_option(fd, libc::SOL_SOCKET, libc::SO_TYPE)? != libc::SOCK_STREAM)
}

/// How long a read on `fd` may wait: None for ever, zero when it is non-blocking,
/// otherwise its receive timeout.
fn read_time_limit(fd: RawFd) -> Result<Option<Duration>> {
    // SAFETY: fcntl on an integer descriptor.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(socket::os_error("fcntl", fd, None));
    }
    if flags & libc::O_NONBLOCK != 0 {
        return Ok(Some(Duration::ZERO));
    }
    let timeout = getsockopt(&borrowed(fd)?, sockopt::ReceiveTimeout)
        .map_err(|errno| Error::new(errno, "getsockopt(SO_RCVTIMEO)"))?;
    let limit = Duration::new(
        u64::try_from(timeout.tv_sec()).unwrap_or(0),
        u32::try_from(timeout.tv_usec()).unwrap_or(0) * 1000,
    );
    Ok((!limit.is_zero()).then_some(limit))
}

/// Waits for more data on a socket that already has some queued. poll would report the
/// queued bytes at once, again and again; epoll in edge-triggered mode wakes once per
/// arrival (and once at the start, for what is already there).
struct Arrivals {
    epoll: OwnedFd,
    deadline: Instant,
}

enum Arrival {
    Data,
    Closed,
    TimedOut,
}

impl Arrivals {
    fn watch(fd: RawFd, limit: Duration) -> Result<Arrivals> {
        // SAFETY: epoll_create1 and epoll_ctl on integers and a local event.
        let epoll = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        if epoll < 0 {
            return Err(Error::last("epoll_create1"));
        }
        // SAFETY: the kernel just made this descriptor; nothing else owns it.
        let epoll = unsafe { OwnedFd::from_raw_fd(epoll) };
        let mut event = libc::epoll_event {
            events: (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLET) as u32,
            u64: 0,
        };
        // SAFETY: as above.
        if unsafe { libc::epoll_ctl(epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, fd, &mut event) } < 0 {
            return Err(socket::os_error("epoll_ctl", fd, None));
        }
        Ok(Arrivals {
            epoll,
            deadline: Instant::now() + limit,
        })
    }

    fn next(&mut self) -> Result<Arrival> {
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            let millis = libc::c_int::try_from(left.as_nanos().div_ceil(1_000_000))
                .unwrap_or(libc::c_int::MAX);
            let mut event = libc::epoll_event { events: 0, u64: 0 };
            // SAFETY: room for one event.
            let n = unsafe { libc::epoll_wait(self.epoll.as_raw_fd(), &mut event, 1, millis) };
            match n {
                1 if event.events & (libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32
                    != 0 =>
                {
                    return Ok(Arrival::Closed)
                }
                1 => return Ok(Arrival::Data),
                0 if Instant::now() >= self.deadline => return Ok(Arrival::TimedOut),
                0 => continue,
                _ if Errno::last() == Errno::EINTR => continue,
                _ => return Err(Error::last("epoll_wait")),
            }
        }
    }
}

/// Receive and send timeouts; 0 means none. An expired wait is EAGAIN.
pub fn set_timeout(fd: RawFd, millis: libc::c_int) -> Result<()> {
    if millis < 0 {
        return Err(Error::with_message(
            Errno::EINVAL,
            format!("timeout {millis} ms is negative"),
        ));
    }
    let tv = libc::timeval {
        tv_sec: libc::time_t::from(millis / 1000),
        tv_usec: libc::suseconds_t::from((millis % 1000) * 1000),
    };
    // SAFETY: timeval is plain data; its bytes are what setsockopt expects.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            &tv as *const libc::timeval as *const u8,
            std::mem::size_of::<libc::timeval>(),
        )
    };
    socket::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, bytes)?;
    socket::setsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDTIMEO, bytes)
}

/// A nix-style borrowed descriptor; a negative one is EBADF (borrow_raw would panic).
pub(crate) fn borrowed(fd: RawFd) -> Result<std::os::fd::BorrowedFd<'static>> {
    if fd < 0 {
        return Err(
            Error::new(Errno::EBADF, format!("descriptor {fd}")).hint(format!(
                "descriptor {fd} is not open: was it closed already?"
            )),
        );
    }
    // SAFETY: used only for the duration of one call while the caller keeps fd open.
    Ok(unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) })
}

/// Refuses a socket that is not Unix-domain before `op`: only those carry descriptors
/// and credentials (a TCP socket would send the marker byte and drop the descriptor).
fn require_unix(sock: RawFd, op: &str) -> Result<()> {
    let domain = socket::get_int_option(sock, libc::SOL_SOCKET, libc::SO_DOMAIN)
        .map_err(|e| socket::os_error_of(e.errno(), op, sock, None))?;
    if domain != libc::AF_UNIX {
        return Err(Error::with_message(
            Errno::EINVAL,
            format!(
                "{op} on socket {sock}: it is an {} socket; only Unix-domain sockets (AF_UNIX) \
                 carry descriptors and credentials",
                family_name(domain)
            ),
        ));
    }
    Ok(())
}

/// Passes descriptor `fd` over the Unix socket `sock` (SCM_RIGHTS, with one byte).
pub fn send_fd(sock: RawFd, fd: RawFd) -> Result<()> {
    require_unix(sock, "send a descriptor")?;
    let fds = [fd];
    let marker = [0u8; 1];
    let iov = [IoSlice::new(&marker)];
    loop {
        match sendmsg::<UnixAddr>(
            sock,
            &iov,
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::MSG_NOSIGNAL,
            None,
        ) {
            Ok(_) => return Ok(()),
            Err(Errno::EINTR) => continue,
            Err(errno) => {
                return Err(Error::new(
                    errno,
                    format!("send descriptor {fd} over socket {sock}"),
                ))
            }
        }
    }
}

/// The most descriptors one message can carry (the kernel's SCM_MAX_FD).
const SCM_MAX_FD: usize = 253;

/// Receives a descriptor sent with [`send_fd`] (close-on-exec). A message that carries
/// none, several, or control data the kernel had to cut is refused (EBADMSG; EMFILE when
/// this process had no descriptor left), and every descriptor it brought is closed.
pub fn recv_fd(sock: RawFd) -> Result<OwnedFd> {
    let what = || format!("receive a descriptor on socket {sock}");
    // Room for every descriptor a message can bring and for the sender's credentials
    // (SO_PASSCRED), so that the kernel never cuts the control data for lack of room.
    // SAFETY: CMSG_SPACE is arithmetic.
    let space = unsafe {
        libc::CMSG_SPACE((SCM_MAX_FD * std::mem::size_of::<RawFd>()) as u32)
            + libc::CMSG_SPACE(std::mem::size_of::<libc::ucred>() as u32)
    } as usize;
    let mut control = vec![0u64; space.div_ceil(8)]; // aligned as cmsghdr wants
    let mut marker = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: marker.as_mut_ptr().cast(),
        iov_len: marker.len(),
    };
    // SAFETY: msghdr is plain data; all-zero is a valid start.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    let received = loop {
        message.msg_iov = &mut iov;
        message.msg_iovlen = 1;
        message.msg_control = control.as_mut_ptr().cast();
        message.msg_controllen = space;
        // SAFETY: the message points at live buffers of the lengths it gives.
        let n = unsafe { libc::recvmsg(sock, &mut message, libc::MSG_CMSG_CLOEXEC) };
        if n >= 0 {
            break n;
        }
        if Errno::last() != Errno::EINTR {
            return Err(Error::last(what()));
        }
    };
    // Owned at once: whatever happens below closes them.
    let mut fds = installed_descriptors(&message);
    if received == 0 {
        return Err(Error::with_message(
            Errno::ECONNRESET,
            format!("{}: the peer closed the connection", what()),
        ));
    }
    if message.msg_flags & libc::MSG_CTRUNC != 0 {
        return Err(cut_control_data(sock, fds, what()));
    }
    match fds.len() {
        1 => Ok(fds.remove(0)),
        0 => Err(Error::with_message(
            Errno::EBADMSG,
            format!("{}: the message carried none", what()),
        )),
        n => Err(Error::with_message(
            Errno::EBADMSG,
            format!(
                "{}: the peer sent {n} descriptors in one message, where one is expected; \
                 all were closed",
                what()
            ),
        )),
    }
}

/// The descriptors SCM_RIGHTS installed in this process, owned.
fn installed_descriptors(message: &libc::msghdr) -> Vec<OwnedFd> {
    let mut fds = Vec::new();
    // SAFETY: the kernel filled msg_control up to msg_controllen with well-formed
    // control messages; CMSG_* walk them within that length.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(message);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_SOCKET && (*cmsg).cmsg_type == libc::SCM_RIGHTS {
                let bytes = (*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                let data = libc::CMSG_DATA(cmsg) as *const RawFd;
                for i in 0..bytes / std::mem::size_of::<RawFd>() {
                    fds.push(OwnedFd::from_raw_fd(data.add(i).read_unaligned()));
                }
            }
            cmsg = libc::CMSG_NXTHDR(message, cmsg);
        }
    }
    fds
}

/// The failure of a message whose control data the kernel cut (MSG_CTRUNC). With room
/// for everything reserved, that means a descriptor could not be installed: the process
/// is out of descriptors, as a probe made before closing the ones installed tells.
fn cut_control_data(sock: RawFd, installed: Vec<OwnedFd>, what: String) -> Error {
    // SAFETY: fcntl on an integer descriptor; a new one is closed at once.
    let probe = unsafe { libc::fcntl(sock, libc::F_DUPFD_CLOEXEC, 0) };
    let out_of_descriptors = if probe >= 0 {
        // SAFETY: the kernel just made it; nothing else owns it.
        drop(unsafe { OwnedFd::from_raw_fd(probe) });
        None
    } else {
        Some(Errno::last()).filter(|e| matches!(e, Errno::EMFILE | Errno::ENFILE))
    };
    drop(installed);
    match out_of_descriptors {
        Some(errno) => Error::new(errno, what).hint(
            "this process has no descriptor left for the one sent: close some; it was \
             closed",
        ),
        None => Error::with_message(
            Errno::EBADMSG,
            format!("{what}: the kernel cut the control data (MSG_CTRUNC); every descriptor received was closed"),
        ),
    }
}

/// The process, user and group of the peer of a connected Unix socket (SO_PEERCRED).
pub fn peer_cred(sock: RawFd) -> Result<(libc::pid_t, libc::uid_t, libc::gid_t)> {
    let what = || format!("peer credentials of socket {sock}");
    require_unix(sock, "read the peer credentials")?;
    let no_peer = || {
        Error::new(Errno::ENOTCONN, what()).hint(
            "only a connected Unix stream socket (accepted, connected, or of a socketpair) \
             knows its peer",
        )
    };
    socket::getpeername(sock).map_err(|e| match e.errno() {
        Errno::ENOTCONN => no_peer(),
        _ => e,
    })?;
    let cred = getsockopt(&borrowed(sock)?, sockopt::PeerCredentials)
        .map_err(|errno| Error::new(errno, what()))?;
    // The kernel records no peer for a datagram socket: pid 0 is nobody.
    if cred.pid() == 0 {
        return Err(no_peer());
    }
    Ok((cred.pid(), cred.uid(), cred.gid()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn socketpair(socktype: libc::c_int) -> (OwnedFd, OwnedFd) {
        let mut sv = [0; 2];
        assert_eq!(
            unsafe { libc::socketpair(libc::AF_UNIX, socktype, 0, sv.as_mut_ptr()) },
            0
        );
        unsafe { (OwnedFd::from_raw_fd(sv[0]), OwnedFd::from_raw_fd(sv[1])) }
    }

    #[test]
    fn descriptor_passing() {
        let (a, b) = socketpair(libc::SOCK_STREAM);
        send_fd(a.as_raw_fd(), 1).unwrap();
        let got = recv_fd(b.as_raw_fd()).unwrap();
        assert!(got.as_raw_fd() > 2);
        let (pid, _, _) = peer_cred(a.as_raw_fd()).unwrap();
        assert_eq!(pid, std::process::id() as libc::pid_t);
    }

    #[test]
    fn partial_line_stays_queued_under_a_timeout() {
        let (a, b) = socketpair(libc::SOCK_STREAM);
        set_timeout(b.as_raw_fd(), 50).unwrap();
        let mut line = [0u8; 16];
        socket::write(a.as_raw_fd(), b"par").unwrap();
        let err = read_line(b.as_raw_fd(), &mut line).unwrap_err();
        assert_eq!(err.errno(), Errno::EAGAIN);
        assert!(err.message().contains("stays queued"), "{err}");
        socket::write(a.as_raw_fd(), b"tial\n").unwrap();
        assert_eq!(read_line(b.as_raw_fd(), &mut line).unwrap(), 8);
        assert_eq!(&line[..9], b"partial\n\0");
        assert_eq!(
            read_line(b.as_raw_fd(), &mut line[..1])
                .unwrap_err()
                .errno(),
            Errno::EINVAL
        );
    }

    #[test]
    fn the_rest_of_a_line_and_the_end_arriving_together() {
        let (a, b) = socketpair(libc::SOCK_STREAM);
        set_timeout(b.as_raw_fd(), 5000).unwrap();
        socket::write(a.as_raw_fd(), b"abc").unwrap();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            socket::write(a.as_raw_fd(), b"def\nrest").unwrap();
            socket::shutdown(a.as_raw_fd(), libc::SHUT_WR).unwrap();
            a
        });
        let mut line = [0u8; 16];
        assert_eq!(read_line(b.as_raw_fd(), &mut line).unwrap(), 7);
        assert_eq!(&line[..8], b"abcdef\n\0");
        drop(writer.join().unwrap());
        assert_eq!(read_line(b.as_raw_fd(), &mut line).unwrap(), 4);
        assert_eq!(read_line(b.as_raw_fd(), &mut line).unwrap(), 0);
    }

    #[test]
    fn one_datagram_is_one_line() {
        let (a, b) = socketpair(libc::SOCK_DGRAM);
        socket::send(a.as_raw_fd(), b"x\ny", 0).unwrap();
        socket::send(a.as_raw_fd(), b"", 0).unwrap();
        let mut line = [0u8; 16];
        assert_eq!(read_line(b.as_raw_fd(), &mut line).unwrap(), 3);
        assert_eq!(&line[..4], b"x\ny\0");
        assert_eq!(read_line(b.as_raw_fd(), &mut line).unwrap(), 0);
    }
}
