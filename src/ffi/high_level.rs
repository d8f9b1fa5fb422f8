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
use crate::{activation, fdpass, inet, line, options, serve, socket, unix};

/// Connects a TCP socket to host:service, racing its addresses as browsers do (Happy
/// Eyeballs, RFC 8305): the addresses in the resolver's order (IPv6 first where it is
/// usable), the families alternating; one attempt starts, and each 250 ms that no
/// attempt has connected the next address starts beside those still pending (at once
/// when one fails). The first to connect wins; the others are closed. So a host whose
/// IPv6 path silently drops packets costs 250 ms, not the kernel's connect timeout
/// (about two minutes). prise_tcp_connect_opts sets the delay and a timeout.
///
/// host, service: must not be NULL; service is a port number or a name ("http").
/// Returns the connected descriptor (blocking, close-on-exec), or -1 with errno: that
/// of the attempt that failed last (ECONNREFUSED, ETIMEDOUT, ENETUNREACH, …), or
/// ENOENT/EINVAL when the name or port cannot be resolved; EINTR when a signal with a
/// handler came while waiting (as connect(2); SA_RESTART does not restart it): call
/// again to go on; when several addresses were tried, prise_last_error() names each
/// one with its own reason.
/// Ownership: the caller owns the descriptor.
#[no_mangle]
pub extern "C" fn prise_tcp_connect(host: *const c_char, service: *const c_char) -> c_int {
    ffi_boundary!(
        || format!("{}, {}", trace::text(host), trace::text(service)),
        -1,
        || connect_with(host, service, inet::ConnectOptions::default()),
    )
}

/// As prise_tcp_connect, each attempt bounded by millis milliseconds (> 0): with n
/// addresses, at most about millis + (n - 1) x 250 ms in all.
///
/// Returns the connected descriptor (blocking, close-on-exec), or -1 with errno
/// (ETIMEDOUT when no address answered in time, EINVAL for millis <= 0, …).
/// Ownership: the caller owns it.
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
            if millis <= 0 {
                return Err(Error::with_message(
                    Errno::EINVAL,
                    format!("timeout {millis} ms: give a positive number"),
                ));
            }
            let options = inet::ConnectOptions {
                timeout: Some(Duration::from_millis(millis as u64)),
                ..Default::default()
            };
            connect_with(host, service, options)
        },
    )
}

/// How prise_tcp_connect_opts connects; zero in a field means its default, so a
/// zero-initialised struct (or NULL) behaves as prise_tcp_connect.
#[repr(C)]
pub struct PriseConnectOptions {
    /// Milliseconds each attempt may take (as prise_tcp_connect_timeout); 0: the
    /// kernel's own limit (about two minutes).
    pub timeout_ms: c_int,
    /// Milliseconds an attempt runs alone before the next address is tried beside it
    /// (RFC 8305's Connection Attempt Delay); 0: 250, the RFC's recommendation. At least
    /// 10 (the RFC's floor: attempts must not start within 10 ms of each other). A long
    /// delay tries one address after the other, as a plain connect loop does.
    pub attempt_delay_ms: c_int,
}

/// As prise_tcp_connect, with the timeout and the Happy Eyeballs delay of options.
///
/// options: may be NULL (the defaults); read during the call only.
/// Returns the connected descriptor (blocking, close-on-exec), or -1 with errno (as
/// prise_tcp_connect; EINVAL for a negative timeout_ms or an attempt_delay_ms that is
/// negative or below 10). Ownership: the caller owns the descriptor.
#[no_mangle]
pub extern "C" fn prise_tcp_connect_opts(
    host: *const c_char,
    service: *const c_char,
    options: *const PriseConnectOptions,
) -> c_int {
    ffi_boundary!(
        || {
            // SAFETY: options is NULL or the caller's struct.
            let shown = match unsafe { options.as_ref() } {
                Some(o) => format!("{{{} ms, {} ms}}", o.timeout_ms, o.attempt_delay_ms),
                None => "NULL".into(),
            };
            format!("{}, {}, {shown}", trace::text(host), trace::text(service))
        },
        -1,
        || {
            let mut chosen = inet::ConnectOptions::default();
            // SAFETY: options is NULL or the caller's struct.
            if let Some(options) = unsafe { options.as_ref() } {
                let millis = |value: c_int, what: &str, min: c_int| {
                    if value == 0 || value >= min {
                        Ok(Duration::from_millis(value as u64))
                    } else {
                        Err(Error::with_message(
                            Errno::EINVAL,
                            format!("{what} {value} ms: give 0 (the default) or {min} and more"),
                        ))
                    }
                };
                let floor = inet::MIN_ATTEMPT_DELAY.as_millis() as c_int;
                let timeout = millis(options.timeout_ms, "timeout_ms", 1)?;
                let delay = millis(options.attempt_delay_ms, "attempt_delay_ms", floor)?;
                chosen.timeout = (!timeout.is_zero()).then_some(timeout);
                if !delay.is_zero() {
                    chosen.attempt_delay = delay;
                }
            }
            connect_with(host, service, chosen)
        },
    )
}

/// The body of the prise_tcp_connect functions.
fn connect_with(
    host: *const c_char,
    service: *const c_char,
    options: inet::ConnectOptions,
) -> Result<c_int> {
    // SAFETY: the caller passes NUL-terminated strings or NULL.
    let (host, service) = unsafe {
        (
            required_str(host, "host")?,
            required_str(service, "service")?,
        )
    };
    inet::tcp_connect(host, service, &options).map(give)
}

/// A listening TCP socket with SO_REUSEADDR on (so that a restarted server binds over
/// the connections of the previous one still in TIME_WAIT).
///
/// host: may be NULL: one dual-stack socket on "::" (IPV6_V6ONLY off) that accepts IPv4
/// and IPv6 clients, or 0.0.0.0 where IPv6 is unavailable. service: must not be NULL;
/// "0" lets the kernel pick a port (read it with prise_getsockname). backlog: as listen.
/// Socket activation: when a service manager passed a listening TCP socket bound to
/// that address (NULL host: a wildcard address of either family, on that port; see
/// prise_listen_fds), that socket is returned instead of a new one, as it is
/// (backlog and options are the manager's); each passed socket is returned once.
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

/// A UDP socket bound to host:service (NULL host: dual-stack, as prise_tcp_listen; a
/// datagram socket passed by a service manager for that address is returned instead of
/// a new one, as there).
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
/// ENAMETOOLONG, never cut. The file's permissions follow the umask. Socket activation:
/// a socket of that type passed by a service manager and bound to path is returned
/// instead (once), as it is.
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

/// Socket activation: how many sockets the service manager that started this program
/// passed it (systemd's LISTEN_FDS protocol, as sd_listen_fds(3) reads it). They are
/// descriptors 3, 4, … 3 + count - 1, in the order of the unit's Listen… lines.
///
/// Only a LISTEN_PID equal to this process's id counts (else 0: the variables were
/// meant for another process). On the first call in the process (or the first
/// prise_tcp_listen, prise_unix_listen, prise_udp_bind or prise_listen_fd_named, which
/// read them too) the descriptors become close-on-exec and LISTEN_PID, LISTEN_FDS,
/// LISTEN_FDNAMES and LISTEN_PIDFDID are removed from the environment, as
/// sd_listen_fds(1) does, so that programs this one starts do not take the sockets for
/// theirs. prise remembers what it read: every later call returns the same count. Call
/// it before starting threads (it changes the environment, which getenv in another
/// thread may be reading).
/// Returns the count (0 when none was passed), or -1 with errno: EINVAL for a malformed
/// LISTEN_PID or LISTEN_FDS or a LISTEN_FDNAMES with another count of names, EBADF when
/// a descriptor it announces is not open (then no passed socket is used).
/// Ownership: the descriptors are the program's; prise_tcp_listen, prise_unix_listen,
/// prise_udp_bind and prise_listen_fd_named hand each one out at most once.
#[no_mangle]
pub extern "C" fn prise_listen_fds() -> c_int {
    ffi_boundary!(String::new, -1, || activation::count()
        .map(|count| count as c_int))
}

/// Socket activation: the passed socket named name in LISTEN_FDNAMES (systemd's
/// FileDescriptorName=, by default the socket unit's name), for a service that listens
/// on several. A socket is handed out once (here or by the listening helpers).
///
/// name: must not be NULL. Returns the descriptor (close-on-exec), or -1 with errno
/// (ENOENT when no socket of that name is left, with the names passed; EINVAL as
/// prise_listen_fds). Ownership: the caller owns the descriptor.
#[no_mangle]
pub extern "C" fn prise_listen_fd_named(name: *const c_char) -> c_int {
    ffi_boundary!(|| trace::text(name), -1, || {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let name = unsafe { required_str(name, "name") }?;
        activation::take_named(&name.to_string_lossy()).map(give)
    })
}

/// TCP_NODELAY on (on != 0) or off: each write leaves at once, instead of small writes
/// waiting while a previous one is unacknowledged (Nagle's algorithm). For request-reply
/// protocols that write a message in several pieces, or interactive traffic, where
/// Nagle's wait (up to the peer's delayed acknowledgement, about 40 ms) shows; leave it
/// off for bulk transfers, where it saves packets.
/// Returns 0, or -1 with errno (EOPNOTSUPP or ENOPROTOOPT when fd is not TCP, EBADF,
/// ENOTSOCK).
#[no_mangle]
pub extern "C" fn prise_set_nodelay(fd: c_int, on: c_int) -> c_int {
    ffi_boundary!(|| format!("{fd}, {on}"), -1, || options::set_nodelay(
        fd,
        on != 0
    )
    .map(|()| 0))
}

/// TCP keepalive: after idle seconds without traffic the kernel sends a probe every
/// interval seconds, and after count unanswered probes the connection fails (the next
/// call returns ETIMEDOUT). For long-lived connections that may stay silent: it finds a
/// peer that vanished (crashed, unplugged) instead of waiting for ever, and keeps NAT and
/// firewall entries alive. Linux's default, when only SO_KEEPALIVE is set, waits two
/// hours; e.g. (60, 10, 6) notices a dead peer within two minutes.
///
/// idle: 1 to 32767 seconds turns keepalive on; 0 turns it off (interval and count are
/// then ignored). interval: 1 to 32767 seconds, 0 leaves the socket's value unchanged
/// (the system's, 75, on a socket never given one). count: 1 to 127, 0 likewise (9).
/// Returns 0, or -1 with errno (EINVAL for a value out of range; EOPNOTSUPP when fd is
/// not a TCP socket, whatever the arguments, nothing then changed; EBADF, ENOTSOCK).
#[no_mangle]
pub extern "C" fn prise_set_keepalive(
    fd: c_int,
    idle: c_int,
    interval: c_int,
    count: c_int,
) -> c_int {
    ffi_boundary!(|| format!("{fd}, {idle}, {interval}, {count}"), -1, || {
        options::set_keepalive(fd, idle, interval, count).map(|()| 0)
    },)
}

/// SO_REUSEPORT on (on != 0) or off, before bind: several sockets that all have it (and
/// belong to the same user) bind the same address and port; the kernel spreads incoming
/// connections (or datagrams) among them. For running one listening socket per process
/// or thread, or restarting a server without a moment when nothing listens. Not needed
/// to rebind over TIME_WAIT: SO_REUSEADDR does that (prise_tcp_listen sets it).
/// Returns 0, or -1 with errno (EBADF, ENOTSOCK).
#[no_mangle]
pub extern "C" fn prise_set_reuseport(fd: c_int, on: c_int) -> c_int {
    ffi_boundary!(|| format!("{fd}, {on}"), -1, || options::set_reuseport(
        fd,
        on != 0
    )
    .map(|()| 0))
}

/// IPV6_V6ONLY on (on != 0) or off, on an IPv6 socket before bind. Off, a socket bound
/// to "::" also takes IPv4 clients, seen as ::ffff:a.b.c.d (prise_tcp_listen(NULL, …)
/// does this: one socket for both). On, it takes IPv6 only: for a server that binds
/// IPv4 separately (0.0.0.0 and :: on the same port), or must not be reached over IPv4.
/// The system's default is in /proc/sys/net/ipv6/bindv6only (usually off).
/// Returns 0, or -1 with errno (EINVAL once bound; ENOPROTOOPT or EOPNOTSUPP on a socket
/// that is not IPv6; EBADF, ENOTSOCK).
#[no_mangle]
pub extern "C" fn prise_set_v6only(fd: c_int, on: c_int) -> c_int {
    ffi_boundary!(|| format!("{fd}, {on}"), -1, || options::set_v6only(
        fd,
        on != 0
    )
    .map(|()| 0))
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
