//! Section "High-level helpers": connect, listen and bind in one call, Unix sockets,
//! lines, timeouts, address text, descriptor passing, and the two server models.

use std::ffi::{c_char, c_int, c_void};
use std::time::Duration;

use libc::{gid_t, pid_t, size_t, sockaddr, socklen_t, ssize_t, uid_t};
use nix::errno::Errno;

use super::{give, in_sockaddr, optional_str, out_bytes, out_sockaddr, required_str, trace};
use crate::addr::socktype_name;
use crate::addr::SockAddr;
use crate::error::{Error, Result};
use crate::{fdpass, inet, line, serve, socket, unix};

/// Connects a TCP socket to host:service, trying every address in order (IPv6 and
/// IPv4, as the resolver sorts them) until one connects.
///
/// host, service: must not be NULL; service is a port number or a name ("http").
/// Returns the connected descriptor (close-on-exec), or -1 with errno: that of the last
/// attempt (ECONNREFUSED, ETIMEDOUT, ENETUNREACH, …), or ENOENT/EINVAL when the name or
/// port cannot be resolved; prise_last_error() names every address tried.
/// Ownership: the caller owns the descriptor.
#[no_mangle]
pub extern "C" fn prise_tcp_connect(host: *const c_char, service: *const c_char) -> c_int {
    ffi_boundary!(
        || format!("{}, {}", trace::text(host), trace::text(service)),
        -1,
        || {
            // SAFETY: the caller passes NUL-terminated strings or NULL.
            let (host, service) = unsafe {
                (
                    required_str(host, "host")?,
                    required_str(service, "service")?,
                )
            };
            inet::tcp_connect(host, service, None).map(give)
        },
    )
}

/// As prise_tcp_connect, each attempt bounded by millis milliseconds (> 0). The returned
/// socket is blocking again.
///
/// Returns the connected descriptor (close-on-exec), or -1 with errno (ETIMEDOUT when no
/// address answered in time, EINVAL for millis <= 0, …). Ownership: the caller owns it.
#[no_mangle]
pub extern "C" fn prise_tcp_connect_timeout(
    host: *const c_char,
    service: *const c_char,
    millis: c_int,
) -> c_int {
    ffi_boundary!(
        || format!("{}, {}, {millis}", trace::text(host), trace::text(service)),
        -1,
        || {
            // SAFETY: the caller passes NUL-terminated strings or NULL.
            let (host, service) = unsafe {
                (
                    required_str(host, "host")?,
                    required_str(service, "service")?,
                )
            };
            let millis = u64::try_from(millis)
                .ok()
                .filter(|m| *m > 0)
                .ok_or_else(|| {
                    Error::with_message(
                        Errno::EINVAL,
                        format!("timeout {millis} ms: give a positive number"),
                    )
                })?;
            inet::tcp_connect(host, service, Some(Duration::from_millis(millis))).map(give)
        },
    )
}

/// A listening TCP socket with SO_REUSEADDR on.
///
/// host: may be NULL: one dual-stack socket on "::" (IPV6_V6ONLY off) that accepts IPv4
/// and IPv6 clients, or 0.0.0.0 where IPv6 is unavailable. service: must not be NULL;
/// "0" lets the kernel pick a port (read it with prise_getsockname). backlog: as listen.
/// Returns the listening descriptor (close-on-exec), or -1 with errno (EADDRINUSE, EACCES,
/// ENOENT, …). Ownership: the caller owns the descriptor.
#[no_mangle]
pub extern "C" fn prise_tcp_listen(
    host: *const c_char,
    service: *const c_char,
    backlog: c_int,
) -> c_int {
    ffi_boundary!(
        || format!("{}, {}, {backlog}", trace::text(host), trace::text(service)),
        -1,
        || {
            // SAFETY: the caller passes NUL-terminated strings or NULL.
            let (host, service) =
                unsafe { (optional_str(host), required_str(service, "service")?) };
            inet::tcp_listen(host, service, backlog).map(give)
        },
    )
}

/// A UDP socket bound to host:service (NULL host: dual-stack, as prise_tcp_listen).
///
/// Returns the descriptor (close-on-exec), or -1 with errno (EADDRINUSE, ENOENT, EINVAL, …).
/// Ownership: the caller owns the descriptor.
#[no_mangle]
pub extern "C" fn prise_udp_bind(host: *const c_char, service: *const c_char) -> c_int {
    ffi_boundary!(
        || format!("{}, {}", trace::text(host), trace::text(service)),
        -1,
        || {
            // SAFETY: the caller passes NUL-terminated strings or NULL.
            let (host, service) =
                unsafe { (optional_str(host), required_str(service, "service")?) };
            inet::udp_bind(host, service).map(give)
        },
    )
}

/// A UDP socket connected to host:service, for send/recv without addresses.
///
/// host, service: must not be NULL. Returns the descriptor (close-on-exec), or -1 with
/// errno. A later recv may fail with ECONNREFUSED when nothing listens at the peer's port.
/// Ownership: the caller owns the descriptor.
#[no_mangle]
pub extern "C" fn prise_udp_connect(host: *const c_char, service: *const c_char) -> c_int {
    ffi_boundary!(
        || format!("{}, {}", trace::text(host), trace::text(service)),
        -1,
        || {
            // SAFETY: the caller passes NUL-terminated strings or NULL.
            let (host, service) = unsafe {
                (
                    required_str(host, "host")?,
                    required_str(service, "service")?,
                )
            };
            inet::udp_connect(host, service).map(give)
        },
    )
}

/// A Unix-domain server socket at path (listening, for SOCK_STREAM).
///
/// path: must not be NULL or empty; a leading '@' names the Linux abstract namespace
/// (no file). type: SOCK_STREAM or SOCK_DGRAM. Only a socket file left by a server that
/// has stopped is replaced. Anything else at path is left untouched and is EADDRINUSE
/// with a sentence saying what is there: a regular file, a FIFO, a directory, a symbolic
/// link (dangling or not), or a live server's socket (found by a connect that never
/// blocks, so that server sees one empty connection; a full backlog counts as live).
/// A path longer than 107 bytes (an abstract name longer than 107 after its '@') is
/// ENAMETOOLONG, never cut. The file's permissions follow the umask.
/// Returns the descriptor (close-on-exec), or -1 with errno. Ownership: the caller owns
/// the descriptor and removes the file (unlink) when done.
#[no_mangle]
pub extern "C" fn prise_unix_listen(path: *const c_char, socktype: c_int) -> c_int {
    ffi_boundary!(
        || format!("{}, {}", trace::text(path), socktype_name(socktype)),
        -1,
        || {
            // SAFETY: the caller passes a NUL-terminated string or NULL.
            let path = unsafe { required_str(path, "path") }?;
            unix::unix_listen(path, socktype).map(give)
        },
    )
}

/// A Unix-domain client socket connected to path ('@' for the abstract namespace); a
/// SOCK_DGRAM client is auto-bound to an abstract address so the server can reply.
///
/// Returns the descriptor (close-on-exec), or -1 with errno (ENOENT or ECONNREFUSED when
/// no server is there, ENAMETOOLONG, EINVAL). Ownership: the caller owns the descriptor.
#[no_mangle]
pub extern "C" fn prise_unix_connect(path: *const c_char, socktype: c_int) -> c_int {
    ffi_boundary!(
        || format!("{}, {}", trace::text(path), socktype_name(socktype)),
        -1,
        || {
            // SAFETY: the caller passes a NUL-terminated string or NULL.
            let path = unsafe { required_str(path, "path") }?;
            unix::unix_connect(path, socktype).map(give)
        },
    )
}

/// Reads one line: up to and including '\n', or n-1 bytes, or to end of file; then
/// writes a NUL. Reentrant (no static buffer) and never consumes bytes after the
/// newline, so plain reads can follow it on the same descriptor.
///
/// On a stream socket with a timeout (prise_set_timeout) or O_NONBLOCK nothing is
/// consumed until the line is whole (or fills n-1 bytes, or the peer has closed): a line
/// that has not fully arrived is -1 with EAGAIN and stays queued, and a later call gets
/// it whole. (A line must fit in the socket's receive queue to be waited for this way;
/// a longer one comes in pieces of n-1 bytes when n is smaller than the queue. Urgent
/// data in the middle of a line stops it there.) A blocking socket with no timeout takes
/// a line as it comes; when the peer fails mid-line (ECONNRESET) the part received is
/// returned without its '\n', and the next call reports the failure: nothing is lost.
/// On a datagram socket one datagram is one line, newlines and all (cut to n-1 bytes;
/// an empty datagram gives 0). On other descriptors (pipes, files) bytes are read one
/// at a time; when a non-blocking one runs dry mid-line, the part read so far is
/// returned (a result without '\n' at the end), nothing is lost.
///
/// buf: must not be NULL; n: its size, at least 2 (a byte and the NUL). Returns the
/// byte count without the NUL (0 at end of file), or -1 with errno (EAGAIN on timeout
/// or when non-blocking, ECONNRESET, EINVAL for a NULL buf or n < 2).
#[no_mangle]
pub extern "C" fn prise_read_line(fd: c_int, buf: *mut c_char, n: size_t) -> ssize_t {
    ffi_boundary!(
        || format!("{fd}, {}", trace::buffer(buf as *const _, n)),
        -1,
        || {
            if buf.is_null() {
                return Err(Error::with_message(Errno::EINVAL, "buf is NULL"));
            }
            // SAFETY: the caller passes buf valid for n bytes.
            let buf = unsafe { out_bytes(buf.cast(), n, "buf") }?;
            line::read_line(fd, buf).map(|n| n as ssize_t)
        },
    )
}

/// Sets both the receive and the send timeout of a socket (SO_RCVTIMEO, SO_SNDTIMEO).
///
/// millis: milliseconds; 0 removes the timeouts. An expired wait makes the blocked call
/// return -1 with EAGAIN. Returns 0, or -1 with errno (EINVAL for a negative millis,
/// EBADF, ENOTSOCK).
#[no_mangle]
pub extern "C" fn prise_set_timeout(fd: c_int, millis: c_int) -> c_int {
    ffi_boundary!(|| format!("{fd}, {millis}"), -1, || line::set_timeout(
        fd, millis
    )
    .map(|()| 0),)
}

/// Copies an address's text into the caller's buffer with its NUL; its length, or ENOSPC
/// (nothing useful written but a NUL) when it does not fit.
fn address_text_out(text: &str, buf: *mut c_char, n: size_t) -> Result<c_int> {
    if buf.is_null() {
        return Err(Error::with_message(Errno::EINVAL, "buf is NULL"));
    }
    // SAFETY: the caller passes buf valid for n bytes.
    let out = unsafe { out_bytes(buf.cast(), n, "buf") }?;
    if text.len() >= out.len() {
        if let Some(first) = out.first_mut() {
            *first = 0;
        }
        return Err(Error::with_message(
            Errno::ENOSPC,
            format!(
                "address text \"{text}\" needs {} bytes, buf has {n}",
                text.len() + 1
            ),
        ));
    }
    out[..text.len()].copy_from_slice(text.as_bytes());
    out[text.len()] = 0;
    Ok(text.len() as c_int)
}

/// Writes an address as text: "127.0.0.1:80", "[::1]:80", "[fe80::1%eth0]:80",
/// "unix:/path", "unix:@abstract", "unix:(unnamed)". prise_addr_parse reads it back.
///
/// addr: must not be NULL; buf: must not be NULL, n bytes. Returns the text's length
/// (without the NUL), or -1 with errno (ENOSPC when buf is too small: nothing useful is
/// written but a NUL; EINVAL for NULL).
#[no_mangle]
pub extern "C" fn prise_addr_format(
    addr: *const sockaddr,
    len: socklen_t,
    buf: *mut c_char,
    n: size_t,
) -> c_int {
    ffi_boundary!(
        || {
            format!(
                "{}, {}",
                trace::addr(addr, len),
                trace::buffer(buf as *const _, n)
            )
        },
        -1,
        || {
            // SAFETY: the caller passes addr valid for len bytes, or NULL.
            let addr = unsafe { in_sockaddr(addr, len) }?;
            address_text_out(&addr.to_string(), buf, n)
        },
    )
}

/// Reads an address from its text, the inverse of prise_addr_format: "127.0.0.1:80",
/// "[::1]:80", "[fe80::1%eth0]:80", "unix:/path", "unix:@abstract", "unix:(unnamed)",
/// and "/path" or "@name" alone. Numeric only: a host name is for prise_getaddrinfo.
///
/// text: must not be NULL. addr: must not be NULL; receives the address. len: must not
/// be NULL; its size on entry (sizeof(struct sockaddr_storage) always fits), the
/// address's length on return.
/// Returns 0, or -1 with errno (EINVAL for text that is no address, with a sentence
/// saying why; ENAMETOOLONG for a Unix path that does not fit; ENOSPC when *len is too
/// small for the address, which is then not written).
/// Ownership: nothing is kept; addr is the caller's.
#[no_mangle]
pub extern "C" fn prise_addr_parse(
    text: *const c_char,
    addr: *mut sockaddr,
    len: *mut socklen_t,
) -> c_int {
    ffi_boundary!(
        || {
            format!(
                "{}, {}",
                trace::text(text),
                trace::pointer(addr as *const _)
            )
        },
        -1,
        || {
            // SAFETY: the caller passes a NUL-terminated text or NULL.
            let text = unsafe { required_str(text, "text") }?;
            let text = text
                .to_str()
                .map_err(|_| Error::with_message(Errno::EINVAL, "address text is not UTF-8"))?;
            let parsed = SockAddr::parse(text)?;
            if addr.is_null() || len.is_null() {
                return Err(Error::with_message(Errno::EINVAL, "addr or len is NULL"));
            }
            // SAFETY: len is the caller's socklen_t.
            let room = unsafe { *len } as usize;
            if room < parsed.len() as usize {
                return Err(Error::with_message(
                    Errno::ENOSPC,
                    format!(
                        "{parsed} needs {} bytes, *len gives {room}: use a struct \
                         sockaddr_storage",
                        parsed.len()
                    ),
                ));
            }
            // SAFETY: addr has room for *len bytes, checked above to hold the address.
            unsafe { out_sockaddr(addr, len, &parsed) }?;
            Ok(0)
        },
    )
}

/// The local address of a socket as text ("0.0.0.0:2023", "[::]:2023", "unix:/path"):
/// getsockname and prise_addr_format in one call, for "listening on ..." lines.
///
/// buf: must not be NULL, n bytes. Returns the text's length, or -1 with errno (EBADF,
/// ENOTSOCK, ENOSPC when buf is too small, EINVAL for NULL).
#[no_mangle]
pub extern "C" fn prise_local_address(fd: c_int, buf: *mut c_char, n: size_t) -> c_int {
    ffi_boundary!(
        || format!("{fd}, {}", trace::buffer(buf as *const _, n)),
        -1,
        || address_text_out(&socket::getsockname(fd)?.to_string(), buf, n),
    )
}

/// The address of a connected socket's peer as text ("127.0.0.1:51234"): getpeername
/// and prise_addr_format in one call.
///
/// buf: must not be NULL, n bytes. Returns the text's length, or -1 with errno (ENOTCONN,
/// EBADF, ENOTSOCK, ENOSPC when buf is too small, EINVAL for NULL).
#[no_mangle]
pub extern "C" fn prise_peer_address(fd: c_int, buf: *mut c_char, n: size_t) -> c_int {
    ffi_boundary!(
        || format!("{fd}, {}", trace::buffer(buf as *const _, n)),
        -1,
        || address_text_out(&socket::getpeername(fd)?.to_string(), buf, n),
    )
}

/// Sends descriptor fd over the Unix stream socket sock (SCM_RIGHTS, with one byte).
///
/// Returns 0, or -1 with errno (EINVAL when sock is not a Unix-domain socket, EBADF for
/// a bad sock or fd, ENOTSOCK, EPIPE); nothing is sent on failure. Ownership: the caller
/// keeps fd; the receiver gets its own copy.
#[no_mangle]
pub extern "C" fn prise_send_fd(sock: c_int, fd: c_int) -> c_int {
    ffi_boundary!(|| format!("{sock}, {fd}"), -1, || fdpass::send_fd(sock, fd)
        .map(|()| 0),)
}

/// Receives a descriptor sent with prise_send_fd on the Unix stream socket sock (works
/// with SO_PASSCRED on).
///
/// Returns the new descriptor (close-on-exec), or -1 with errno (ECONNRESET when the
/// peer closed, EBADMSG when the message carried no descriptor or several of them,
/// EMFILE when this process has no descriptor left for it, EINVAL when sock is not a
/// Unix-domain socket (nothing is read), EBADF, …); on failure every descriptor the
/// message brought is closed, and with SO_PASSPIDFD the sender's pidfd is closed too.
/// Ownership: the caller owns the new descriptor.
#[no_mangle]
pub extern "C" fn prise_recv_fd(sock: c_int) -> c_int {
    ffi_boundary!(|| format!("{sock}"), -1, || fdpass::recv_fd(sock).map(give),)
}

/// The process id, user id and group id of the peer of a connected Unix stream socket
/// (SO_PEERCRED).
///
/// pid, uid, gid: each may be NULL when not wanted; they are written only on success.
/// Returns 0, or -1 with errno (EINVAL when sock is not a Unix-domain socket, ENOTCONN
/// when it has no peer: not connected, listening, or an unconnected datagram socket (one
/// of a socketpair has its peer); ENOTSOCK, EBADF).
#[no_mangle]
pub extern "C" fn prise_peer_cred(
    sock: c_int,
    pid: *mut pid_t,
    uid: *mut uid_t,
    gid: *mut gid_t,
) -> c_int {
    ffi_boundary!(|| format!("{sock}"), -1, || {
        let (p, u, g) = fdpass::peer_cred(sock)?;
        // SAFETY: each pointer is NULL or the caller's.
        unsafe {
            if let Some(pid) = pid.as_mut() {
                *pid = p;
            }
            if let Some(uid) = uid.as_mut() {
                *uid = u;
            }
            if let Some(gid) = gid.as_mut() {
                *gid = g;
            }
        }
        Ok(0)
    },)
}

/// The C handler of a server: the client's descriptor and the caller's context.
pub type PriseHandler = Option<extern "C" fn(conn_fd: c_int, ctx: *mut c_void) -> c_int>;

fn required_handler(handler: PriseHandler, ctx: *mut c_void) -> crate::Result<serve::Handler> {
    let function = handler.ok_or_else(|| Error::with_message(Errno::EINVAL, "handler is NULL"))?;
    Ok(serve::Handler { function, ctx })
}

/// Serves clients with a child process each (the course's fork model): accepts on
/// listen_fd, forks, runs handler(conn_fd, ctx) in the child, which then exits with the
/// handler's return value (0 when the handler ends with pthread_exit), its stdio flushed
/// as exit() would (what the handler printed is not lost). Children are
/// reaped as they end: no zombies. Clients are waited for with poll, so a non-blocking
/// listen_fd works too.
///
/// listen_fd: a listening socket. handler: must not be NULL. ctx: passed as is.
/// conn_fd is close-on-exec (a handler that execs a program hands it no socket).
/// Runs until listen_fd is shut down (shutdown(listen_fd, SHUT_RDWR), from a signal
/// handler or another thread), then waits for the children still serving and returns 0;
/// -1 with errno when listen_fd is not a listening socket or accept fails for good.
/// Ownership: the child's exit closes conn_fd (the handler may close it itself, as the
/// course's service functions do); the caller keeps listen_fd.
#[no_mangle]
pub extern "C" fn prise_serve_fork(
    listen_fd: c_int,
    handler: PriseHandler,
    ctx: *mut c_void,
) -> c_int {
    ffi_boundary!(|| format!("{listen_fd}"), -1, || serve::serve_fork(
        listen_fd,
        required_handler(handler, ctx)?
    )
    .map(|()| 0),)
}

/// Serves clients with a thread each: accepts on listen_fd and runs handler(conn_fd,
/// ctx) in a new thread. The descriptor is passed by value, so the classic race of
/// passing &fd to pthread_create cannot happen. A handler may end its thread with
/// pthread_exit (as course handlers do): that connection is closed and the server goes
/// on. Clients are waited for with poll: a non-blocking listen_fd sleeps, never spins.
///
/// listen_fd: a listening socket. handler: must not be NULL; it runs in many threads at
/// once, each with the system's default stack size. ctx: shared by every thread as is.
/// conn_fd is close-on-exec. Runs until listen_fd is shut down, then waits for the
/// threads still serving and returns 0; -1 with errno when listen_fd is not a listening
/// socket or accept fails for good.
/// Ownership: prise closes conn_fd after the handler returns (or exits its thread),
/// unless the handler closed it itself (the course's service functions do): then that
/// number, which another thread may already have reused, is left alone. The caller keeps
/// listen_fd. prise functions are not async-signal-safe, and a thread inside one must
/// not be cancelled (pthread_cancel): its forced unwind cannot cross prise.
#[no_mangle]
pub extern "C" fn prise_serve_threads(
    listen_fd: c_int,
    handler: PriseHandler,
    ctx: *mut c_void,
) -> c_int {
    ffi_boundary!(|| format!("{listen_fd}"), -1, || serve::serve_threads(
        listen_fd,
        required_handler(handler, ctx)?
    )
    .map(|()| 0),)
}
