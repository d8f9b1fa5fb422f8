//! The course's helper API (getAddrInfo, creerSock, bindedSocket, …) in safe Rust,
//! with the course's semantics (IPv4 only, passive lookup, NULL host = 0.0.0.0,
//! NULL service = port 0) and without its faults (leaks, crashes, SIGPIPE, stale errno).

use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use crate::addr::{base_type, SockAddr};
use crate::error::{Error, Result};
use crate::resolve::{self, AddrInfoList, Hints};
use crate::socket;

/// The course's lookup: AF_INET, AI_PASSIVE, the given socket type. A raw socket has
/// no port: its NULL service stays NULL (and its NULL host is 0.0.0.0).
pub fn resolve_v4(
    host: Option<&CStr>,
    service: Option<&CStr>,
    socktype: libc::c_int,
) -> Result<AddrInfoList> {
    // The resolver knows the base types only; socket() gets the flags (SOCK_CLOEXEC,
    // SOCK_NONBLOCK) the course passed straight to it.
    let hints = Hints {
        family: libc::AF_INET,
        socktype: base_type(socktype),
        protocol: 0,
        flags: libc::AI_PASSIVE,
    };
    if base_type(socktype) == libc::SOCK_RAW && service.is_none() {
        return resolve::getaddrinfo(Some(host.unwrap_or(c"0.0.0.0")), None, &hints);
    }
    resolve::getaddrinfo(host, Some(service.unwrap_or(c"0")), &hints)
}

/// Resolves and opens an unbound socket of the first address's family and type.
pub fn open_socket(
    host: Option<&CStr>,
    service: Option<&CStr>,
    socktype: libc::c_int,
) -> Result<(OwnedFd, SockAddr)> {
    let list = resolve_v4(host, service, socktype)?;
    let mut last_error = None;
    let flags = socktype & !base_type(socktype);
    for entry in list.iter() {
        match socket::new_socket(entry.family, entry.socktype | flags, entry.protocol) {
            Ok(fd) => return Ok((fd, entry.addr)),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| Error::with_message(Errno::ENOENT, "no address to open")))
}

/// Why bindedSocket failed: the course returns -1 for the first, -2 for the second.
#[derive(Debug)]
pub enum BindFailure {
    Setup(Error),
    Bind(Error),
}

/// Whether bindedSocket sets SO_REUSEADDR before binding: generations 2 and 3 of the
/// course's helper do, generation 1 (and SockUdp) does not. prise sets it on stream
/// sockets only: it is for TCP's TIME_WAIT, and on UDP it would let two sockets share a
/// port, so that a port in use would not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReuseAddress {
    Yes,
    No,
}

/// Creates a socket, sets SO_REUSEADDR when asked (on a stream socket), binds it;
/// returns it with the address actually bound (an ephemeral port is filled in).
pub fn binded_socket(
    host: Option<&CStr>,
    service: Option<&CStr>,
    socktype: libc::c_int,
    reuse: ReuseAddress,
) -> std::result::Result<(OwnedFd, SockAddr), BindFailure> {
    let (fd, addr) = open_socket(host, service, socktype).map_err(BindFailure::Setup)?;
    let reuse = if base_type(socktype) == libc::SOCK_STREAM {
        reuse
    } else {
        ReuseAddress::No
    };
    let actual = bind_opened(fd.as_raw_fd(), &addr, reuse)?;
    Ok((fd, actual))
}

/// The binding half of [`binded_socket`], for a socket the caller keeps even when the
/// bind fails (the course's SockUdp does).
pub fn bind_opened(
    fd: RawFd,
    addr: &SockAddr,
    reuse: ReuseAddress,
) -> std::result::Result<SockAddr, BindFailure> {
    if reuse == ReuseAddress::Yes {
        socket::set_int_option(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)
            .map_err(BindFailure::Setup)?;
    }
    socket::bind(fd, addr).map_err(BindFailure::Bind)?;
    socket::getsockname(fd).map_err(BindFailure::Setup)
}

/// A port given as an `int` (generation 1 of the course's helper) as the service text
/// the resolver takes. The course truncated any int to 16 bits; prise refuses what is
/// not a port.
pub fn int_port(port: libc::c_int) -> Result<CString> {
    let port = u16::try_from(port).map_err(|_| {
        Error::with_message(
            Errno::EINVAL,
            format!("port {port} is not a port number (0 to 65535)"),
        )
    })?;
    Ok(CString::new(port.to_string()).expect("digits have no NUL"))
}

/// The host generation 1 uses: its helper resolved the host with gethostbyname and, when
/// that failed, printed its perror and went on with 0.0.0.0 (INADDR_ANY). Returns the
/// host to use (None: 0.0.0.0) and, when the name did not resolve, the failure to print,
/// so that a program that does not check still gets an address or a socket.
pub fn generation1_host<'a>(
    host: Option<&'a CStr>,
    service: &CStr,
    socktype: libc::c_int,
) -> (Option<&'a CStr>, Option<Error>) {
    match host.map(|_| resolve_v4(host, Some(service), socktype)) {
        Some(Err(error)) if error.gai().is_some() => {
            let sentence = format!(
                "{}; using 0.0.0.0 instead, as the course's helper did",
                error.message()
            );
            (None, Some(Error::with_message(error.errno(), sentence)))
        }
        _ => (host, None),
    }
}

/// Whether `address` lies in a mapped page of this process: a value that is not cannot
/// be a pointer a caller meant, so the course's ABI check reads it as the int a
/// generation-1 program passed in that place.
pub fn is_mapped(address: usize) -> bool {
    // SAFETY: sysconf has no memory argument.
    let page = match unsafe { libc::sysconf(libc::_SC_PAGESIZE) } {
        size if size > 0 => size as usize,
        _ => 4096,
    };
    let mut residency = 0u8;
    // SAFETY: mincore reads no memory of ours; it writes one byte per page of the range,
    // here one page, into `residency`. An unmapped page is ENOMEM, not a fault.
    unsafe {
        libc::mincore(
            (address & !(page - 1)) as *mut libc::c_void,
            1,
            &mut residency as *mut u8 as *mut _,
        ) == 0
    }
}

/// `ADDRESS <numeric host>:<numeric port>`, the text of the course's getNameInfo.
pub fn address_text(addr: &SockAddr) -> Result<String> {
    if addr.family() != libc::AF_INET {
        return Err(Error::with_message(
            Errno::EAFNOSUPPORT,
            format!("getNameInfo takes an IPv4 address (sockaddr_in), not {addr}"),
        ));
    }
    let (host, port) = resolve::numeric_host_port(addr)?;
    Ok(format!("ADDRESS {host}:{port}"))
}

/// Prints the course function's failure on stderr, as the course does with perror,
/// unless PRISE_QUIET=1.
pub fn report(call: &str, error: &Error) {
    let quiet = std::env::var_os("PRISE_QUIET").is_some_and(|v| v == "1");
    if !quiet {
        crate::io::print_stderr(&format!("{call}: {}\n", error.message()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_host_and_service_mean_any_address_port_zero() {
        let list = resolve_v4(None, None, libc::SOCK_STREAM).unwrap();
        assert_eq!(list.first().addr.to_string(), "0.0.0.0:0");
    }

    #[test]
    fn binded_socket_reports_the_ephemeral_port() {
        let (fd, addr) = binded_socket(
            Some(c"127.0.0.1"),
            None,
            libc::SOCK_STREAM,
            ReuseAddress::Yes,
        )
        .unwrap();
        assert_eq!(addr.family(), libc::AF_INET);
        assert_ne!(addr.port(), Some(0));
        // A second bind to a listening port fails at the bind step: the course's -2.
        socket::listen(fd.as_raw_fd(), 1).unwrap();
        let port = addr.port().unwrap().to_string();
        let port = std::ffi::CString::new(port).unwrap();
        let again = binded_socket(
            Some(c"127.0.0.1"),
            Some(&port),
            libc::SOCK_STREAM,
            ReuseAddress::Yes,
        );
        assert!(matches!(again, Err(BindFailure::Bind(ref e)) if e.errno() == Errno::EADDRINUSE));
    }

    #[test]
    fn a_udp_port_in_use_is_a_bind_failure() {
        let (_held, addr) = binded_socket(
            Some(c"127.0.0.1"),
            None,
            libc::SOCK_DGRAM,
            ReuseAddress::Yes,
        )
        .unwrap();
        let port = std::ffi::CString::new(addr.port().unwrap().to_string()).unwrap();
        let again = binded_socket(
            Some(c"127.0.0.1"),
            Some(&port),
            libc::SOCK_DGRAM,
            ReuseAddress::Yes,
        );
        assert!(matches!(again, Err(BindFailure::Bind(ref e)) if e.errno() == Errno::EADDRINUSE));
    }

    #[test]
    fn generation1_goes_on_with_any_address_for_an_unknown_host() {
        let (host, failure) =
            generation1_host(Some(c"nosuchhost.invalid"), c"7", libc::SOCK_STREAM);
        assert!(host.is_none());
        assert!(failure.unwrap().message().contains("using 0.0.0.0 instead"));
        let (host, failure) = generation1_host(Some(c"127.0.0.1"), c"7", libc::SOCK_STREAM);
        assert_eq!(host, Some(c"127.0.0.1"));
        assert!(failure.is_none());
    }

    #[test]
    fn small_and_unmapped_values_are_not_mapped_pages() {
        let on_stack = 0u8;
        assert!(is_mapped(&on_stack as *const u8 as usize));
        assert!(is_mapped(c"text".as_ptr() as usize));
        for value in [1usize, 2013, 65535, 70000, 0x8_0001, 0xffff_ffff] {
            assert!(!is_mapped(value), "{value:#x}");
        }
    }

    #[test]
    fn int_ports_are_checked_not_truncated() {
        assert_eq!(int_port(0).unwrap().as_bytes(), b"0");
        assert_eq!(int_port(65535).unwrap().as_bytes(), b"65535");
        for bad in [-1, 65536, 70000, libc::c_int::MIN] {
            assert_eq!(int_port(bad).unwrap_err().errno(), Errno::EINVAL, "{bad}");
        }
    }

    #[test]
    fn address_text_is_numeric() {
        let addr = SockAddr::from("127.0.0.1:2023".parse::<std::net::SocketAddr>().unwrap());
        assert_eq!(address_text(&addr).unwrap(), "ADDRESS 127.0.0.1:2023");
        let v6 = SockAddr::from("[::1]:1".parse::<std::net::SocketAddr>().unwrap());
        assert_eq!(address_text(&v6).unwrap_err().errno(), Errno::EAFNOSUPPORT);
    }
}
