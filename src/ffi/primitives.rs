//! Section "Primitives": the BSD socket calls, same parameters as POSIX, `prise_` prefix.

use std::ffi::{c_int, c_void};

use libc::{msghdr, size_t, sockaddr, socklen_t, ssize_t};
use nix::errno::Errno;

use super::{
    check_out_sockaddr, checked_message, give, in_bytes, in_sockaddr, out_bytes, out_sockaddr,
    trace,
};
use crate::addr::{family_name, socktype_name};
use crate::error::Error;
use crate::{io, socket};

/// Creates a socket, as socket(2).
///
/// domain: AF_INET, AF_INET6 or AF_UNIX; type: SOCK_STREAM or SOCK_DGRAM (SOCK_NONBLOCK
/// and SOCK_CLOEXEC may be or-ed in); protocol: usually 0.
/// Returns the new descriptor, or -1 with errno (EAFNOSUPPORT, EINVAL, EMFILE, …). Its
/// flags are the ones asked for: close-on-exec only with SOCK_CLOEXEC, as socket(2)
/// (the helpers' sockets are always close-on-exec).
/// Ownership: the caller owns the descriptor and closes it with prise_close() or close().
#[no_mangle]
pub extern "C" fn prise_socket(domain: c_int, socktype: c_int, protocol: c_int) -> c_int {
    ffi_boundary!(
        || {
            format!(
                "{}, {}, {protocol}",
                family_name(domain),
                socktype_name(socktype)
            )
        },
        -1,
        || socket::socket(domain, socktype, protocol).map(give),
    )
}

/// Binds a socket to a local address, as bind(2).
///
/// addr: must not be NULL; addrlen: its size (sizeof(struct sockaddr_in), …).
/// Returns 0, or -1 with errno (EADDRINUSE, EACCES, EBADF, ENOTSOCK, EINVAL for a NULL
/// addr or a length larger than struct sockaddr_storage, …).
/// Ownership: addr is only read during the call.
#[no_mangle]
pub extern "C" fn prise_bind(sockfd: c_int, addr: *const sockaddr, addrlen: socklen_t) -> c_int {
    ffi_boundary!(
        || format!("{sockfd}, {}", trace::addr(addr, addrlen)),
        -1,
        || {
            // SAFETY: the caller passes addr valid for addrlen bytes, or NULL.
            let addr = unsafe { in_sockaddr(addr, addrlen) }?;
            socket::bind(sockfd, &addr).map(|()| 0)
        },
    )
}

/// Marks a stream socket as accepting connections, as listen(2).
///
/// Returns 0, or -1 with errno (EBADF, ENOTSOCK, EOPNOTSUPP for a datagram socket).
#[no_mangle]
pub extern "C" fn prise_listen(sockfd: c_int, backlog: c_int) -> c_int {
    ffi_boundary!(|| format!("{sockfd}, {backlog}"), -1, || socket::listen(
        sockfd, backlog
    )
    .map(|()| 0),)
}

/// Waits for and accepts a connection, as accept(2).
///
/// addr/addrlen: where to store the peer's address; both may be NULL. When addr is not
/// NULL, *addrlen is its size on entry and the address's full size on return (the
/// address is cut to fit, as the kernel does).
/// Returns the connected descriptor (not close-on-exec, as accept(2)), or -1 with errno
/// (EINVAL when the socket is not listening or addr is given without addrlen, EAGAIN on
/// timeout, EINTR, …).
/// Ownership: the caller owns the returned descriptor.
#[no_mangle]
pub extern "C" fn prise_accept(
    sockfd: c_int,
    addr: *mut sockaddr,
    addrlen: *mut socklen_t,
) -> c_int {
    ffi_boundary!(|| format!("{sockfd}"), -1, || {
        check_out_sockaddr(addr, addrlen)?;
        let (conn, peer) = socket::accept(sockfd, 0)?;
        // SAFETY: checked above: addr is NULL, or addr and addrlen are the caller's.
        unsafe { out_sockaddr(addr, addrlen, &peer) }?;
        Ok(give(conn))
    },)
}

/// Accepts a connection, as accept4(2): flags (SOCK_CLOEXEC, SOCK_NONBLOCK, or 0) are
/// set on the new descriptor as it is made, so that no fork+exec in another thread can
/// inherit it before it is marked close-on-exec.
///
/// addr/addrlen: as prise_accept. Returns the connected descriptor, or -1 with errno
/// (EINVAL for other flags, checked before anything is accepted, or a socket that is not
/// listening; EAGAIN, EINTR, …).
/// Ownership: the caller owns the returned descriptor.
#[no_mangle]
pub extern "C" fn prise_accept4(
    sockfd: c_int,
    addr: *mut sockaddr,
    addrlen: *mut socklen_t,
    flags: c_int,
) -> c_int {
    ffi_boundary!(|| format!("{sockfd}, {flags:#x}"), -1, || {
        check_out_sockaddr(addr, addrlen)?;
        if flags & !(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK) != 0 {
            return Err(Error::with_message(
                Errno::EINVAL,
                format!("accept4 flags {flags:#x}: only SOCK_CLOEXEC and SOCK_NONBLOCK"),
            ));
        }
        let (conn, peer) = socket::accept(sockfd, flags)?;
        // SAFETY: checked above: addr is NULL, or addr and addrlen are the caller's.
        unsafe { out_sockaddr(addr, addrlen, &peer) }?;
        Ok(give(conn))
    },)
}

/// Connects a socket to a remote address, as connect(2).
///
/// addr: must not be NULL. Returns 0, or -1 with errno (ECONNREFUSED, ETIMEDOUT,
/// ENETUNREACH, EINPROGRESS on a non-blocking socket, EINVAL for a NULL addr, …).
/// Ownership: addr is only read during the call.
#[no_mangle]
pub extern "C" fn prise_connect(sockfd: c_int, addr: *const sockaddr, addrlen: socklen_t) -> c_int {
    ffi_boundary!(
        || format!("{sockfd}, {}", trace::addr(addr, addrlen)),
        -1,
        || {
            // SAFETY: the caller passes addr valid for addrlen bytes, or NULL.
            let addr = unsafe { in_sockaddr(addr, addrlen) }?;
            socket::connect(sockfd, &addr).map(|()| 0)
        },
    )
}

/// Reads up to count bytes, as read(2); works on any descriptor.
///
/// buf: may be NULL only when count is 0. Returns the byte count (0 at end of file), or
/// -1 with errno (EBADF, EINTR, EAGAIN on timeout, ECONNRESET, EINVAL for a NULL buf).
#[no_mangle]
pub extern "C" fn prise_read(fd: c_int, buf: *mut c_void, count: size_t) -> ssize_t {
    ffi_boundary!(
        || format!("{fd}, {}", trace::buffer(buf, count)),
        -1,
        || {
            // SAFETY: the caller passes buf valid for count bytes, or NULL.
            let buf = unsafe { out_bytes(buf, count, "buf") }?;
            socket::read(fd, buf).map(|n| n as ssize_t)
        },
    )
}

/// Writes up to count bytes, as write(2), but never raises SIGPIPE: writing to a
/// closed peer (socket or pipe) is -1 with EPIPE and the process lives.
///
/// buf: may be NULL only when count is 0. Returns the byte count written (may be less
/// than count), or -1 with errno (EPIPE, EBADF, EINTR, EAGAIN, …).
#[no_mangle]
pub extern "C" fn prise_write(fd: c_int, buf: *const c_void, count: size_t) -> ssize_t {
    ffi_boundary!(
        || format!("{fd}, {}", trace::buffer(buf, count)),
        -1,
        || {
            // SAFETY: the caller passes buf valid for count bytes, or NULL.
            let buf = unsafe { in_bytes(buf, count, "buf") }?;
            socket::write(fd, buf).map(|n| n as ssize_t)
        },
    )
}

/// Sends on a connected socket, as send(2); MSG_NOSIGNAL is always added (no SIGPIPE).
///
/// Returns the byte count sent, or -1 with errno (EPIPE, ECONNRESET, EDESTADDRREQ, …).
#[no_mangle]
pub extern "C" fn prise_send(
    sockfd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
) -> ssize_t {
    ffi_boundary!(
        || format!("{sockfd}, {}, {flags}", trace::buffer(buf, len)),
        -1,
        || {
            // SAFETY: the caller passes buf valid for len bytes, or NULL.
            let buf = unsafe { in_bytes(buf, len, "buf") }?;
            socket::send(sockfd, buf, flags).map(|n| n as ssize_t)
        },
    )
}

/// Receives from a socket, as recv(2).
///
/// Returns the byte count (0 when a stream peer has closed), or -1 with errno (EAGAIN
/// on timeout, ECONNRESET, ENOTSOCK, EINVAL for a NULL buf with len > 0, …).
#[no_mangle]
pub extern "C" fn prise_recv(
    sockfd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
) -> ssize_t {
    ffi_boundary!(
        || format!("{sockfd}, {}, {flags}", trace::buffer(buf, len)),
        -1,
        || {
            // SAFETY: the caller passes buf valid for len bytes, or NULL.
            let buf = unsafe { out_bytes(buf, len, "buf") }?;
            socket::recv(sockfd, buf, flags).map(|n| n as ssize_t)
        },
    )
}

/// Sends a datagram to an address, as sendto(2); MSG_NOSIGNAL is always added.
///
/// dest_addr: may be NULL (with addrlen 0) on a connected socket. Returns the byte count
/// sent, or -1 with errno (EMSGSIZE, EAFNOSUPPORT for a family the socket does not
/// have, ECONNREFUSED on a connected UDP socket whose peer port is closed, …).
/// Ownership: dest_addr is only read during the call.
#[no_mangle]
pub extern "C" fn prise_sendto(
    sockfd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
    dest_addr: *const sockaddr,
    addrlen: socklen_t,
) -> ssize_t {
    ffi_boundary!(
        || {
            format!(
                "{sockfd}, {}, {flags}, {}",
                trace::buffer(buf, len),
                trace::addr(dest_addr, addrlen)
            )
        },
        -1,
        || {
            // SAFETY: the caller passes buf valid for len bytes, or NULL.
            let buf = unsafe { in_bytes(buf, len, "buf") }?;
            let dest = if dest_addr.is_null() {
                None
            } else {
                // SAFETY: the caller passes dest_addr valid for addrlen bytes.
                Some(unsafe { in_sockaddr(dest_addr, addrlen) }?)
            };
            socket::sendto(sockfd, buf, flags, dest.as_ref()).map(|n| n as ssize_t)
        },
    )
}

/// Receives a datagram and its sender's address, as recvfrom(2).
///
/// src_addr/addrlen: both may be NULL; when src_addr is not NULL, addrlen must not be
/// (checked before anything is received, so no datagram is lost to a bad argument).
/// Returns the byte count, or -1 with errno (EAGAIN on timeout, EINVAL, …).
#[no_mangle]
pub extern "C" fn prise_recvfrom(
    sockfd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
    src_addr: *mut sockaddr,
    addrlen: *mut socklen_t,
) -> ssize_t {
    ffi_boundary!(
        || format!("{sockfd}, {}, {flags}", trace::buffer(buf, len)),
        -1,
        || {
            check_out_sockaddr(src_addr, addrlen)?;
            // SAFETY: the caller passes buf valid for len bytes, or NULL.
            let buf = unsafe { out_bytes(buf, len, "buf") }?;
            let (n, from) = socket::recvfrom(sockfd, buf, flags)?;
            // SAFETY: checked above: src_addr is NULL, or both are the caller's.
            unsafe { out_sockaddr(src_addr, addrlen, &from) }?;
            Ok(n as ssize_t)
        },
    )
}

/// Sends one message gathered from several buffers, with ancillary data (SCM_RIGHTS,
/// SCM_CREDENTIALS, …), as sendmsg(2); MSG_NOSIGNAL is always added.
///
/// msg: must not be NULL; msg_name may be NULL (a connected socket); msg_iov may be NULL
/// only when msg_iovlen is 0, each iov_base only when its iov_len is 0; msg_control may
/// be NULL only when msg_controllen is 0. Checked before anything is sent.
/// Returns the byte count sent, or -1 with errno (EMSGSIZE for more than 1024 buffers,
/// EINVAL, EPIPE, EAGAIN, …). Ownership: msg and what it points to are only read.
#[no_mangle]
pub extern "C" fn prise_sendmsg(sockfd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
    ffi_boundary!(
        || format!("{sockfd}, {}, {flags}", trace::message(msg)),
        -1,
        || {
            // SAFETY: the caller passes msg valid (or NULL) with its buffers as it says.
            let message = unsafe { checked_message(msg) }?;
            // SAFETY: checked above: every pointer of the message is valid for its length.
            unsafe { socket::sendmsg(sockfd, message, flags) }.map(|n| n as ssize_t)
        },
    )
}

/// Receives one message scattered over several buffers, with its ancillary data, as
/// recvmsg(2).
///
/// msg: must not be NULL, with buffers as for prise_sendmsg (writable, not overlapping);
/// msg_name may be NULL. Checked before anything is received. On return msg_namelen is
/// the sender's address length, msg_controllen the ancillary bytes received, msg_flags the
/// message's flags (MSG_TRUNC, MSG_CTRUNC, …). Descriptors received with SCM_RIGHTS are
/// the caller's to close (MSG_CMSG_CLOEXEC in flags marks them close-on-exec).
/// Returns the byte count, or -1 with errno (EAGAIN, EINTR, EMSGSIZE, EINVAL, …).
#[no_mangle]
pub extern "C" fn prise_recvmsg(sockfd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
    ffi_boundary!(
        || format!("{sockfd}, {}, {flags}", trace::message(msg)),
        -1,
        || {
            // SAFETY: the caller passes msg valid (or NULL) with its buffers as it says.
            unsafe { checked_message(msg) }?;
            // SAFETY: checked above, and msg is the caller's to write.
            unsafe { socket::recvmsg(sockfd, &mut *msg, flags) }.map(|n| n as ssize_t)
        },
    )
}

/// Shuts down part of a full-duplex connection, as shutdown(2).
///
/// how: SHUT_RD, SHUT_WR or SHUT_RDWR. Returns 0, or -1 with errno (ENOTCONN, EBADF, EINVAL).
#[no_mangle]
pub extern "C" fn prise_shutdown(sockfd: c_int, how: c_int) -> c_int {
    ffi_boundary!(|| format!("{sockfd}, {how}"), -1, || socket::shutdown(
        sockfd, how
    )
    .map(|()| 0),)
}

/// Closes a descriptor, as close(2). Not retried on EINTR (Linux has closed it).
///
/// Returns 0, or -1 with errno (EBADF for a descriptor that is not open).
/// Ownership: the descriptor is released even when -1 is returned with EINTR or EIO.
#[no_mangle]
pub extern "C" fn prise_close(fd: c_int) -> c_int {
    ffi_boundary!(|| format!("{fd}"), -1, || socket::close(fd).map(|()| 0),)
}

/// getsockname/getpeername into the caller's addr/addrlen, both required.
fn socket_name(
    sockfd: c_int,
    addr: *mut sockaddr,
    addrlen: *mut socklen_t,
    name: fn(c_int) -> crate::Result<crate::SockAddr>,
) -> crate::Result<c_int> {
    if addr.is_null() {
        return Err(super::null_argument("addr"));
    }
    check_out_sockaddr(addr, addrlen)?;
    let value = name(sockfd)?;
    // SAFETY: both pointers are non-NULL and the caller's.
    unsafe { out_sockaddr(addr, addrlen, &value) }?;
    Ok(0)
}

/// The local address of a socket, as getsockname(2).
///
/// addr and addrlen must not be NULL; *addrlen is the room at addr on entry and the
/// address's full length on return. Returns 0, or -1 with errno (EBADF, ENOTSOCK, EINVAL).
#[no_mangle]
pub extern "C" fn prise_getsockname(
    sockfd: c_int,
    addr: *mut sockaddr,
    addrlen: *mut socklen_t,
) -> c_int {
    ffi_boundary!(|| format!("{sockfd}"), -1, || socket_name(
        sockfd,
        addr,
        addrlen,
        socket::getsockname
    ),)
}

/// The peer's address of a connected socket, as getpeername(2).
///
/// addr and addrlen must not be NULL (as prise_getsockname). Returns 0, or -1 with
/// errno (ENOTCONN, EBADF, ENOTSOCK, EINVAL).
#[no_mangle]
pub extern "C" fn prise_getpeername(
    sockfd: c_int,
    addr: *mut sockaddr,
    addrlen: *mut socklen_t,
) -> c_int {
    ffi_boundary!(|| format!("{sockfd}"), -1, || socket_name(
        sockfd,
        addr,
        addrlen,
        socket::getpeername
    ),)
}

/// Sets a socket option, as setsockopt(2).
///
/// optval: may be NULL only when optlen is 0. Returns 0, or -1 with errno (ENOPROTOOPT,
/// EINVAL, EBADF, ENOTSOCK). Ownership: optval is only read during the call.
#[no_mangle]
pub extern "C" fn prise_setsockopt(
    sockfd: c_int,
    level: c_int,
    optname: c_int,
    optval: *const c_void,
    optlen: socklen_t,
) -> c_int {
    ffi_boundary!(
        || {
            format!(
                "{sockfd}, {level}, {optname}, {}",
                trace::buffer(optval, optlen as usize)
            )
        },
        -1,
        || {
            // SAFETY: the caller passes optval valid for optlen bytes, or NULL.
            let value = unsafe { in_bytes(optval, optlen as usize, "optval") }?;
            socket::setsockopt(sockfd, level, optname, value).map(|()| 0)
        },
    )
}

/// Reads a socket option, as getsockopt(2).
///
/// optlen must not be NULL; *optlen is the room at optval on entry and the value's
/// length on return; optval may be NULL only when *optlen is 0.
/// Returns 0, or -1 with errno (ENOPROTOOPT, EINVAL, EBADF, ENOTSOCK).
#[no_mangle]
pub extern "C" fn prise_getsockopt(
    sockfd: c_int,
    level: c_int,
    optname: c_int,
    optval: *mut c_void,
    optlen: *mut socklen_t,
) -> c_int {
    ffi_boundary!(|| format!("{sockfd}, {level}, {optname}"), -1, || {
        if optlen.is_null() {
            return Err(super::null_argument("optlen"));
        }
        // SAFETY: optlen is non-NULL; optval is valid for *optlen bytes, or NULL.
        let value = unsafe { out_bytes(optval, *optlen as usize, "optval") }?;
        let written = socket::getsockopt(sockfd, level, optname, value)?;
        // SAFETY: optlen is non-NULL and the caller's.
        unsafe { *optlen = written as socklen_t };
        Ok(0)
    },)
}

/// Reads exactly n bytes, looping over short reads and EINTR (UNP's readn).
///
/// Returns n, or fewer only when end of file came first (0 at once at end of file), or
/// -1 with errno (ECONNRESET, EAGAIN on timeout, EBADF, EINVAL for a NULL buf with n > 0);
/// after a failure the bytes already read are in buf and the message says how many.
#[no_mangle]
pub extern "C" fn prise_read_full(fd: c_int, buf: *mut c_void, n: size_t) -> ssize_t {
    ffi_boundary!(|| format!("{fd}, {}", trace::buffer(buf, n)), -1, || {
        // SAFETY: the caller passes buf valid for n bytes, or NULL.
        let buf = unsafe { out_bytes(buf, n, "buf") }?;
        io::read_full(fd, buf).map(|n| n as ssize_t)
    },)
}

/// Writes all n bytes, looping over short writes and EINTR (UNP's writen); never raises
/// SIGPIPE, on sockets (MSG_NOSIGNAL) or on pipes and files (SIGPIPE held back).
///
/// Returns n, or -1 with errno (EPIPE when the peer has closed, ECONNRESET, EBADF, …);
/// the message says how many bytes had been written.
#[no_mangle]
pub extern "C" fn prise_write_all(fd: c_int, buf: *const c_void, n: size_t) -> ssize_t {
    ffi_boundary!(|| format!("{fd}, {}", trace::buffer(buf, n)), -1, || {
        // SAFETY: the caller passes buf valid for n bytes, or NULL.
        let buf = unsafe { in_bytes(buf, n, "buf") }?;
        io::write_all(fd, buf).map(|n| n as ssize_t)
    },)
}
