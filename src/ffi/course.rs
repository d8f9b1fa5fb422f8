//! Section "Course helper API": the functions of the course's helperSO/wrsock library,
//! with exactly its names and prototypes, so that the course's programs link against
//! prise unchanged. On failure each prints one line on stderr naming the call, the
//! host/port and the real reason (PRISE_QUIET=1 silences it), sets errno and
//! prise_last_error(), and returns its error value.

use std::ffi::{c_char, c_int, CStr, CString};
use std::mem::size_of;
use std::os::fd::AsRawFd;

use libc::{addrinfo, sockaddr_in};
use nix::errno::Errno;

use super::interned::interned;
use super::{boundary_with, give, in_bytes, malloc_string, optional_str, out_bytes, trace};
use crate::addr::SockAddr;
use crate::addr::{base_type, socktype_name};
use crate::course::{self, BindFailure, ReuseAddress};
use crate::error::{Error, Result};
use crate::io;

/// A course function's boundary: [`ffi_boundary!`], and the failure is printed with
/// the function's name, where the course printed its perror.
macro_rules! course_boundary {
    ($args:expr, $failure:expr, $body:expr $(,)?) => {{
        let failure = $failure;
        ffi_boundary!(
            $args,
            on_error: move |error| {
                course::report(c_name!(), error);
                failure
            },
            $body
        )
    }};
}

/// The course's names for the functions that several exports share (the generations'
/// entry points print and trace the name the program called).
const BINDED_SOCKET: &str = "bindedSocket";

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
    course_boundary!(
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
    course_boundary!(
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
/// sockfd: must not be NULL; receives the socket (close-on-exec), or -1 on failure.
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
    course_boundary!(
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
            let ptr = interned(&addr)?;
            *sockfd = give(fd);
            Ok(ptr)
        },
    )
}

/// The int hidden in a `char *` argument by a program compiled against the course's
/// generation-1 header (`bindedSocket(host, type, port)`, `creerSockAddr(host, port)`)
/// and linked with prise: it passes an int where generation 3 has a string. No string
/// lives at an address from 1 to 65535 on Linux (the kernel maps nothing there for an
/// ordinary program: vm.mmap_min_addr, and loaders start far above), so such a value
/// is the old int form. A larger value that fits 32 bits (a port out of range, -1, a
/// type with SOCK_CLOEXEC) is the int form too when no page is mapped there. NULL keeps
/// its generation-3 meaning.
fn generation1_int(ptr: *const c_char) -> Option<c_int> {
    let value = ptr as usize;
    let small = (1..=65535).contains(&value);
    let int_sized = value > 65535 && value <= u32::MAX as usize && !course::is_mapped(value);
    (small || int_sized).then_some(value as u32 as c_int)
}

/// A socket type the resolver can use, for creerSockAddr, which makes no socket: a
/// program compiled against the course's generation-1 header leaves whatever was in
/// that register, so a value that is no socket type is taken as SOCK_STREAM.
fn address_socktype(socktype: c_int) -> c_int {
    match base_type(socktype) {
        0 | libc::SOCK_STREAM | libc::SOCK_DGRAM | libc::SOCK_RAW | libc::SOCK_SEQPACKET => {
            socktype
        }
        _ => libc::SOCK_STREAM,
    }
}

/// The forms of the course's bindedSocket and creerSockAddr, generation by generation.
#[derive(Clone, Copy)]
enum Form {
    /// Generation 1: the socket type and the port are ints.
    IntPort { socktype: c_int, port: c_int },
    /// Generations 2 and 3: the port is a string (or NULL).
    TextPort {
        port: *const c_char,
        socktype: c_int,
    },
}

impl Form {
    /// The form of a call to the exported bindedSocket: a program compiled against the
    /// course's own generation-1 header passes bindedSocket(host, type, port).
    fn of_binded_socket(port: *const c_char, socktype: c_int) -> Form {
        match generation1_int(port) {
            Some(generation1_type) => Form::IntPort {
                socktype: generation1_type,
                port: socktype,
            },
            None => Form::TextPort { port, socktype },
        }
    }

    /// The form of a call to the exported creerSockAddr: a program compiled against the
    /// course's own generation-1 header passes creerSockAddr(host, port), and no type.
    fn of_creer_sock_addr(port: *const c_char, socktype: c_int) -> Form {
        match generation1_int(port) {
            Some(port) => Form::IntPort {
                socktype: libc::SOCK_STREAM,
                port,
            },
            None => Form::TextPort {
                port,
                socktype: address_socktype(socktype),
            },
        }
    }

    /// The form of a three-argument bindedSocket whose second argument is an int. A
    /// literal 0 there is generation 2's empty service, not a socket type of 0:
    /// bindedSocket(host, 0, SOCK_DGRAM) binds an ephemeral port, as that generation did.
    fn of_generation1(socktype: c_int, port: c_int) -> Form {
        let port_is_a_type = matches!(
            base_type(port),
            libc::SOCK_STREAM | libc::SOCK_DGRAM | libc::SOCK_RAW | libc::SOCK_SEQPACKET
        );
        if socktype == 0 && port_is_a_type {
            Form::TextPort {
                port: std::ptr::null(),
                socktype: port,
            }
        } else {
            Form::IntPort { socktype, port }
        }
    }

    /// The host to resolve: as given, except that generation 1 goes on with 0.0.0.0 when
    /// the name does not resolve, after printing why (its helper printed its perror).
    fn host<'a>(
        self,
        call: &str,
        host: Option<&'a CStr>,
        service: Option<&CStr>,
    ) -> Option<&'a CStr> {
        match (self, service) {
            (Form::IntPort { socktype, .. }, Some(service)) => {
                let (host, failure) = course::generation1_host(host, service, socktype);
                if let Some(failure) = failure {
                    course::report(call, &failure);
                }
                host
            }
            _ => host,
        }
    }

    /// The arguments as the program wrote them, for PRISE_TRACE.
    fn trace_args(self, host: *const c_char) -> String {
        match self {
            Form::IntPort { socktype, port } => {
                format!("{}, {}, {port}", trace::text(host), socktype_name(socktype))
            }
            Form::TextPort { port, socktype } => format!(
                "{}, {}, {}",
                trace::text(host),
                trace::text(port),
                socktype_name(socktype)
            ),
        }
    }

    fn socktype(self) -> c_int {
        match self {
            Form::IntPort { socktype, .. } | Form::TextPort { socktype, .. } => socktype,
        }
    }

    /// The service text for the resolver: an int port checked to be a port.
    fn service(self) -> Result<Option<CString>> {
        match self {
            Form::IntPort { port, .. } => course::int_port(port).map(Some),
            // SAFETY: the caller passes a NUL-terminated port or NULL.
            Form::TextPort { port, .. } => Ok(unsafe { optional_str(port) }.map(CStr::to_owned)),
        }
    }
}

/// bindedSocket of every generation, in the boundary: -1 when the name cannot be
/// resolved or the socket made, -2 when bind fails, the descriptor otherwise.
/// Generation 1 does not set SO_REUSEADDR and never writes `out`; for the others `out`
/// (may be NULL) receives the address bound.
fn binded_socket_boundary(host: *const c_char, form: Form, out: Option<*mut sockaddr_in>) -> c_int {
    boundary_with(
        || BINDED_SOCKET,
        || match (form, out) {
            (Form::TextPort { .. }, Some(out)) => {
                format!(
                    "{}, {}",
                    form.trace_args(host),
                    trace::pointer(out as *const _)
                )
            }
            _ => form.trace_args(host),
        },
        |error| {
            course::report(BINDED_SOCKET, error);
            // Only bind's own failure is the course's -2, and its error carries it.
            error.return_code().unwrap_or(-1)
        },
        || {
            let service = form.service()?;
            let reuse = match form {
                Form::IntPort { .. } => ReuseAddress::No,
                Form::TextPort { .. } => ReuseAddress::Yes,
            };
            // SAFETY: the caller passes a NUL-terminated host or NULL.
            let host = form.host(
                "bindedSocket",
                unsafe { optional_str(host) },
                service.as_deref(),
            );
            let (fd, bound) =
                course::binded_socket(host, service.as_deref(), form.socktype(), reuse).map_err(
                    |failure| match failure {
                        BindFailure::Setup(error) => error,
                        BindFailure::Bind(error) => error.returning(-2),
                    },
                )?;
            // Generation 1 has no address out: what sits in its place is not the caller's.
            if let (Form::TextPort { .. }, Some(out), Some(sin)) =
                (form, out, bound.to_sockaddr_in())
            {
                // SAFETY: out is NULL or the caller's sockaddr_in.
                if let Some(out) = unsafe { out.as_mut() } {
                    *out = sin;
                }
            }
            Ok(give(fd))
        },
    )
}

/// Creates a socket for host/port (as getAddrInfo), sets SO_REUSEADDR (on a stream
/// socket: on UDP it would let two sockets share the port) and binds it, as the course's
/// bindedSocket (generation 3).
///
/// addr: may be NULL; otherwise receives the address actually bound (an ephemeral port,
/// asked for with port "0" or NULL, is filled in).
/// Returns the descriptor (close-on-exec); -1 when the name cannot be resolved or the
/// socket made; -2 when bind fails (EADDRINUSE, for UDP too; EACCES, …). errno is set in
/// both cases.
/// Ownership: the caller owns the descriptor.
///
/// A program compiled against the course's own generation-1 header reaches this symbol
/// with bindedSocket(host, type, port): a port argument from 1 to 65535 (no string can
/// be at such an address on Linux), or a larger 32-bit value where no memory is mapped,
/// is taken as that form's socket type, socktype as its port, and addr is left alone; the
/// call then behaves as prise_course_binded_socket_v1. prise's helperSO.h and wrsock.h
/// send each generation's call to its own function instead.
#[no_mangle]
pub extern "C" fn bindedSocket(
    host: *mut c_char,
    port: *mut c_char,
    socktype: c_int,
    addr: *mut sockaddr_in,
) -> c_int {
    binded_socket_boundary(host, Form::of_binded_socket(port, socktype), Some(addr))
}

/// Generation 1 of the course's bindedSocket, bindedSocket(host, type, port): creates
/// and binds an IPv4 socket, without SO_REUSEADDR as that generation.
///
/// host: may be NULL (0.0.0.0); a host that does not resolve prints why and 0.0.0.0 is
/// used, as that generation did. port: 0 to 65535 (0: the kernel picks one). A socktype
/// of 0 with a socket type as port is generation 2's bindedSocket(host, 0, type), the
/// literal 0 being its NULL service.
/// Returns the descriptor (close-on-exec); -1 when the port is out of range (EINVAL) or
/// the socket cannot be made; -2 when bind fails. errno is set.
/// Ownership: the caller owns the descriptor.
/// prise's helperSO.h and wrsock.h call it for a three-argument bindedSocket whose
/// second argument is an integer.
#[no_mangle]
pub extern "C" fn prise_course_binded_socket_v1(
    host: *mut c_char,
    socktype: c_int,
    port: c_int,
) -> c_int {
    binded_socket_boundary(host, Form::of_generation1(socktype, port), None)
}

/// Generation 2 of the course's bindedSocket, bindedSocket(host, service, type): as
/// generation 3 (SO_REUSEADDR on stream sockets; -1 or -2 on failure; close-on-exec)
/// without the address out.
///
/// host, service: may be NULL (0.0.0.0, port 0).
/// Ownership: the caller owns the descriptor.
/// prise's helperSO.h and wrsock.h call it for a three-argument bindedSocket whose
/// second argument is a string.
#[no_mangle]
pub extern "C" fn prise_course_binded_socket_v2(
    host: *mut c_char,
    service: *mut c_char,
    socktype: c_int,
) -> c_int {
    binded_socket_boundary(
        host,
        Form::TextPort {
            port: service,
            socktype,
        },
        None,
    )
}

/// creerSockAddr of every generation and CreerSockAddr, in the boundary. Generation 1
/// (an int port): an unknown host prints its line and gives 0.0.0.0 with the port, as
/// the course's helper did, so a program that uses the address unchecked does not
/// crash; a port outside 0–65535 is NULL with EINVAL.
fn sock_addr_boundary(call: &'static str, host: *const c_char, form: Form) -> *mut sockaddr_in {
    boundary_with(
        || call,
        || match form {
            // Generation 1's creerSockAddr(host, port) has no type.
            Form::IntPort { port, .. } => format!("{}, {port}", trace::text(host)),
            Form::TextPort { .. } => form.trace_args(host),
        },
        |error| {
            course::report(call, error);
            std::ptr::null_mut()
        },
        || {
            let service = form.service()?;
            // SAFETY: the caller passes a NUL-terminated host or NULL.
            let host = form.host(call, unsafe { optional_str(host) }, service.as_deref());
            let list = course::resolve_v4(host, service.as_deref(), form.socktype())?;
            interned(&list.first().addr)
        },
    )
}

/// Resolves host/port into an IPv4 address (as getAddrInfo), as the course's
/// creerSockAddr (generation 3); no socket is made.
///
/// Returns the address, or NULL with errno (ENOENT unknown host, EINVAL bad port).
/// Ownership: as creerSock: the address belongs to prise, stays valid for the whole
/// process, and repeated calls do not grow memory.
///
/// A program compiled against the course's own generation-1 header reaches this symbol
/// with creerSockAddr(host, port), an int port: a port argument from 1 to 65535 (no
/// string can be at such an address on Linux), or a larger 32-bit value where no memory
/// is mapped, is taken as that int, and the call behaves as
/// prise_course_creer_sock_addr_v1. NULL keeps its meaning here (port 0), and as no
/// socket is made, a socktype that is no socket type is taken as SOCK_STREAM.
#[no_mangle]
pub extern "C" fn creerSockAddr(
    host: *mut c_char,
    port: *mut c_char,
    socktype: c_int,
) -> *mut sockaddr_in {
    sock_addr_boundary(
        "creerSockAddr",
        host,
        Form::of_creer_sock_addr(port, socktype),
    )
}

/// Generation 1 of the course's creerSockAddr, creerSockAddr(host, port) with an int
/// port: the IPv4 address of host (NULL: 0.0.0.0) and port.
///
/// port: 0 to 65535.
/// Returns the address. When host cannot be resolved the reason is printed and the
/// address is 0.0.0.0 with the port, as that generation did (never NULL for a bad host,
/// so a program that does not check does not crash); NULL with EINVAL for a port out of
/// range.
/// Ownership: the address belongs to prise, as creerSock's.
/// prise's helperSO.h and wrsock.h call it for a two-argument creerSockAddr.
#[no_mangle]
pub extern "C" fn prise_course_creer_sock_addr_v1(
    host: *mut c_char,
    port: c_int,
) -> *mut sockaddr_in {
    sock_addr_boundary(
        "creerSockAddr",
        host,
        Form::IntPort {
            socktype: libc::SOCK_STREAM,
            port,
        },
    )
}

/// The course's CreerSockAddr(host, port) (its minichat variant): as the generation-1
/// creerSockAddr.
///
/// Ownership: the address belongs to prise, as creerSock's.
#[no_mangle]
pub extern "C" fn CreerSockAddr(host: *mut c_char, port: c_int) -> *mut sockaddr_in {
    sock_addr_boundary(
        "CreerSockAddr",
        host,
        Form::IntPort {
            socktype: libc::SOCK_STREAM,
            port,
        },
    )
}

/// The course's SockUdp(host, port) (its minichat variant): an IPv4 UDP socket bound to
/// host:port, without SO_REUSEADDR.
///
/// host: may be NULL (0.0.0.0). port: 0 to 65535.
/// Returns the descriptor (close-on-exec), even when bind fails (the reason is printed,
/// as the course did, and the socket is left unbound); a host that does not resolve
/// prints why and 0.0.0.0 is used, as the course did; -1 with errno when the port is out
/// of range (EINVAL) or the socket cannot be made.
/// Ownership: the caller owns the descriptor.
#[no_mangle]
pub extern "C" fn SockUdp(host: *mut c_char, port: c_int) -> c_int {
    course_boundary!(|| format!("{}, {port}", trace::text(host)), -1, || {
        let form = Form::IntPort {
            socktype: libc::SOCK_DGRAM,
            port,
        };
        let service = form.service()?;
        // SAFETY: the caller passes a NUL-terminated host or NULL.
        let host = form.host("SockUdp", unsafe { optional_str(host) }, service.as_deref());
        let (fd, addr) = course::open_socket(host, service.as_deref(), libc::SOCK_DGRAM)?;
        if let Err(BindFailure::Setup(error) | BindFailure::Bind(error)) =
            course::bind_opened(fd.as_raw_fd(), &addr, ReuseAddress::No)
        {
            course::report("SockUdp", &error);
        }
        Ok(give(fd))
    },)
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
    ffi_boundary!(
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
    ffi_boundary!(
        || format!("{fd}, {}", trace::buffer(buf as *const _, n as usize)),
        -1,
        || {
            // SAFETY: the caller passes buf valid for n bytes, or NULL.
            let buf = unsafe { out_bytes(buf as *mut _, course_len(n)?, "buf") }?;
            io::read_full(fd, buf).map(|read| read as c_int)
        },
    )
}
