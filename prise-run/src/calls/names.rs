//! Name resolution: getaddrinfo, gethostbyname, getnameinfo, with the addresses found
//! and, on failure, prise's sentence for the resolver's answer.

use std::ffi::{c_char, c_int, CStr};
use std::net::{Ipv4Addr, Ipv6Addr};

use libc::{addrinfo, hostent, sockaddr, socklen_t};
use nix::errno::Errno;
use prise::addr::{family_name, socktype_name};
use prise::resolve::{resolution_error, Hints, Target};

use super::address;
use crate::{real, show, tracer};

extern "C" {
    /// glibc's per-thread h_errno, set by gethostbyname.
    fn __h_errno_location() -> *mut c_int;
}

/// Addresses as a list for the line, at most a few.
fn listed(addresses: impl Iterator<Item = String>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for address in addresses {
        if !seen.contains(&address) {
            seen.push(address);
        }
    }
    const SHOWN: usize = 6;
    let more = seen.len().saturating_sub(SHOWN);
    seen.truncate(SHOWN);
    let mut text = seen.join(" ");
    if more > 0 {
        text.push_str(&format!(" and {more} more"));
    }
    text
}

#[no_mangle]
pub unsafe extern "C" fn getaddrinfo(
    host: *const c_char,
    service: *const c_char,
    hints: *const addrinfo,
    result: *mut *mut addrinfo,
) -> c_int {
    if tracer::busy() {
        return real::getaddrinfo(host, service, hints, result);
    }
    let code = real::getaddrinfo(host, service, hints, result);
    let saved_errno = crate::errno::get();
    tracer::emit(false, || {
        let asked = hints.as_ref().map(|h| Hints {
            family: h.ai_family,
            socktype: h.ai_socktype,
            protocol: h.ai_protocol,
            flags: h.ai_flags,
        });
        let hints_text = match &asked {
            None => "NULL".to_string(),
            Some(h) => {
                let mut parts = vec![family_name(h.family), socktype_name(h.socktype)];
                if h.flags != 0 {
                    parts.push(show::ai_flags(h.flags));
                }
                format!("{{{}}}", parts.join(", "))
            }
        };
        let args = format!(
            "{}, {}, {hints_text}",
            prise::ffi::trace::text(host),
            prise::ffi::trace::text(service)
        );
        if code != 0 {
            let target = Target {
                host: (!host.is_null()).then(|| CStr::from_ptr(host)),
                service: (!service.is_null()).then(|| CStr::from_ptr(service)),
            };
            let error = resolution_error(
                code,
                Errno::from_raw(saved_errno),
                &target,
                &asked.unwrap_or_default(),
            );
            return prise::ffi::trace::line("getaddrinfo", &args, &code.to_string(), Some(&error));
        }
        let mut node = if result.is_null() {
            std::ptr::null()
        } else {
            *result as *const addrinfo
        };
        let found = std::iter::from_fn(|| {
            let entry = node.as_ref()?;
            node = entry.ai_next;
            Some(address(entry.ai_addr, entry.ai_addrlen).map_or("?".into(), |a| a.to_string()))
        });
        prise::ffi::trace::line("getaddrinfo", &args, &format!("0, {}", listed(found)), None)
    });
    code
}

/// The resolver's code for an h_errno value (netdb.h's HOST_NOT_FOUND 1, TRY_AGAIN 2,
/// NO_RECOVERY 3, NO_DATA 4), so prise's sentences apply.
fn gai_code_of_h_errno(h_errno: c_int) -> c_int {
    match h_errno {
        1 => libc::EAI_NONAME,
        2 => libc::EAI_AGAIN,
        4 => libc::EAI_NODATA,
        _ => libc::EAI_FAIL,
    }
}

#[no_mangle]
pub unsafe extern "C" fn gethostbyname(name: *const c_char) -> *mut hostent {
    if tracer::busy() {
        return real::gethostbyname(name);
    }
    let found = real::gethostbyname(name);
    let saved_errno = crate::errno::get();
    let h_errno = *__h_errno_location();
    tracer::emit(false, || {
        let args = prise::ffi::trace::text(name);
        let Some(entry) = found.as_ref() else {
            let target = Target {
                host: (!name.is_null()).then(|| CStr::from_ptr(name)),
                service: None,
            };
            let hints = Hints {
                family: libc::AF_INET,
                ..Hints::default()
            };
            let error = resolution_error(
                gai_code_of_h_errno(h_errno),
                Errno::from_raw(saved_errno),
                &target,
                &hints,
            );
            return prise::ffi::trace::line("gethostbyname", &args, "NULL", Some(&error));
        };
        let mut index = 0;
        let addresses = std::iter::from_fn(|| {
            if entry.h_addr_list.is_null() {
                return None;
            }
            let raw = *entry.h_addr_list.add(index);
            index += 1;
            if raw.is_null() {
                return None;
            }
            Some(match entry.h_length {
                4 => Ipv4Addr::from(*(raw as *const [u8; 4])).to_string(),
                16 => Ipv6Addr::from(*(raw as *const [u8; 16])).to_string(),
                _ => "?".into(),
            })
        });
        prise::ffi::trace::line("gethostbyname", &args, &listed(addresses), None)
    });
    found
}

#[no_mangle]
pub unsafe extern "C" fn getnameinfo(
    addr: *const sockaddr,
    addr_len: socklen_t,
    host: *mut c_char,
    host_len: socklen_t,
    service: *mut c_char,
    service_len: socklen_t,
    flags: c_int,
) -> c_int {
    if tracer::busy() {
        return real::getnameinfo(addr, addr_len, host, host_len, service, service_len, flags);
    }
    let code = real::getnameinfo(addr, addr_len, host, host_len, service, service_len, flags);
    let saved_errno = crate::errno::get();
    tracer::emit(false, || {
        let args = format!(
            "{}, {}",
            prise::ffi::trace::addr(addr, addr_len),
            show::ni_flags(flags)
        );
        if code != 0 {
            let what = match address(addr, addr_len) {
                Some(a) => format!("getnameinfo of {a}"),
                None => "getnameinfo".to_string(),
            };
            let error = prise::Error::resolution(code, Errno::from_raw(saved_errno), what);
            return prise::ffi::trace::line("getnameinfo", &args, &code.to_string(), Some(&error));
        }
        let text = |ptr: *const c_char, len: socklen_t| {
            if ptr.is_null() || len == 0 {
                "NULL".to_string()
            } else {
                prise::ffi::trace::text(ptr)
            }
        };
        let value = format!("0, {} {}", text(host, host_len), text(service, service_len));
        prise::ffi::trace::line("getnameinfo", &args, &value, None)
    });
    code
}
