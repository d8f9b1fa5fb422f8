//! Name resolution over the system resolver (getaddrinfo/getnameinfo), with the checks
//! glibc does not make: a numeric port must be 0–65535 (glibc silently truncates
//! "65536" to 0 and "99999999" to 57599), names may not be empty, and an IPv6 literal
//! may be written with brackets (`[::1]`).

use std::ffi::{CStr, CString};
use std::fmt;
use std::net::Ipv4Addr;
use std::ptr::NonNull;

use nix::errno::Errno;

use crate::addr::{base_type, family_name, socktype_name, SockAddr};
use crate::error::{shown, Error, Result};

/// What getaddrinfo is asked for (the fields of `struct addrinfo` hints that count).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hints {
    pub family: libc::c_int,
    pub socktype: libc::c_int,
    pub protocol: libc::c_int,
    pub flags: libc::c_int,
}

/// A list from libc's getaddrinfo, freed with freeaddrinfo on drop unless handed to C.
pub struct AddrInfoList(NonNull<libc::addrinfo>);

// SAFETY: the list is exclusively owned and libc's freeaddrinfo may run on any thread.
unsafe impl Send for AddrInfoList {}

/// One entry of an [`AddrInfoList`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrInfo {
    pub family: libc::c_int,
    pub socktype: libc::c_int,
    pub protocol: libc::c_int,
    pub addr: SockAddr,
    pub canonical_name: Option<CString>,
}

impl AddrInfoList {
    /// Gives the list to C; it is freed with libc's `freeaddrinfo`.
    pub fn into_raw(self) -> *mut libc::addrinfo {
        let raw = self.0.as_ptr();
        std::mem::forget(self);
        raw
    }

    pub fn iter(&self) -> impl Iterator<Item = AddrInfo> + '_ {
        let mut next = self.0.as_ptr() as *const libc::addrinfo;
        std::iter::from_fn(move || {
            // SAFETY: the list is owned by self and every ai_next is NULL or a node of it.
            let node = unsafe { next.as_ref()? };
            next = node.ai_next;
            let addr = if node.ai_addr.is_null() {
                SockAddr::from_bytes(&[]).ok()?
            } else {
                // SAFETY: ai_addr points to ai_addrlen bytes owned by the list.
                let bytes = unsafe {
                    std::slice::from_raw_parts(node.ai_addr as *const u8, node.ai_addrlen as usize)
                };
                SockAddr::from_bytes(bytes).ok()?
            };
            let canonical_name = (!node.ai_canonname.is_null())
                // SAFETY: a non-NULL ai_canonname is a NUL-terminated string of the list.
                .then(|| unsafe { CStr::from_ptr(node.ai_canonname) }.to_owned());
            Some(AddrInfo {
                family: node.ai_family,
                socktype: node.ai_socktype,
                protocol: node.ai_protocol,
                addr,
                canonical_name,
            })
        })
    }

    pub fn first(&self) -> AddrInfo {
        self.iter()
            .next()
            .expect("getaddrinfo success returns at least one entry")
    }
}

impl Drop for AddrInfoList {
    fn drop(&mut self) {
        // SAFETY: the list came from getaddrinfo and is freed once.
        unsafe { libc::freeaddrinfo(self.0.as_ptr()) }
    }
}

/// `"host" port "service"` for messages, with NULLs shown as the defaults they mean.
pub struct Target<'a> {
    pub host: Option<&'a CStr>,
    pub service: Option<&'a CStr>,
}

impl fmt::Display for Target<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.host {
            Some(host) => write!(f, "host \"{}\"", shown(host.to_bytes()))?,
            None => f.write_str("any address")?,
        }
        match self.service {
            Some(service) => write!(f, " port \"{}\"", shown(service.to_bytes())),
            None => Ok(()),
        }
    }
}

/// A request refused before the resolver is asked, with the reason in prise's words.
fn invalid(code: i32, target: &Target<'_>, why: &str) -> Error {
    Error::resolution_refused(code, format!("resolve {target}: {why}"))
}

/// The usual cause of a resolver failure, for a learner.
fn explain_gai(code: i32, hints: &Hints) -> Option<String> {
    Some(match code {
        libc::EAI_NONAME | libc::EAI_NODATA => "check the spelling of the host name".into(),
        libc::EAI_SERVICE => {
            "no such service name: give a port number (0-65535) or a name from /etc/services".into()
        }
        libc::EAI_FAMILY | crate::error::EAI_ADDRFAMILY => {
            format!("the host has no {} address", family_name(hints.family))
        }
        libc::EAI_SOCKTYPE => format!(
            "socket type {} is not supported",
            socktype_name(hints.socktype)
        ),
        libc::EAI_AGAIN => "the name server did not answer: try again later".into(),
        _ => return None,
    })
}

/// A numeric port is 0–65535; anything with a sign or too large is refused here rather
/// than silently truncated by glibc, and so is a blank anywhere (glibc takes " 80" and
/// refuses "80 "). Names ("http") are left to the resolver.
fn check_service(service: &CStr, target: &Target<'_>) -> Result<()> {
    let text = service.to_bytes();
    if text.trim_ascii().is_empty() {
        return Err(invalid(libc::EAI_SERVICE, target, "the port is empty"));
    }
    if text
        .iter()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        return Err(invalid(
            libc::EAI_SERVICE,
            target,
            "invalid port: a port is digits only, without blanks",
        ));
    }
    let numeric = text
        .strip_prefix(b"+")
        .or(text.strip_prefix(b"-"))
        .unwrap_or(text);
    if !numeric.is_empty() && numeric.iter().all(u8::is_ascii_digit) {
        let in_range = text[0].is_ascii_digit()
            && std::str::from_utf8(text)
                .ok()
                .and_then(|t| t.parse::<u32>().ok())
                .is_some_and(|port| port <= 65535);
        if !in_range {
            return Err(invalid(
                libc::EAI_SERVICE,
                target,
                "invalid port: a port is a number from 0 to 65535",
            ));
        }
    }
    Ok(())
}

/// `[::1]` → `::1`, so IPv6 literals may be written as in URLs.
fn strip_brackets(host: &CStr) -> Option<CString> {
    let bytes = host.to_bytes();
    let inner = bytes.strip_prefix(b"[")?.strip_suffix(b"]")?;
    CString::new(inner).ok()
}

/// getaddrinfo(3) with prise's checks. `host` or `service` may be None, not both.
pub fn getaddrinfo(
    host: Option<&CStr>,
    service: Option<&CStr>,
    hints: &Hints,
) -> Result<AddrInfoList> {
    let target = Target { host, service };
    if let Some(service) = service {
        if base_type(hints.socktype) == libc::SOCK_RAW {
            // glibc's answer would speak of service names.
            return Err(invalid(
                libc::EAI_SERVICE,
                &target,
                "a raw socket (SOCK_RAW) has no port: give no service",
            ));
        }
        check_service(service, &target)?;
    }
    if host.is_some_and(|h| h.is_empty()) {
        return Err(invalid(libc::EAI_NONAME, &target, "the host name is empty"));
    }
    if host.is_none() && service.is_none() {
        return Err(invalid(
            libc::EAI_NONAME,
            &target,
            "nothing to resolve: give a host, a port, or both",
        ));
    }
    let unbracketed = host.and_then(strip_brackets);
    let host = unbracketed.as_deref().or(host);

    // SAFETY: addrinfo is plain data; all-zero is the documented way to start hints.
    let mut c_hints: libc::addrinfo = unsafe { std::mem::zeroed() };
    c_hints.ai_family = hints.family;
    c_hints.ai_socktype = hints.socktype;
    c_hints.ai_protocol = hints.protocol;
    c_hints.ai_flags = hints.flags;
    let mut res: *mut libc::addrinfo = std::ptr::null_mut();
    // SAFETY: the strings are NUL-terminated or NULL, hints is initialised, res is a
    // valid out-pointer.
    let code = unsafe {
        libc::getaddrinfo(
            host.map_or(std::ptr::null(), CStr::as_ptr),
            service.map_or(std::ptr::null(), CStr::as_ptr),
            &c_hints,
            &mut res,
        )
    };
    if code != 0 {
        return Err(resolution_error(code, Errno::last(), &target, hints));
    }
    NonNull::new(res).map(AddrInfoList).ok_or_else(|| {
        Error::resolution(
            libc::EAI_FAIL,
            Errno::UnknownErrno,
            format!("resolve {target}"),
        )
    })
}

/// Why the resolver refused `target`: its reason and the usual cause. `system_errno` is
/// errno at the time, for `EAI_SYSTEM`.
pub fn resolution_error(
    code: i32,
    system_errno: Errno,
    target: &Target<'_>,
    hints: &Hints,
) -> Error {
    let error = Error::resolution(code, system_errno, format!("resolve {target}"));
    match explain_gai(code, hints) {
        Some(hint) => error.hint(hint),
        None => error,
    }
}

/// getnameinfo(3) into the caller's buffers (an empty slice: not wanted).
pub fn getnameinfo(
    addr: &SockAddr,
    host: &mut [u8],
    service: &mut [u8],
    flags: libc::c_int,
) -> Result<()> {
    let host_len = libc::socklen_t::try_from(host.len()).unwrap_or(libc::socklen_t::MAX);
    let service_len = libc::socklen_t::try_from(service.len()).unwrap_or(libc::socklen_t::MAX);
    let host_ptr = if host.is_empty() {
        std::ptr::null_mut()
    } else {
        host.as_mut_ptr().cast()
    };
    let service_ptr = if service.is_empty() {
        std::ptr::null_mut()
    } else {
        service.as_mut_ptr().cast()
    };
    // SAFETY: addr is valid for its length; each buffer is NULL or valid for its length.
    let code = unsafe {
        libc::getnameinfo(
            addr.as_ptr(),
            addr.len(),
            host_ptr,
            host_len,
            service_ptr,
            service_len,
            flags,
        )
    };
    if code != 0 {
        return Err(Error::resolution(
            code,
            Errno::last(),
            format!("getnameinfo of {addr}"),
        ));
    }
    Ok(())
}

/// The numeric host and port of an address, as getnameinfo writes them.
pub fn numeric_host_port(addr: &SockAddr) -> Result<(String, String)> {
    let mut host = [0u8; libc::NI_MAXHOST as usize];
    let mut service = [0u8; 32];
    getnameinfo(
        addr,
        &mut host,
        &mut service,
        libc::NI_NUMERICHOST | libc::NI_NUMERICSERV,
    )?;
    let text = |buf: &[u8]| {
        CStr::from_bytes_until_nul(buf)
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    Ok((text(&host), text(&service)))
}

/// What gethostbyname reports: the canonical name and the IPv4 addresses, in order,
/// without repeats.
pub fn host_ipv4(name: &CStr) -> Result<(CString, Vec<Ipv4Addr>)> {
    let hints = Hints {
        family: libc::AF_INET,
        socktype: libc::SOCK_STREAM,
        flags: libc::AI_CANONNAME,
        ..Hints::default()
    };
    let list = getaddrinfo(Some(name), None, &hints)?;
    let mut addresses = Vec::new();
    let mut canonical = None;
    for entry in list.iter() {
        canonical = canonical.or(entry.canonical_name);
        if let Some(std::net::SocketAddr::V4(v4)) = entry.addr.to_std() {
            if !addresses.contains(v4.ip()) {
                addresses.push(*v4.ip());
            }
        }
    }
    Ok((canonical.unwrap_or_else(|| name.to_owned()), addresses))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> CString {
        CString::new(s).unwrap()
    }

    fn resolve(host: Option<&str>, service: Option<&str>) -> Result<AddrInfoList> {
        let host = host.map(c);
        let service = service.map(c);
        let hints = Hints {
            socktype: libc::SOCK_STREAM,
            ..Hints::default()
        };
        getaddrinfo(host.as_deref(), service.as_deref(), &hints)
    }

    #[test]
    fn numeric_addresses_resolve() {
        let list = resolve(Some("127.0.0.1"), Some("2023")).unwrap();
        assert_eq!(list.first().addr.to_string(), "127.0.0.1:2023");
        let list = resolve(Some("[::1]"), Some("80")).unwrap();
        assert_eq!(list.first().addr.to_string(), "[::1]:80");
        let list = resolve(Some("::1"), Some("65535")).unwrap();
        assert_eq!(list.first().addr.port(), Some(65535));
    }

    #[test]
    fn bad_ports_are_refused_not_truncated() {
        for port in [
            "65536", "99999999", "-1", "+80", "", "   ", " 80", "80 ", "8 0", "\t80",
        ] {
            let err = resolve(Some("127.0.0.1"), Some(port)).err().unwrap();
            assert_eq!(err.gai(), Some(libc::EAI_SERVICE), "port {port:?}");
            assert_eq!(err.errno(), Errno::EINVAL);
        }
        let err = resolve(Some("127.0.0.1"), Some("abc")).err().unwrap();
        assert_eq!(err.gai(), Some(libc::EAI_SERVICE));
        assert!(err.message().contains("\"abc\""), "{err}");
    }

    #[test]
    fn raw_sockets_have_no_port() {
        let hints = Hints {
            family: libc::AF_INET,
            socktype: libc::SOCK_RAW,
            ..Hints::default()
        };
        let err = getaddrinfo(Some(&c("127.0.0.1")), Some(&c("80")), &hints)
            .err()
            .unwrap();
        assert_eq!(err.gai(), Some(libc::EAI_SERVICE));
        assert!(err.message().contains("SOCK_RAW"), "{err}");
        assert!(!err.message().contains("ervice name"), "{err}");
        assert!(getaddrinfo(Some(&c("127.0.0.1")), None, &hints).is_ok());
    }

    #[test]
    fn names_with_control_characters_stay_on_one_line() {
        let err = resolve(Some("a\nprise: forged"), Some("99999"))
            .err()
            .unwrap();
        assert!(
            err.message().contains("host \"a\\nprise: forged\""),
            "{err}"
        );
    }

    #[test]
    fn unknown_and_empty_hosts() {
        let err = resolve(Some("nosuchhost.invalid"), Some("80"))
            .err()
            .unwrap();
        assert!(err.gai().is_some());
        assert!(err.message().contains("nosuchhost.invalid"));
        let err = resolve(Some(""), Some("80")).err().unwrap();
        assert_eq!(err.gai(), Some(libc::EAI_NONAME));
        let err = resolve(None, None).err().unwrap();
        assert_eq!(err.gai(), Some(libc::EAI_NONAME));
        let long = "a".repeat(4096);
        assert!(resolve(Some(&long), Some("80")).is_err());
    }

    #[test]
    fn reverse_and_hostent_data() {
        let list = resolve(Some("127.0.0.1"), Some("7")).unwrap();
        let (host, port) = numeric_host_port(&list.first().addr).unwrap();
        assert_eq!((host.as_str(), port.as_str()), ("127.0.0.1", "7"));
        let (_, addrs) = host_ipv4(&c("localhost")).unwrap();
        assert!(addrs.contains(&Ipv4Addr::LOCALHOST));
    }
}
