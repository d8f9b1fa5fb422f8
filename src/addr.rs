//! Socket addresses: one owned type for every family, converted to and from the C
//! `sockaddr_*` structures and from Rust's `std::net` types, and printed the way a
//! person writes an address (`127.0.0.1:80`, `[::1]:80`, `unix:/tmp/s`).

use std::fmt;
use std::mem::{size_of, size_of_val};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use nix::errno::Errno;

use crate::error::{Error, Result};

/// Any socket address, stored as the kernel sees it: a `sockaddr_storage` and a length.
#[derive(Clone, Copy)]
pub struct SockAddr {
    storage: libc::sockaddr_storage,
    len: libc::socklen_t,
}

/// Offset of `sun_path` in `sockaddr_un` (the family field comes first).
const SUN_PATH_OFFSET: usize = size_of::<libc::sa_family_t>();

impl SockAddr {
    /// The largest address length any family uses.
    pub const CAPACITY: usize = size_of::<libc::sockaddr_storage>();

    /// A zeroed address with room for any family, for the kernel to fill
    /// (accept, getsockname, recvfrom).
    pub fn for_kernel() -> SockAddr {
        SockAddr {
            // SAFETY: sockaddr_storage is plain data; all-zero is a valid value.
            storage: unsafe { std::mem::zeroed() },
            len: Self::CAPACITY as libc::socklen_t,
        }
    }

    /// Copies the bytes of a C address. The kernel judges the content; only a length
    /// that cannot be any address is refused here.
    pub fn from_bytes(bytes: &[u8]) -> Result<SockAddr> {
        Self::check_len(bytes.len())?;
        let mut addr = SockAddr::for_kernel();
        // SAFETY: storage is CAPACITY bytes long and bytes.len() <= CAPACITY.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), addr.as_mut_ptr() as *mut u8, bytes.len())
        };
        addr.len = bytes.len() as libc::socklen_t;
        Ok(addr)
    }

    /// Refuses a length no address of any family can have.
    pub fn check_len(len: usize) -> Result<()> {
        if len > Self::CAPACITY {
            return Err(Error::with_message(
                Errno::EINVAL,
                format!(
                    "address length {len} is larger than any socket address ({} bytes)",
                    Self::CAPACITY
                ),
            ));
        }
        Ok(())
    }

    /// A Unix-domain address. A leading `@` names the Linux abstract namespace; an
    /// empty path is the unnamed address (autobind). A path that does not fit
    /// `sun_path` (with its NUL) is ENAMETOOLONG, never cut.
    pub fn unix(path: &[u8]) -> Result<SockAddr> {
        let mut un: libc::sockaddr_un = unsafe { std::mem::zeroed() };
        un.sun_family = libc::AF_UNIX as libc::sa_family_t;
        let room = un.sun_path.len();
        let (bytes, abstract_ns) = match path.first() {
            Some(b'@') => (&path[1..], true),
            _ => (path, false),
        };
        if path.contains(&0) {
            return Err(Error::with_message(
                Errno::EINVAL,
                "Unix socket path contains a NUL byte",
            ));
        }
        // A filesystem path needs its terminating NUL; an abstract name starts with one.
        // Either way the text may take room - 1 bytes, and the message counts as the
        // kernel does: the name without its '@', and the NUL.
        if bytes.len() + 1 > room {
            let what = if abstract_ns {
                "abstract Unix name"
            } else {
                "Unix socket path"
            };
            let nul = if abstract_ns { "leading" } else { "final" };
            return Err(Error::with_message(
                Errno::ENAMETOOLONG,
                format!(
                    "{what} of {} bytes does not fit sun_path: its {room} bytes hold {} bytes \
                     and the {nul} NUL",
                    bytes.len(),
                    room - 1
                ),
            ));
        }
        let start = usize::from(abstract_ns);
        for (slot, byte) in un.sun_path[start..].iter_mut().zip(bytes) {
            *slot = *byte as libc::c_char;
        }
        let len = if path.is_empty() {
            SUN_PATH_OFFSET
        } else if abstract_ns {
            SUN_PATH_OFFSET + 1 + bytes.len()
        } else {
            SUN_PATH_OFFSET + bytes.len() + 1
        };
        Ok(Self::from_raw(&un, len))
    }

    /// Builds an address from a concrete C structure; `len` bytes of it are meaningful.
    fn from_raw<T>(value: &T, len: usize) -> SockAddr {
        debug_assert!(len <= size_of::<T>() && size_of::<T>() <= Self::CAPACITY);
        let mut addr = SockAddr::for_kernel();
        // SAFETY: T is a sockaddr_* structure no larger than sockaddr_storage.
        unsafe {
            std::ptr::copy_nonoverlapping(
                value as *const T as *const u8,
                addr.as_mut_ptr() as *mut u8,
                size_of_val(value),
            )
        };
        addr.len = len as libc::socklen_t;
        addr
    }

    pub fn as_ptr(&self) -> *const libc::sockaddr {
        &self.storage as *const libc::sockaddr_storage as *const libc::sockaddr
    }

    pub fn as_mut_ptr(&mut self) -> *mut libc::sockaddr {
        &mut self.storage as *mut libc::sockaddr_storage as *mut libc::sockaddr
    }

    pub fn len(&self) -> libc::socklen_t {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sets the length the kernel reported (never more than the storage holds).
    pub fn set_len(&mut self, len: libc::socklen_t) {
        self.len = len.min(Self::CAPACITY as libc::socklen_t);
    }

    /// The meaningful bytes, as a C caller would receive them.
    pub fn as_bytes(&self) -> &[u8] {
        // SAFETY: storage is CAPACITY bytes and len never exceeds it.
        unsafe { std::slice::from_raw_parts(self.as_ptr() as *const u8, self.len as usize) }
    }

    /// The address family, or AF_UNSPEC when the address is too short to have one.
    pub fn family(&self) -> libc::c_int {
        if (self.len as usize) < size_of::<libc::sa_family_t>() {
            return libc::AF_UNSPEC;
        }
        libc::c_int::from(self.storage.ss_family)
    }

    /// The IPv4 or IPv6 address as a Rust value, when it is one and long enough.
    pub fn to_std(&self) -> Option<SocketAddr> {
        let len = self.len as usize;
        match self.family() {
            libc::AF_INET if len >= size_of::<libc::sockaddr_in>() => {
                // SAFETY: family and length say this storage holds a sockaddr_in.
                let sin = unsafe { &*(self.as_ptr() as *const libc::sockaddr_in) };
                Some(SocketAddr::V4(SocketAddrV4::new(
                    Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)),
                    u16::from_be(sin.sin_port),
                )))
            }
            libc::AF_INET6 if len >= size_of::<libc::sockaddr_in6>() => {
                // SAFETY: family and length say this storage holds a sockaddr_in6.
                let sin6 = unsafe { &*(self.as_ptr() as *const libc::sockaddr_in6) };
                Some(SocketAddr::V6(SocketAddrV6::new(
                    Ipv6Addr::from(sin6.sin6_addr.s6_addr),
                    u16::from_be(sin6.sin6_port),
                    u32::from_be(sin6.sin6_flowinfo),
                    sin6.sin6_scope_id,
                )))
            }
            _ => None,
        }
    }

    /// The `sockaddr_in` of an IPv4 address.
    pub fn to_sockaddr_in(&self) -> Option<libc::sockaddr_in> {
        match self.to_std() {
            Some(SocketAddr::V4(_)) => {
                // SAFETY: to_std checked family and length.
                Some(unsafe { *(self.as_ptr() as *const libc::sockaddr_in) })
            }
            _ => None,
        }
    }

    /// The port of an IPv4 or IPv6 address.
    pub fn port(&self) -> Option<u16> {
        self.to_std().map(|a| a.port())
    }

    /// The Unix path bytes: `Some(b"")` for an unnamed socket, a leading `@` for the
    /// abstract namespace.
    pub fn unix_path(&self) -> Option<Vec<u8>> {
        if self.family() != libc::AF_UNIX {
            return None;
        }
        let path = &self.as_bytes()[SUN_PATH_OFFSET..];
        Some(match path.first() {
            None => Vec::new(),
            Some(0) => {
                let mut name = vec![b'@'];
                name.extend_from_slice(&path[1..]);
                name
            }
            Some(_) => path.iter().take_while(|b| **b != 0).copied().collect(),
        })
    }
}

impl From<SocketAddr> for SockAddr {
    fn from(addr: SocketAddr) -> SockAddr {
        match addr {
            SocketAddr::V4(v4) => SockAddr::from(v4),
            SocketAddr::V6(v6) => {
                let mut sin6: libc::sockaddr_in6 = unsafe { std::mem::zeroed() };
                sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                sin6.sin6_port = v6.port().to_be();
                sin6.sin6_flowinfo = v6.flowinfo().to_be();
                sin6.sin6_addr.s6_addr = v6.ip().octets();
                sin6.sin6_scope_id = v6.scope_id();
                SockAddr::from_raw(&sin6, size_of::<libc::sockaddr_in6>())
            }
        }
    }
}

impl From<SocketAddrV4> for SockAddr {
    fn from(v4: SocketAddrV4) -> SockAddr {
        let mut sin: libc::sockaddr_in = unsafe { std::mem::zeroed() };
        sin.sin_family = libc::AF_INET as libc::sa_family_t;
        sin.sin_port = v4.port().to_be();
        sin.sin_addr.s_addr = u32::from(*v4.ip()).to_be();
        SockAddr::from_raw(&sin, size_of::<libc::sockaddr_in>())
    }
}

impl PartialEq for SockAddr {
    fn eq(&self, other: &SockAddr) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for SockAddr {}

/// The name of an interface index, or the number when it has none.
fn scope_name(scope: u32) -> String {
    let mut name = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: the buffer has IF_NAMESIZE bytes, as if_indextoname requires.
    let found = unsafe { libc::if_indextoname(scope, name.as_mut_ptr()) };
    if found.is_null() {
        return scope.to_string();
    }
    // SAFETY: on success the buffer holds a NUL-terminated name.
    unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// The index of a scope named in "[fe80::1%eth0]:80": an interface name or a number.
fn scope_index(name: &str) -> Option<u32> {
    if let Ok(index) = name.parse() {
        return Some(index);
    }
    let name = std::ffi::CString::new(name).ok()?;
    // SAFETY: name is NUL-terminated.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (index != 0).then_some(index)
}

impl SockAddr {
    /// Reads an address written as [`fmt::Display`] writes it: "127.0.0.1:80",
    /// "[::1]:80", "[fe80::1%eth0]:80", "unix:/path", "unix:@abstract",
    /// "unix:(unnamed)", and "/path" or "@abstract" alone. Numeric only: a name such as
    /// "localhost:80" is for the resolver, and is refused here with EINVAL.
    pub fn parse(text: &str) -> Result<SockAddr> {
        let refuse = |why: &str| {
            Error::with_message(
                Errno::EINVAL,
                format!(
                    "\"{}\" is not an address ({why}): write 127.0.0.1:80, [::1]:80, \
                     unix:/path or @name",
                    crate::error::printable(text)
                ),
            )
        };
        if let Some(path) = text.strip_prefix("unix:") {
            return if path == "(unnamed)" {
                SockAddr::unix(b"")
            } else if path.is_empty() {
                Err(refuse("an empty Unix path"))
            } else {
                SockAddr::unix(path.as_bytes())
            };
        }
        if text.starts_with('/') || text.starts_with('@') {
            return SockAddr::unix(text.as_bytes());
        }
        let (host, port) = text.rsplit_once(':').ok_or_else(|| refuse("no :port"))?;
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return Err(refuse("the port is not digits"));
        }
        let port: u16 = port
            .parse()
            .map_err(|_| refuse("the port is not between 0 and 65535"))?;
        if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            let (ip, scope) = match inner.split_once('%') {
                Some((ip, scope)) => (
                    ip,
                    scope_index(scope).ok_or_else(|| refuse("no such interface"))?,
                ),
                None => (inner, 0),
            };
            let ip: Ipv6Addr = ip.parse().map_err(|_| refuse("not an IPv6 address"))?;
            return Ok(SockAddr::from(SocketAddr::V6(SocketAddrV6::new(
                ip, port, 0, scope,
            ))));
        }
        let ip: Ipv4Addr = host
            .parse()
            .map_err(|_| refuse("not a numeric IPv4 address; IPv6 goes in brackets"))?;
        Ok(SockAddr::from(SocketAddr::V4(SocketAddrV4::new(ip, port))))
    }
}

impl fmt::Display for SockAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(std) = self.to_std() {
            return match std {
                SocketAddr::V4(v4) => write!(f, "{v4}"),
                SocketAddr::V6(v6) if v6.scope_id() != 0 => write!(
                    f,
                    "[{}%{}]:{}",
                    v6.ip(),
                    scope_name(v6.scope_id()),
                    v6.port()
                ),
                SocketAddr::V6(v6) => write!(f, "[{}]:{}", v6.ip(), v6.port()),
            };
        }
        if let Some(path) = self.unix_path() {
            if path.is_empty() {
                return f.write_str("unix:(unnamed)");
            }
            // An abstract name may hold any byte, NUL and newline included.
            let text = String::from_utf8_lossy(&path);
            return write!(f, "unix:{}", crate::error::printable(&text));
        }
        match self.family() {
            libc::AF_UNSPEC => f.write_str("(no address)"),
            libc::AF_INET | libc::AF_INET6 => write!(
                f,
                "({} address too short: {} bytes)",
                family_name(self.family()),
                self.len
            ),
            other => write!(f, "({} address)", family_name(other)),
        }
    }
}

impl fmt::Debug for SockAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SockAddr({self})")
    }
}

/// `AF_INET` for 2, and so on: for messages and traces.
pub fn family_name(family: libc::c_int) -> String {
    match family {
        libc::AF_UNSPEC => "AF_UNSPEC".into(),
        libc::AF_INET => "AF_INET".into(),
        libc::AF_INET6 => "AF_INET6".into(),
        libc::AF_UNIX => "AF_UNIX".into(),
        other => format!("family {other}"),
    }
}

/// The socket type without the SOCK_CLOEXEC and SOCK_NONBLOCK flags.
pub fn base_type(socktype: libc::c_int) -> libc::c_int {
    socktype & !(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK)
}

/// `SOCK_STREAM` for 1, and so on (flags such as SOCK_CLOEXEC are shown after a `|`);
/// a value that is no known type is shown as the number given.
pub fn socktype_name(socktype: libc::c_int) -> String {
    let flags = socktype & (libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK);
    let base = match base_type(socktype) {
        libc::SOCK_STREAM => "SOCK_STREAM",
        libc::SOCK_DGRAM => "SOCK_DGRAM",
        libc::SOCK_RAW => "SOCK_RAW",
        libc::SOCK_SEQPACKET => "SOCK_SEQPACKET",
        _ => return socktype.to_string(),
    };
    let mut name = base.to_string();
    if flags & libc::SOCK_NONBLOCK != 0 {
        name.push_str("|SOCK_NONBLOCK");
    }
    if flags & libc::SOCK_CLOEXEC != 0 {
        name.push_str("|SOCK_CLOEXEC");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_round_trip_and_format() {
        let std: SocketAddr = "127.0.0.1:2023".parse().unwrap();
        let addr = SockAddr::from(std);
        assert_eq!(addr.family(), libc::AF_INET);
        assert_eq!(addr.len() as usize, size_of::<libc::sockaddr_in>());
        assert_eq!(addr.to_std(), Some(std));
        assert_eq!(addr.to_string(), "127.0.0.1:2023");
        let copy = SockAddr::from_bytes(addr.as_bytes()).unwrap();
        assert_eq!(copy, addr);
    }

    #[test]
    fn ipv6_formats_with_brackets_and_scope() {
        let addr = SockAddr::from("[::1]:80".parse::<SocketAddr>().unwrap());
        assert_eq!(addr.to_string(), "[::1]:80");
        let scoped = SockAddr::from(SocketAddr::V6(SocketAddrV6::new(
            "fe80::1".parse().unwrap(),
            80,
            0,
            1,
        )));
        // Interface 1 is the loopback on Linux; its name depends on the system.
        assert!(scoped.to_string().starts_with("[fe80::1%"));
        assert!(scoped.to_string().ends_with("]:80"));
    }

    #[test]
    fn unix_paths_abstract_unnamed_and_too_long() {
        let path = SockAddr::unix(b"/tmp/s").unwrap();
        assert_eq!(path.to_string(), "unix:/tmp/s");
        assert_eq!(path.len() as usize, SUN_PATH_OFFSET + 7);
        let abs = SockAddr::unix(b"@name").unwrap();
        assert_eq!(abs.to_string(), "unix:@name");
        assert_eq!(abs.len() as usize, SUN_PATH_OFFSET + 5);
        assert_eq!(SockAddr::unix(b"").unwrap().to_string(), "unix:(unnamed)");
        assert!(SockAddr::unix(&[b'a'; 107]).is_ok());
        let err = SockAddr::unix(&[b'a'; 108]).unwrap_err();
        assert_eq!(err.errno(), Errno::ENAMETOOLONG);
        assert!(err.message().contains("path of 108 bytes"), "{err}");
        assert!(err.message().contains("hold 107 bytes"), "{err}");
        // An abstract name is counted without its '@': 107 bytes fit, 108 do not.
        let mut name = vec![b'@'];
        name.extend_from_slice(&[b'a'; 107]);
        assert!(SockAddr::unix(&name).is_ok());
        name.push(b'a');
        let err = SockAddr::unix(&name).unwrap_err();
        assert!(
            err.message().starts_with("abstract Unix name of 108 bytes"),
            "{err}"
        );
        // Any byte may be in an abstract name: it is shown escaped.
        let odd = SockAddr::unix(b"@a\nb").unwrap();
        assert_eq!(odd.to_string(), "unix:@a\\nb");
        assert_eq!(
            SockAddr::unix(&[b'a'; 300]).unwrap_err().errno(),
            Errno::ENAMETOOLONG
        );
    }

    #[test]
    fn socket_types_known_by_name_others_by_value() {
        assert_eq!(socktype_name(libc::SOCK_STREAM), "SOCK_STREAM");
        assert_eq!(
            socktype_name(libc::SOCK_DGRAM | libc::SOCK_CLOEXEC),
            "SOCK_DGRAM|SOCK_CLOEXEC"
        );
        assert_eq!(socktype_name(-1), "-1");
        assert_eq!(socktype_name(12345), "12345");
        assert_eq!(socktype_name(0), "0");
    }

    #[test]
    fn short_or_oversized_bytes_never_misread() {
        assert_eq!(
            SockAddr::from_bytes(&[0u8; 200]).unwrap_err().errno(),
            Errno::EINVAL
        );
        let short = SockAddr::from_bytes(&(libc::AF_INET as u16).to_ne_bytes()).unwrap();
        assert_eq!(short.to_std(), None);
        assert!(short.to_string().contains("too short"));
        assert_eq!(SockAddr::from_bytes(&[]).unwrap().family(), libc::AF_UNSPEC);
    }

    #[test]
    fn parse_is_the_inverse_of_display() {
        for text in [
            "127.0.0.1:80",
            "0.0.0.0:0",
            "[::1]:2023",
            "[fe80::1%lo]:80",
            "unix:/tmp/x.sock",
            "unix:@abstract",
            "unix:(unnamed)",
        ] {
            let addr = SockAddr::parse(text).unwrap();
            assert_eq!(addr.to_string(), text, "{text}");
        }
        assert_eq!(SockAddr::parse("/p").unwrap().to_string(), "unix:/p");
        assert_eq!(SockAddr::parse("@n").unwrap().to_string(), "unix:@n");
        for bad in [
            "",
            "80",
            "localhost:80",
            "1.2.3.4:",
            "1.2.3.4:65536",
            "1.2.3.4: 80",
            "::1:80",
            "[::1]",
            "[::1]:x",
            "[fe80::1%nosuchif0]:1",
            "unix:",
            "1.2.3.4:-1",
        ] {
            let error = SockAddr::parse(bad).unwrap_err();
            assert_eq!(error.errno(), Errno::EINVAL, "{bad:?}");
            assert!(error.message().contains("is not an address"), "{bad:?}");
        }
        let long = format!("/{}", "p".repeat(200));
        assert_eq!(
            SockAddr::parse(&long).unwrap_err().errno(),
            Errno::ENAMETOOLONG
        );
    }
}
