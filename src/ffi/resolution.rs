//! Section "Name resolution": getaddrinfo, getnameinfo, gethostbyname.

use std::cell::RefCell;
use std::ffi::{c_char, c_int, CString};
use std::net::Ipv4Addr;

use libc::{addrinfo, hostent, size_t, sockaddr, socklen_t};
use nix::errno::Errno;

use super::{in_sockaddr, optional_str, out_bytes, required_str, trace};
use crate::error::Error;
use crate::resolve::{self, Hints};

/// The return value of a resolution function for a failure: its EAI_* code, or
/// EAI_SYSTEM (errno set) when the failure was not the resolver's (a NULL argument).
fn gai_code(error: &Error) -> c_int {
    error.gai().unwrap_or(libc::EAI_SYSTEM)
}

/// Resolves a host and service into socket addresses, as getaddrinfo(3), with checks
/// glibc lacks: a numeric port must be 0–65535 ("65536", "-1" are EAI_SERVICE, not
/// truncated), empty names are refused, and an IPv6 literal may be written "[::1]".
///
/// node/service: either may be NULL, not both. hints: may be NULL (any family and type).
/// res: must not be NULL; receives the list.
/// Returns 0, or an EAI_* code (EAI_NONAME unknown host, EAI_SERVICE bad port, …; or
/// EAI_SYSTEM with errno EINVAL when res is NULL). errno is set for every failure
/// (ENOENT unknown name, EINVAL bad service or hints, EAGAIN try again) and
/// prise_last_error() names the host and port.
/// Ownership: the caller frees *res with prise_freeaddrinfo() or freeaddrinfo().
#[no_mangle]
pub extern "C" fn prise_getaddrinfo(
    node: *const c_char,
    service: *const c_char,
    hints: *const addrinfo,
    res: *mut *mut addrinfo,
) -> c_int {
    ffi_boundary!(
        || format!("{}, {}", trace::text(node), trace::text(service)),
        on_error: gai_code,
        || {
            if res.is_null() {
                return Err(Error::with_message(Errno::EINVAL, "res is NULL"));
            }
            // SAFETY: the caller passes NUL-terminated strings or NULL.
            let (node, service) = unsafe { (optional_str(node), optional_str(service)) };
            // SAFETY: hints is NULL or points to an addrinfo.
            let hints = unsafe { hints.as_ref() }.map_or_else(Hints::default, |h| Hints {
                family: h.ai_family,
                socktype: h.ai_socktype,
                protocol: h.ai_protocol,
                flags: h.ai_flags,
            });
            let list = resolve::getaddrinfo(node, service, &hints)?;
            // SAFETY: res is non-NULL.
            unsafe { *res = list.into_raw() };
            Ok(0)
        },
    )
}

/// Frees a list from prise_getaddrinfo() or getAddrInfo(); NULL is allowed and ignored.
#[no_mangle]
pub extern "C" fn prise_freeaddrinfo(res: *mut addrinfo) {
    ffi_boundary!(|| trace::buffer(res as *const _, 0), (), || {
        if !res.is_null() {
            // SAFETY: the list came from libc's getaddrinfo and is the caller's to free.
            unsafe { libc::freeaddrinfo(res) };
        }
        Ok(())
    },)
}

/// Translates an address into a host and service name, as getnameinfo(3).
///
/// addr: must not be NULL. host/serv: buffers of hostlen/servlen bytes; either may be
/// NULL (with length 0) when not wanted. flags: NI_NUMERICHOST, NI_NUMERICSERV, …
/// Returns 0, or an EAI_* code (EAI_OVERFLOW when a buffer is too small, EAI_FAMILY, …;
/// EAI_SYSTEM with errno EINVAL for a NULL addr); errno and prise_last_error() are set.
#[no_mangle]
pub extern "C" fn prise_getnameinfo(
    addr: *const sockaddr,
    addrlen: socklen_t,
    host: *mut c_char,
    hostlen: socklen_t,
    serv: *mut c_char,
    servlen: socklen_t,
    flags: c_int,
) -> c_int {
    ffi_boundary!(
        || format!("{}, {flags}", trace::addr(addr, addrlen)),
        on_error: gai_code,
        || {
            // SAFETY: the caller passes addr valid for addrlen bytes, or NULL.
            let addr = unsafe { in_sockaddr(addr, addrlen) }?;
            // SAFETY: host and serv are NULL or valid for their lengths.
            let host = unsafe { out_bytes(host.cast(), hostlen as size_t, "host") }?;
            let serv = unsafe { out_bytes(serv.cast(), servlen as size_t, "serv") }?;
            resolve::getnameinfo(&addr, host, serv, flags).map(|()| 0)
        },
    )
}

/// The per-thread storage behind prise_gethostbyname's result.
struct HostStorage {
    entry: hostent,
    name: CString,
    addresses: Vec<[u8; 4]>,
    address_pointers: Vec<*mut c_char>,
    alias_pointers: [*mut c_char; 1],
}

impl HostStorage {
    /// Fills the storage and points the hostent at it; returns the hostent's address.
    fn fill(&mut self, name: CString, addresses: &[Ipv4Addr]) -> *mut hostent {
        self.name = name;
        self.addresses = addresses.iter().map(|a| a.octets()).collect();
        self.address_pointers = self
            .addresses
            .iter_mut()
            .map(|a| a.as_mut_ptr() as *mut c_char)
            .chain(std::iter::once(std::ptr::null_mut()))
            .collect();
        self.alias_pointers = [std::ptr::null_mut()];
        self.entry = hostent {
            h_name: self.name.as_ptr() as *mut c_char,
            h_aliases: self.alias_pointers.as_mut_ptr(),
            h_addrtype: libc::AF_INET,
            h_length: 4,
            h_addr_list: self.address_pointers.as_mut_ptr(),
        };
        &mut self.entry
    }
}

thread_local! {
    static HOST: RefCell<HostStorage> = RefCell::new(HostStorage {
        entry: hostent {
            h_name: std::ptr::null_mut(),
            h_aliases: std::ptr::null_mut(),
            h_addrtype: 0,
            h_length: 0,
            h_addr_list: std::ptr::null_mut(),
        },
        name: CString::default(),
        addresses: Vec::new(),
        address_pointers: Vec::new(),
        alias_pointers: [std::ptr::null_mut()],
    });
}

/// The IPv4 addresses of a host, as gethostbyname(3), but thread-safe: the result lives
/// in storage of the calling thread, so threads never overwrite each other's.
///
/// name: a host name or dotted address; must not be NULL.
/// Returns the entry (h_addrtype AF_INET, h_length 4, h_addr_list NULL-terminated), or
/// NULL with errno (ENOENT unknown host, EINVAL NULL or empty name, EAGAIN try again;
/// ENOMEM when called as the thread ends, from a pthread_key destructor or atexit).
/// Ownership: the entry belongs to prise and stays valid until the next
/// prise_gethostbyname() call on the same thread; do not free it.
#[no_mangle]
pub extern "C" fn prise_gethostbyname(name: *const c_char) -> *mut hostent {
    ffi_boundary!(|| trace::text(name), std::ptr::null_mut(), || {
        // SAFETY: the caller passes a NUL-terminated string or NULL.
        let name = unsafe { required_str(name, "name") }?;
        let (canonical, addresses) = resolve::host_ipv4(name)?;
        HOST.try_with(|storage| storage.borrow_mut().fill(canonical, &addresses))
            .map_err(|_| {
                Error::with_message(
                    Errno::ENOMEM,
                    "gethostbyname: this thread is ending: its storage for the result is gone",
                )
            })
    },)
}
