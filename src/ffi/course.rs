//! Section "Course helper API": the functions of the course's helperSO/wrsock library,
//! with exactly its names and prototypes, so that the course's programs link against
//! prise unchanged. On failure each prints one line on stderr naming the call, the
//! host/port and the real reason (PRISE_QUIET=1 silences it), sets errno and
//! prise_last_error(), and returns its error value.

use std::collections::HashMap;
use std::ffi::{c_char, c_int};
use std::mem::size_of;
use std::sync::{LazyLock, Mutex};

use libc::{addrinfo, sockaddr_in};
use nix::errno::Errno;

use super::{boundary_with, in_bytes, malloc_string, optional_str, out_bytes, trace};
use crate::addr::socktype_name;
use crate::addr::SockAddr;
use crate::course::{self, BindFailure};
use crate::error::{Error, Result};
use crate::io;

/// A course function's boundary: as [`super::boundary`], and the failure is printed.
#[inline(always)]
fn course_boundary<T: super::trace::TraceValue>(
    call: &'static str,
    args: impl FnOnce() -> String,
    failure: T,
    body: impl FnOnce() -> Result<T>,
) -> T {
    boundary_with(
        call,
        args,
        |error| {
            course::report(call, error);
            failure
        },
        body,
    )
}

/// The process-lifetime addresses handed out by creerSock/creerSockAddr, one per
/// distinct IPv4 address and port: repeated calls return the same pointer instead of
/// leaking a new addrinfo each time as the course's helper does.
static INTERNED: LazyLock<Mutex<HashMap<(u32, u16), usize>>> = LazyLock::new(Default::default);

fn interned(addr: &SockAddr) -> Result<*mut sockaddr_in> {
    let sin = addr.to_sockaddr_in().ok_or_else(|| {
        Error::with_message(
            Errno::EAFNOSUPPORT,
            format!("{addr} is not an IPv4 address"),
        )
    })?;
    let key = (sin.sin_addr.s_addr, sin.sin_port);
    let mut table = INTERNED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let ptr = *table
        .entry(key)
        .or_insert_with(|| Box::into_raw(Box::new(sin)) as usize) as *mut sockaddr_in;
    // SAFETY: ptr comes from Box::into_raw and is never freed. A caller may have
    // written to it; give back the true address (written only when it differs, so a
    // reader of an unmodified entry never races with a write).
    unsafe {
        let current = std::slice::from_raw_parts(ptr as *const u8, size_of::<sockaddr_in>());
        let fresh = std::slice::from_raw_parts(
            &sin as *const sockaddr_in as *const u8,
            size_of::<sockaddr_in>(),
        );
        if current != fresh {
            *ptr = sin;
        }
    }
    Ok(ptr)
}

/// Resolves an IPv4 address for a socket type, as the course's getAddrInfo: AF_INET,
/// passive (NULL host means 0.0.0.0), NULL service means port 0.
///
/// Returns the list, or NULL with errno (ENOENT unknown host, EINVAL bad port, …).
/// Ownership: the caller frees the list with freeaddrinfo().
#[no_mangle]
pub extern "C" fn getAddrInfo(
    host: *const c_char,
    service: *const c_char,
    socktype: c_int,
) -> *mut addrinfo {
    course_boundary(
        "getAddrInfo",
        || {
            format!(
                "{}, {}, {}",
                trace::text(host),
                trace::text(service),
                socktype_name(socktype)
            )
        },
        std::ptr::null_mut(),
        || {
            // SAFETY: the caller passes NUL-terminated strings or NULL.
            let (host, service) = unsafe { (optional_str(host), optional_str(service)) };
            Ok(course::resolve_v4(host, service, socktype)?.into_raw())
        },
    )
}

/// The numeric text of an IPv4 address, as the course's getNameInfo:
/// "ADDRESS 127.0.0.1:2023".
///
/// sa: must not be NULL; must be an AF_INET address (EAFNOSUPPORT otherwise).
/// Returns the text, or NULL with errno. Ownership: the caller free()s the text.
#[no_mangle]
pub extern "C" fn getNameInfo(sa: *mut sockaddr_in) -> *mut c_char {
    course_boundary(
        "getNameInfo",
        || trace::addr(sa as *const _, std::mem::size_of::<sockaddr_in>() as u32),
        std::ptr::null_mut(),
        || {
            // SAFETY: the caller passes a sockaddr_in, or NULL.
            let bytes = unsafe { in_bytes(sa as *const _, size_of::<sockaddr_in>(), "sa") }?;
            let text = course::address_text(&SockAddr::from_bytes(bytes)?)?;
            malloc_string(&text)
        },
    )
}

/// Resolves host/port (as getAddrInfo) and creates an unbound socket of the matching
/// family and type, as the course's creerSock.
///
/// sockfd: must not be NULL; receives the socket, or -1 on failure.
/// Returns the address, or NULL with errno (EINVAL for a NULL sockfd, ENOENT unknown
/// host, EINVAL bad port, EMFILE, …).
/// Ownership: the caller owns *sockfd. The address belongs to prise and stays valid for
/// the whole process (do not free it; treat it as read-only): the same address and port
/// always give the same pointer, so a million calls do not grow memory.
#[no_mangle]
pub extern "C" fn creerSock(
    host: *mut c_char,
    port: *mut c_char,
    socktype: c_int,
    sockfd: *mut c_int,
) -> *mut sockaddr_in {
    course_boundary(
        "creerSock",
        || {
            format!(
                "{}, {}, {}",
                trace::text(host),
                trace::text(port),
                socktype_name(socktype)
            )
        },
        std::ptr::null_mut(),
        || {
            // SAFETY: sockfd is NULL or the caller's int.
            let sockfd = unsafe { sockfd.as_mut() }
                .ok_or_else(|| Error::with_message(Errno::EINVAL, "sockfd is NULL"))?;
            *sockfd = -1;
            // SAFETY: the caller passes NUL-terminated strings or NULL.
            let (host, port) = unsafe { (optional_str(host), optional_str(port)) };
            let (fd, addr) = course::open_socket(host, port, socktype)?;
            match interned(&addr) {
                Ok(ptr) => {
                    *sockfd = fd;
                    Ok(ptr)
                }
                Err(error) => {
                    let _ = crate::socket::close(fd);
                    Err(error)
                }
            }
        },
    )
}

thread_local! {
    /// Set by bindedSocket's body when bind itself failed, read by its error value.
    static BIND_FAILED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Creates a socket for host/port (as getAddrInfo), sets SO_REUSEADDR and binds it, as
/// the course's bindedSocket.
///
/// addr: may be NULL; otherwise receives the address actually bound (an ephemeral port,
/// asked for with port "0" or NULL, is filled in).
/// Returns the descriptor; -1 when the name cannot be resolved or the socket made; -2
/// when bind fails (EADDRINUSE, EACCES, …). errno is set in both cases.
/// Ownership: the caller owns the descriptor.
#[no_mangle]
pub extern "C" fn bindedSocket(
    host: *mut c_char,
    port: *mut c_char,
    socktype: c_int,
    addr: *mut sockaddr_in,
) -> c_int {
    boundary_with(
        "bindedSocket",
        || {
            format!(
                "{}, {}, {}",
                trace::text(host),
                trace::text(port),
                socktype_name(socktype)
            )
        },
        |error| {
            course::report("bindedSocket", error);
            // Only bind's own failure is the course's -2.
            if BIND_FAILED.with(|flag| flag.replace(false)) {
                -2
            } else {
                -1
            }
        },
        || {
            // SAFETY: the caller passes NUL-terminated strings or NULL.
            let (host, port) = unsafe { (optional_str(host), optional_str(port)) };
            let (fd, bound) =
                course::binded_socket(host, port, socktype).map_err(|failure| match failure {
                    BindFailure::Setup(error) => error,
                    BindFailure::Bind(error) => {
                        BIND_FAILED.with(|flag| flag.set(true));
                        error
                    }
                })?;
            // SAFETY: addr is NULL or the caller's sockaddr_in.
            if let (Some(out), Some(sin)) = (unsafe { addr.as_mut() }, bound.to_sockaddr_in()) {
                *out = sin;
            }
            Ok(fd)
        },
    )
}

/// Resolves host/port into an IPv4 address (as getAddrInfo), as the course's
/// creerSockAddr; no socket is made.
///
/// Returns the address, or NULL with errno (ENOENT unknown host, EINVAL bad port).
/// Ownership: as creerSock: the address belongs to prise, stays valid for the whole
/// process, and repeated calls do not grow memory.
#[no_mangle]
pub extern "C" fn creerSockAddr(
    host: *mut c_char,
    port: *mut c_char,
    socktype: c_int,
) -> *mut sockaddr_in {
    course_boundary(
        "creerSockAddr",
        || {
            format!(
                "{}, {}, {}",
                trace::text(host),
                trace::text(port),
                socktype_name(socktype)
            )
        },
        std::ptr::null_mut(),
        || {
            // SAFETY: the caller passes NUL-terminated strings or NULL.
            let (host, port) = unsafe { (optional_str(host), optional_str(port)) };
            let list = course::resolve_v4(host, port, socktype)?;
            interned(&list.first().addr)
        },
    )
}

fn course_len(n: c_int) -> Result<usize> {
    usize::try_from(n)
        .map_err(|_| Error::with_message(Errno::EINVAL, format!("negative length {n}")))
}

/// Writes all n bytes, as the course's writes, retrying EINTR and short writes; never
/// raises SIGPIPE.
///
/// buf: may be NULL only when n is 0. Returns n, or -1 with errno (EPIPE when the peer
/// has closed, EBADF, EINVAL for a negative n or a NULL buf).
#[no_mangle]
pub extern "C" fn writes(fd: c_int, buf: *mut c_char, n: c_int) -> c_int {
    course_boundary(
        "writes",
        || format!("{fd}, {}", trace::buffer(buf as *const _, n as usize)),
        -1,
        || {
            // SAFETY: the caller passes buf valid for n bytes, or NULL.
            let buf = unsafe { in_bytes(buf as *const _, course_len(n)?, "buf") }?;
            io::write_all(fd, buf).map(|written| written as c_int)
        },
    )
}

/// Reads n bytes, as the course's reads, retrying EINTR and short reads; stops early at
/// end of file.
///
/// buf: may be NULL only when n is 0. Returns the count read (less than n only at end of
/// file), or -1 with errno (ECONNRESET, EBADF, EINVAL for a negative n or a NULL buf).
#[no_mangle]
pub extern "C" fn reads(fd: c_int, buf: *mut c_char, n: c_int) -> c_int {
    course_boundary(
        "reads",
        || format!("{fd}, {}", trace::buffer(buf as *const _, n as usize)),
        -1,
        || {
            // SAFETY: the caller passes buf valid for n bytes, or NULL.
            let buf = unsafe { out_bytes(buf as *mut _, course_len(n)?, "buf") }?;
            io::read_full(fd, buf).map(|read| read as c_int)
        },
    )
}
