//! The BSD socket primitives in safe Rust. Each returns the system call's result or an
//! [`Error`] naming the call, the descriptor, the address and the reason, with the
//! usual cause when there is one. Nothing here retries EINTR: these keep POSIX
//! semantics; the looping helpers live in [`crate::io`].
//!
//! A descriptor made here is an `OwnedFd`, closed when dropped, so that no early return
//! can leak one; the C face turns it into a number for its caller (`src/ffi/`). The
//! descriptors the caller passes in are theirs and stay numbers (`RawFd`).

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use crate::addr::{family_name, socktype_name, SockAddr};
use crate::error::{Error, Result};

/// The error of the system call that just failed, with a hint for the usual causes.
/// `op` is the call's name, `addr` the address it was given, if any.
pub(crate) fn os_error(op: &str, fd: RawFd, addr: Option<&SockAddr>) -> Error {
    os_error_of(Errno::last(), op, fd, addr)
}

/// As [`os_error`], for an errno already read.
pub(crate) fn os_error_of(errno: Errno, op: &str, fd: RawFd, addr: Option<&SockAddr>) -> Error {
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
            None => {
                format!("another socket already uses {at}: stop it, wait, or choose another port")
            }
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

fn ret_unit(ret: libc::c_int, op: &str, fd: RawFd, addr: Option<&SockAddr>) -> Result<()> {
    if ret < 0 {
        Err(os_error(op, fd, addr))
    } else {
        Ok(())
    }
}

/// Takes ownership of a descriptor a system call has just made.
fn owned(fd: RawFd) -> OwnedFd {
    // SAFETY: fd was just returned by the kernel and nothing else owns it.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

fn ret_len(ret: libc::ssize_t, op: &str, fd: RawFd, addr: Option<&SockAddr>) -> Result<usize> {
    if ret < 0 {
        Err(os_error(op, fd, addr))
    } else {
        Ok(ret as usize)
    }
}

/// socket(2), with the flags the caller gives (prise_socket).
pub fn socket(
    domain: libc::c_int,
    socktype: libc::c_int,
    protocol: libc::c_int,
) -> Result<OwnedFd> {
    // SAFETY: plain system call on integers.
    let fd = unsafe { libc::socket(domain, socktype, protocol) };
    if fd < 0 {
        let errno = Errno::last();
        let error = Error::new(
            errno,
            format!(
                "socket({}, {}, {protocol})",
                family_name(domain),
                socktype_name(socktype)
            ),
        );
        return Err(match errno {
            Errno::EAFNOSUPPORT => error.hint("this system does not offer that family"),
            Errno::EMFILE => error.hint("this process has no descriptor left: close some"),
            Errno::EINVAL | Errno::EPROTONOSUPPORT | Errno::ESOCKTNOSUPPORT => {
                error.hint("that family, type and protocol do not go together")
            }
            _ => error,
        });
    }
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

pub fn bind(fd: RawFd, addr: &SockAddr) -> Result<()> {
    // SAFETY: addr points to addr.len() valid bytes.
    let ret = unsafe { libc::bind(fd, addr.as_ptr(), addr.len()) };
    ret_unit(ret, "bind", fd, Some(addr))
}

pub fn listen(fd: RawFd, backlog: libc::c_int) -> Result<()> {
    // SAFETY: plain system call on integers.
    ret_unit(unsafe { libc::listen(fd, backlog) }, "listen", fd, None)
}

/// accept4(2), returning the peer's address too; `flags` 0 is accept(2) (prise_accept),
/// SOCK_CLOEXEC for the connections prise's servers accept.
pub fn accept(fd: RawFd, flags: libc::c_int) -> Result<(OwnedFd, SockAddr)> {
    let mut peer = SockAddr::for_kernel();
    let mut len = peer.len();
    // SAFETY: peer has room for len bytes; the kernel writes at most that.
    let conn = unsafe { libc::accept4(fd, peer.as_mut_ptr(), &mut len, flags) };
    if conn < 0 {
        return Err(os_error("accept", fd, None));
    }
    peer.set_len(len);
    Ok((owned(conn), peer))
}

pub fn connect(fd: RawFd, addr: &SockAddr) -> Result<()> {
    // SAFETY: addr points to addr.len() valid bytes.
    let ret = unsafe { libc::connect(fd, addr.as_ptr(), addr.len()) };
    ret_unit(ret, "connect", fd, Some(addr))
}

/// send(2); MSG_NOSIGNAL is always added: a closed peer is EPIPE, never a SIGPIPE death.
pub fn send(fd: RawFd, buf: &[u8], flags: libc::c_int) -> Result<usize> {
    // SAFETY: buf is valid for buf.len() bytes.
    let ret = unsafe {
        libc::send(
            fd,
            buf.as_ptr().cast(),
            buf.len(),
            flags | libc::MSG_NOSIGNAL,
        )
    };
    ret_len(ret, "send", fd, None)
}

pub fn recv(fd: RawFd, buf: &mut [u8], flags: libc::c_int) -> Result<usize> {
    // SAFETY: buf is valid for writes of buf.len() bytes.
    let ret = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), flags) };
    ret_len(ret, "recv", fd, None)
}

/// sendto(2) with MSG_NOSIGNAL; `to` None sends on a connected socket.
pub fn sendto(fd: RawFd, buf: &[u8], flags: libc::c_int, to: Option<&SockAddr>) -> Result<usize> {
    let (ptr, len) = match to {
        Some(addr) => (addr.as_ptr(), addr.len()),
        None => (std::ptr::null(), 0),
    };
    // SAFETY: buf is valid for buf.len() bytes; ptr is NULL or valid for len bytes.
    let ret = unsafe {
        libc::sendto(
            fd,
            buf.as_ptr().cast(),
            buf.len(),
            flags | libc::MSG_NOSIGNAL,
            ptr,
            len,
        )
    };
    ret_len(ret, "sendto", fd, to)
}

/// recvfrom(2), returning the sender's address (empty for a connected stream socket).
pub fn recvfrom(fd: RawFd, buf: &mut [u8], flags: libc::c_int) -> Result<(usize, SockAddr)> {
    let mut from = SockAddr::for_kernel();
    let mut len = from.len();
    // SAFETY: buf is valid for buf.len() bytes; from has room for len bytes.
    let ret = unsafe {
        libc::recvfrom(
            fd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            flags,
            from.as_mut_ptr(),
            &mut len,
        )
    };
    let n = ret_len(ret, "recvfrom", fd, None)?;
    from.set_len(len);
    Ok((n, from))
}

/// read(2): works on any descriptor.
pub fn read(fd: RawFd, buf: &mut [u8]) -> Result<usize> {
    // SAFETY: buf is valid for writes of buf.len() bytes.
    let ret = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    ret_len(ret, "read", fd, None)
}

/// write(2) that never raises SIGPIPE: send(MSG_NOSIGNAL) on a socket; on any other
/// descriptor a write with SIGPIPE held back (see [`crate::io::write_once`]).
pub fn write(fd: RawFd, buf: &[u8]) -> Result<usize> {
    crate::io::write_once(fd, buf, &mut crate::io::Writer::Socket)
}

pub fn shutdown(fd: RawFd, how: libc::c_int) -> Result<()> {
    // SAFETY: plain system call on integers.
    let ret = unsafe { libc::shutdown(fd, how) };
    ret_unit(ret, "shutdown", fd, None)
}

/// close(2). Not retried on EINTR: Linux has released the descriptor already.
pub fn close(fd: RawFd) -> Result<()> {
    // SAFETY: plain system call on an integer.
    ret_unit(unsafe { libc::close(fd) }, "close", fd, None)
}

pub fn getsockname(fd: RawFd) -> Result<SockAddr> {
    let mut addr = SockAddr::for_kernel();
    let mut len = addr.len();
    // SAFETY: addr has room for len bytes.
    let ret = unsafe { libc::getsockname(fd, addr.as_mut_ptr(), &mut len) };
    ret_unit(ret, "getsockname", fd, None)?;
    addr.set_len(len);
    Ok(addr)
}

pub fn getpeername(fd: RawFd) -> Result<SockAddr> {
    let mut addr = SockAddr::for_kernel();
    let mut len = addr.len();
    // SAFETY: addr has room for len bytes.
    let ret = unsafe { libc::getpeername(fd, addr.as_mut_ptr(), &mut len) };
    ret_unit(ret, "getpeername", fd, None)?;
    addr.set_len(len);
    Ok(addr)
}

/// setsockopt(2) with the option's value as bytes.
pub fn setsockopt(fd: RawFd, level: libc::c_int, name: libc::c_int, value: &[u8]) -> Result<()> {
    let len = libc::socklen_t::try_from(value.len())
        .map_err(|_| Error::with_message(Errno::EINVAL, "option value too large"))?;
    // SAFETY: value is valid for len bytes.
    let ret = unsafe { libc::setsockopt(fd, level, name, value.as_ptr().cast(), len) };
    // The call's name is only written out when there is a failure to report.
    if ret < 0 {
        return Err(os_error(&format!("setsockopt({level}, {name})"), fd, None));
    }
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
    let ret = unsafe { libc::getsockopt(fd, level, name, value.as_mut_ptr().cast(), &mut len) };
    if ret < 0 {
        return Err(os_error(&format!("getsockopt({level}, {name})"), fd, None));
    }
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
