//! Internet sockets, TCP and UDP, as a C programmer reaches for them first (UNP's
//! tcp_connect and tcp_listen; Python's create_connection and
//! create_server(dual_stack=True)): resolve host and port, try every address, and say
//! which step failed and why.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use crate::addr::SockAddr;
use crate::error::{Error, Result};
use crate::resolve::{self, Hints, Target};
use crate::socket;

fn resolve_for(
    host: Option<&CStr>,
    service: &CStr,
    socktype: libc::c_int,
    passive: bool,
) -> Result<resolve::AddrInfoList> {
    // No AI_ADDRCONFIG: glibc answers it under a lock of its own that a fork() made while
    // another thread held it leaves locked for ever in the child; an address of a family
    // this host lacks just fails at once and the next one is tried.
    let hints = Hints {
        family: libc::AF_UNSPEC,
        socktype,
        protocol: 0,
        flags: if passive { libc::AI_PASSIVE } else { 0 },
    };
    resolve::getaddrinfo(host, Some(service), &hints)
}

/// Tries every address in order with `attempt` until one works; the failure names every
/// address tried and keeps the errno of the last attempt.
fn try_each(
    list: &resolve::AddrInfoList,
    what: &str,
    target: &Target<'_>,
    mut attempt: impl FnMut(&resolve::AddrInfo) -> Result<OwnedFd>,
) -> Result<OwnedFd> {
    let mut tried = Vec::new();
    let mut last: Option<Error> = None;
    for entry in list.iter() {
        match attempt(&entry) {
            Ok(fd) => return Ok(fd),
            Err(error) => {
                tried.push(entry.addr.to_string());
                last = Some(error);
            }
        }
    }
    let last = last.unwrap_or_else(|| Error::with_message(Errno::ENOENT, "no address"));
    if tried.len() == 1 {
        return Err(last);
    }
    Err(Error::with_message(
        last.errno(),
        format!(
            "{what} {target}: every address failed (tried {}); last: {}",
            tried.join(", "),
            last.message()
        ),
    ))
}

/// Connects a TCP socket to host:service, trying every address (IPv6 and IPv4) in order.
pub fn tcp_connect(host: &CStr, service: &CStr, timeout: Option<Duration>) -> Result<OwnedFd> {
    connect_first(host, service, libc::SOCK_STREAM, timeout)
}

/// A socket of `socktype` connected to the first address of host:service that answers;
/// each attempt bounded by `timeout` when given.
fn connect_first(
    host: &CStr,
    service: &CStr,
    socktype: libc::c_int,
    timeout: Option<Duration>,
) -> Result<OwnedFd> {
    let list = resolve_for(Some(host), service, socktype, false)?;
    let target = Target {
        host: Some(host),
        service: Some(service),
    };
    try_each(&list, "connect to", &target, |entry| {
        let fd = socket::new_socket(entry.family, entry.socktype, entry.protocol)?;
        match timeout {
            None => socket::connect(fd.as_raw_fd(), &entry.addr)?,
            Some(limit) => connect_within(fd.as_raw_fd(), &entry.addr, limit)?,
        }
        Ok(fd)
    })
}

/// A non-blocking connect bounded by `limit`; the socket is blocking again afterwards.
fn connect_within(fd: RawFd, addr: &SockAddr, limit: Duration) -> Result<()> {
    socket::set_nonblocking(fd, true)?;
    match socket::connect(fd, addr) {
        Ok(()) => return socket::set_nonblocking(fd, false),
        Err(e) if e.errno() == Errno::EINPROGRESS => {}
        Err(e) => return Err(e),
    }
    let deadline = Instant::now() + limit;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let millis = libc::c_int::try_from(left.as_millis()).unwrap_or(libc::c_int::MAX);
        match socket::poll_one(fd, libc::POLLOUT, millis) {
            Ok(false) if left.is_zero() => {
                return Err(
                    Error::new(Errno::ETIMEDOUT, format!("connect socket {fd} to {addr}"))
                        .hint(format!("no answer within {} ms", limit.as_millis())),
                );
            }
            Ok(false) => continue,
            Ok(true) => break,
            Err(e) if e.errno() == Errno::EINTR => continue,
            Err(e) => {
                return Err(Error::new(
                    e.errno(),
                    format!("poll while connecting to {addr}"),
                ))
            }
        }
    }
    let pending = socket::get_int_option(fd, libc::SOL_SOCKET, libc::SO_ERROR)?;
    if pending != 0 {
        let errno = Errno::from_raw(pending);
        let error = Error::new(errno, format!("connect socket {fd} to {addr}"));
        return Err(if errno == Errno::ECONNREFUSED {
            error.hint(format!("is a server listening on {addr}?"))
        } else {
            error
        });
    }
    socket::set_nonblocking(fd, false)
}

/// A bound socket (and listening, for streams) for host:service; `None` host means
/// every address: one dual-stack IPv6 socket, or 0.0.0.0 where IPv6 is unavailable.
fn bound_socket(
    host: Option<&CStr>,
    service: &CStr,
    socktype: libc::c_int,
    backlog: Option<libc::c_int>,
) -> Result<OwnedFd> {
    let setup = |family: libc::c_int, protocol: libc::c_int, addr: &SockAddr| -> Result<OwnedFd> {
        let fd = socket::new_socket(family, socktype, protocol)?;
        let raw = fd.as_raw_fd();
        if socktype == libc::SOCK_STREAM {
            socket::set_int_option(raw, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1)?;
        }
        if family == libc::AF_INET6 && host.is_none() {
            socket::set_int_option(raw, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 0)?;
        }
        socket::bind(raw, addr)?;
        if let Some(backlog) = backlog {
            socket::listen(raw, backlog)?;
        }
        Ok(fd)
    };
    let target = Target {
        host,
        service: Some(service),
    };
    if host.is_none() {
        // Resolve the port once with the IPv6 wildcard, then fall back to IPv4.
        let list = resolve_for(Some(c"::"), service, socktype, true);
        if let Ok(list) = list {
            let entry = list.first();
            match setup(libc::AF_INET6, entry.protocol, &entry.addr) {
                Ok(fd) => return Ok(fd),
                Err(e) if !matches!(e.errno(), Errno::EAFNOSUPPORT | Errno::EADDRNOTAVAIL) => {
                    return Err(e)
                }
                Err(_) => {}
            }
        }
        let list = resolve_for(Some(c"0.0.0.0"), service, socktype, true)?;
        let entry = list.first();
        return setup(libc::AF_INET, entry.protocol, &entry.addr);
    }
    let list = resolve_for(host, service, socktype, true)?;
    try_each(&list, "bind to", &target, |entry| {
        setup(entry.family, entry.protocol, &entry.addr)
    })
}

pub fn tcp_listen(host: Option<&CStr>, service: &CStr, backlog: libc::c_int) -> Result<OwnedFd> {
    bound_socket(host, service, libc::SOCK_STREAM, Some(backlog))
}

pub fn udp_bind(host: Option<&CStr>, service: &CStr) -> Result<OwnedFd> {
    bound_socket(host, service, libc::SOCK_DGRAM, None)
}

/// A UDP socket connected to host:service (the first address that works).
pub fn udp_connect(host: &CStr, service: &CStr) -> Result<OwnedFd> {
    connect_first(host, service, libc::SOCK_DGRAM, None)
}
