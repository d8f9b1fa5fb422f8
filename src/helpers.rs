//! The high-level helpers a C programmer reaches for first (UNP's tcp_connect,
//! tcp_listen, readline; Python's create_connection, create_server(dual_stack=True),
//! settimeout): each one does the whole job, or reports which step failed and why.

use std::ffi::CStr;
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{
    getsockopt, recvmsg, sendmsg, sockopt, ControlMessage, ControlMessageOwned, MsgFlags, UnixAddr,
};

use crate::addr::SockAddr;
use crate::error::{Error, Result};
use crate::resolve::{self, Hints, Target};
use crate::socket;

/// Closes `fd` when dropped unless it was taken: no descriptor leaks on an error path.
struct Guard(Option<RawFd>);

impl Guard {
    fn take(mut self) -> RawFd {
        self.0.take().expect("taken once")
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        if let Some(fd) = self.0 {
            let _ = socket::close(fd);
        }
    }
}

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
    mut attempt: impl FnMut(&resolve::AddrInfo) -> Result<RawFd>,
) -> Result<RawFd> {
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
pub fn tcp_connect(host: &CStr, service: &CStr, timeout: Option<Duration>) -> Result<RawFd> {
    connect_first(host, service, libc::SOCK_STREAM, timeout)
}

/// A socket of `socktype` connected to the first address of host:service that answers;
/// each attempt bounded by `timeout` when given.
fn connect_first(
    host: &CStr,
    service: &CStr,
    socktype: libc::c_int,
    timeout: Option<Duration>,
) -> Result<RawFd> {
    let list = resolve_for(Some(host), service, socktype, false)?;
    let target = Target {
        host: Some(host),
        service: Some(service),
    };
    try_each(&list, "connect to", &target, |entry| {
        let fd = Guard(Some(socket::socket(
            entry.family,
            entry.socktype,
            entry.protocol,
        )?));
        let raw = fd.0.unwrap();
        match timeout {
            None => socket::connect(raw, &entry.addr)?,
            Some(limit) => connect_within(raw, &entry.addr, limit)?,
        }
        Ok(fd.take())
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
) -> Result<RawFd> {
    let setup = |family: libc::c_int, protocol: libc::c_int, addr: &SockAddr| -> Result<RawFd> {
        let fd = Guard(Some(socket::socket(family, socktype, protocol)?));
        let raw = fd.0.unwrap();
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
        Ok(fd.take())
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

pub fn tcp_listen(host: Option<&CStr>, service: &CStr, backlog: libc::c_int) -> Result<RawFd> {
    bound_socket(host, service, libc::SOCK_STREAM, Some(backlog))
}

pub fn udp_bind(host: Option<&CStr>, service: &CStr) -> Result<RawFd> {
    bound_socket(host, service, libc::SOCK_DGRAM, None)
}

/// A UDP socket connected to host:service (the first address that works).
pub fn udp_connect(host: &CStr, service: &CStr) -> Result<RawFd> {
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
        let shown =
            String::from_utf8_lossy(&path.to_bytes()[..path.to_bytes().len().min(60)]).into_owned();
        Error::with_message(
            e.errno(),
            format!("Unix socket \"{shown}…\": {}", e.message()),
        )
    })
}

/// A Unix-domain server socket. A socket file left by a dead server is replaced; a live
/// one is EADDRINUSE.
pub fn unix_listen(path: &CStr, socktype: libc::c_int) -> Result<RawFd> {
    check_unix_type(socktype)?;
    let addr = unix_path_addr(path)?;
    let fd = Guard(Some(socket::socket(libc::AF_UNIX, socktype, 0)?));
    let raw = fd.0.unwrap();
    if let Err(error) = socket::bind(raw, &addr) {
        let is_file = !path.to_bytes().starts_with(b"@");
        if error.errno() != Errno::EADDRINUSE || !is_file || is_live(&addr, socktype)? {
            return Err(if error.errno() == Errno::EADDRINUSE {
                error.hint("a server is running there")
            } else {
                error
            });
        }
        // Stale: nobody accepts there any more. Replace the file.
        // SAFETY: path is NUL-terminated.
        unsafe { libc::unlink(path.as_ptr()) };
        socket::bind(raw, &addr)?;
    }
    if socktype == libc::SOCK_STREAM {
        socket::listen(raw, libc::SOMAXCONN)?;
    }
    Ok(fd.take())
}

/// Whether a server still answers at a Unix address (connect succeeds).
fn is_live(addr: &SockAddr, socktype: libc::c_int) -> Result<bool> {
    let probe = Guard(Some(socket::socket(libc::AF_UNIX, socktype, 0)?));
    Ok(match socket::connect(probe.0.unwrap(), addr) {
        Ok(()) => true,
        Err(e) => !matches!(e.errno(), Errno::ECONNREFUSED | Errno::ENOENT),
    })
}

/// A Unix-domain client socket; a datagram client is auto-bound to an abstract address
/// so that the server can reply to it.
pub fn unix_connect(path: &CStr, socktype: libc::c_int) -> Result<RawFd> {
    check_unix_type(socktype)?;
    let addr = unix_path_addr(path)?;
    let fd = Guard(Some(socket::socket(libc::AF_UNIX, socktype, 0)?));
    let raw = fd.0.unwrap();
    if socktype == libc::SOCK_DGRAM {
        socket::bind(raw, &SockAddr::unix(b"")?)?; // autobind
    }
    socket::connect(raw, &addr).map_err(|e| match e.errno() {
        Errno::ENOENT | Errno::ECONNREFUSED => e.hint("is the server running?"),
        _ => e,
    })?;
    Ok(fd.take())
}

/// Reads one line (through '\n', or until `buf` has one byte left, or end of file) and
/// NUL-terminates it. Never consumes bytes after the newline: on a socket it peeks first
/// and takes only the line; elsewhere it reads one byte at a time.
pub fn read_line(fd: RawFd, buf: &mut [u8]) -> Result<usize> {
    if buf.is_empty() {
        return Err(Error::with_message(
            Errno::EINVAL,
            "read_line needs room for at least the NUL",
        ));
    }
    let room = buf.len() - 1;
    let mut done = 0;
    let mut peekable = true;
    while done < room {
        let rest = &mut buf[done..room];
        let taken = if peekable {
            // SAFETY: rest is valid for writes of rest.len() bytes.
            let peeked =
                unsafe { libc::recv(fd, rest.as_mut_ptr().cast(), rest.len(), libc::MSG_PEEK) };
            if peeked < 0 {
                match Errno::last() {
                    Errno::EINTR => continue,
                    Errno::ENOTSOCK => {
                        peekable = false;
                        continue;
                    }
                    _ => return Err(socket::os_error("read_line", fd, None)),
                }
            }
            let peeked = peeked as usize;
            let wanted = rest[..peeked]
                .iter()
                .position(|b| *b == b'\n')
                .map_or(peeked, |i| i + 1);
            if peeked == 0 {
                0
            } else {
                read_exact_available(fd, &mut rest[..wanted])?
            }
        } else {
            match socket::read(fd, &mut rest[..1]) {
                Ok(n) => n,
                Err(e) if e.errno() == Errno::EINTR => continue,
                Err(e) => return Err(e),
            }
        };
        if taken == 0 {
            break;
        }
        done += taken;
        if buf[done - 1] == b'\n' {
            break;
        }
    }
    buf[done] = 0;
    Ok(done)
}

/// Reads bytes known to be queued (just peeked), retrying EINTR.
fn read_exact_available(fd: RawFd, buf: &mut [u8]) -> Result<usize> {
    loop {
        // SAFETY: buf is valid for writes of buf.len() bytes.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n >= 0 {
            return Ok(n as usize);
        }
        if Errno::last() != Errno::EINTR {
            return Err(socket::os_error("read_line", fd, None));
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

/// Passes descriptor `fd` over the Unix stream socket `sock` (SCM_RIGHTS).
pub fn send_fd(sock: RawFd, fd: RawFd) -> Result<()> {
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

/// Receives a descriptor sent with [`send_fd`]; EBADMSG when the message carried none.
pub fn recv_fd(sock: RawFd) -> Result<RawFd> {
    let mut marker = [0u8; 1];
    let mut iov = [IoSliceMut::new(&mut marker)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let message = loop {
        match recvmsg::<UnixAddr>(sock, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC) {
            Ok(message) => break message,
            Err(Errno::EINTR) => continue,
            Err(errno) => {
                return Err(Error::new(
                    errno,
                    format!("receive a descriptor on socket {sock}"),
                ))
            }
        }
    };
    if message.bytes == 0 {
        return Err(Error::with_message(
            Errno::ECONNRESET,
            format!("receive a descriptor on socket {sock}: the peer closed the connection"),
        ));
    }
    let mut received = Vec::new();
    for cmsg in message
        .cmsgs()
        .map_err(|e| Error::new(e, "read control messages"))?
    {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            received.extend(fds);
        }
    }
    let mut fds = received.into_iter();
    let first = fds.next().ok_or_else(|| {
        Error::with_message(
            Errno::EBADMSG,
            format!("receive a descriptor on socket {sock}: the message carried none"),
        )
    })?;
    for extra in fds {
        let _ = socket::close(extra);
    }
    Ok(first)
}

/// The process, user and group of the peer of a Unix socket (SO_PEERCRED).
pub fn peer_cred(sock: RawFd) -> Result<(libc::pid_t, libc::uid_t, libc::gid_t)> {
    let cred = getsockopt(&borrowed(sock)?, sockopt::PeerCredentials)
        .map_err(|errno| Error::new(errno, format!("peer credentials of socket {sock}")))?;
    Ok((cred.pid(), cred.uid(), cred.gid()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_passing() {
        let mut sv = [0; 2];
        assert_eq!(
            unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, sv.as_mut_ptr()) },
            0
        );
        send_fd(sv[0], 1).unwrap();
        let got = recv_fd(sv[1]).unwrap();
        assert!(got > 2);
        socket::close(got).unwrap();
    }
}
