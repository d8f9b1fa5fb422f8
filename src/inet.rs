//! Internet sockets, TCP and UDP, as a C programmer reaches for them first (UNP's
//! tcp_connect and tcp_listen; Python's create_connection and
//! create_server(dual_stack=True)): resolve host and port, race the addresses of a name
//! (Happy Eyeballs, RFC 8305) or bind the first that works, and say which step failed
//! and why.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use crate::activation;
use crate::addr::SockAddr;
use crate::error::{strerror, Error, Result};
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

/// The sentence when every address failed: each address with its own reason, and the
/// errno of the failure that came last. One address alone keeps its own sentence.
fn all_failed(what: &str, target: &Target<'_>, mut failures: Vec<(SockAddr, Error)>) -> Error {
    if failures.len() == 1 {
        return failures.remove(0).1;
    }
    let Some((_, last)) = failures.last() else {
        return Error::with_message(Errno::ENOENT, format!("{what} {target}: no address"));
    };
    let each: Vec<String> = failures
        .iter()
        .map(|(addr, error)| format!("{addr}: {}", strerror(error.errno())))
        .collect();
    Error::with_message(
        last.errno(),
        format!("{what} {target}: every address failed: {}", each.join("; ")),
    )
}

/// RFC 8305's recommended Connection Attempt Delay.
pub const DEFAULT_ATTEMPT_DELAY: Duration = Duration::from_millis(250);
/// RFC 8305: a new attempt must not start within 10 ms of the previous one.
pub const MIN_ATTEMPT_DELAY: Duration = Duration::from_millis(10);

/// How connect races the addresses of a name (Happy Eyeballs, RFC 8305).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnectOptions {
    /// The most one attempt may take; None: the kernel's own limit.
    pub timeout: Option<Duration>,
    /// How long an attempt runs alone before the next address is tried beside it.
    pub attempt_delay: Duration,
}

impl Default for ConnectOptions {
    fn default() -> ConnectOptions {
        ConnectOptions {
            timeout: None,
            attempt_delay: DEFAULT_ATTEMPT_DELAY,
        }
    }
}

/// Connects a TCP socket to host:service, racing its addresses (Happy Eyeballs).
pub fn tcp_connect(host: &CStr, service: &CStr, options: &ConnectOptions) -> Result<OwnedFd> {
    connect_first(host, service, libc::SOCK_STREAM, options)
}

/// A socket of `socktype` connected to the first address of host:service that answers.
fn connect_first(
    host: &CStr,
    service: &CStr,
    socktype: libc::c_int,
    options: &ConnectOptions,
) -> Result<OwnedFd> {
    let list = resolve_for(Some(host), service, socktype, false)?;
    let target = Target {
        host: Some(host),
        service: Some(service),
    };
    let entries = interleave_families(list.iter().collect(), |entry| entry.family);
    race(&entries, options).map_err(|failures| all_failed("connect to", &target, failures))
}

/// RFC 8305 section 4: the resolver's order (RFC 6724's preferences), with the families
/// alternating from the first one, so that a broken family costs one attempt delay at
/// most before the other is tried.
fn interleave_families<T>(entries: Vec<T>, family: impl Fn(&T) -> libc::c_int) -> Vec<T> {
    let Some(first_family) = entries.first().map(&family) else {
        return entries;
    };
    let count = entries.len();
    let (first, other): (Vec<T>, Vec<T>) = entries
        .into_iter()
        .partition(|entry| family(entry) == first_family);
    let (mut first, mut other) = (first.into_iter(), other.into_iter());
    let mut interleaved = Vec::with_capacity(count);
    loop {
        match (first.next(), other.next()) {
            (None, None) => return interleaved,
            (one, two) => interleaved.extend(one.into_iter().chain(two)),
        }
    }
}

/// A connection attempt under way: a non-blocking socket whose connect is in progress.
struct Attempt {
    fd: OwnedFd,
    addr: SockAddr,
    deadline: Option<Instant>,
}

enum Started {
    Connected(OwnedFd),
    Pending(Attempt),
}

fn start_attempt(entry: &resolve::AddrInfo, timeout: Option<Duration>) -> Result<Started> {
    let fd = socket::new_socket(
        entry.family,
        entry.socktype | libc::SOCK_NONBLOCK,
        entry.protocol,
    )?;
    match socket::connect(fd.as_raw_fd(), &entry.addr) {
        Ok(()) => Ok(Started::Connected(fd)),
        Err(e) if e.errno() == Errno::EINPROGRESS => Ok(Started::Pending(Attempt {
            fd,
            addr: entry.addr,
            deadline: timeout.map(|limit| Instant::now() + limit),
        })),
        Err(e) => Err(e),
    }
}

/// How an attempt that poll reported has ended: connected, or its connect's error.
fn attempt_outcome(attempt: &Attempt) -> Result<()> {
    let fd = attempt.fd.as_raw_fd();
    match socket::get_int_option(fd, libc::SOL_SOCKET, libc::SO_ERROR)? {
        0 => Ok(()),
        pending => Err(socket::os_error_of(
            Errno::from_raw(pending),
            "connect",
            fd,
            Some(&attempt.addr),
        )),
    }
}

/// The winner of the race, blocking again as every socket prise hands out.
fn connected(fd: OwnedFd) -> Result<OwnedFd> {
    socket::set_nonblocking(fd.as_raw_fd(), false)?;
    Ok(fd)
}

/// Happy Eyeballs (RFC 8305 section 5): one attempt starts, and while it is pending the
/// next address starts every `attempt_delay` (at once when an attempt fails); the first
/// to connect wins and the others are closed. Fails with every address's own failure.
fn race(
    entries: &[resolve::AddrInfo],
    options: &ConnectOptions,
) -> std::result::Result<OwnedFd, Vec<(SockAddr, Error)>> {
    let mut failures = Vec::new();
    let mut running: Vec<Attempt> = Vec::new();
    let mut waiting = entries.iter().peekable();
    let mut next_start = Instant::now();
    loop {
        let now = Instant::now();
        while running.is_empty() || now >= next_start {
            let Some(entry) = waiting.next() else { break };
            match start_attempt(entry, options.timeout) {
                Ok(Started::Connected(fd)) => {
                    return connected(fd).map_err(|e| vec![(entry.addr, e)])
                }
                Ok(Started::Pending(attempt)) => {
                    running.push(attempt);
                    next_start = now + options.attempt_delay;
                }
                Err(error) => {
                    failures.push((entry.addr, error));
                    next_start = now;
                }
            }
        }
        if running.is_empty() {
            return Err(failures);
        }
        let deadlines = running.iter().filter_map(|attempt| attempt.deadline);
        let wake = match waiting.peek() {
            Some(_) => deadlines.chain([next_start]).min(),
            None => deadlines.min(),
        };
        let mut polled: Vec<libc::pollfd> = running
            .iter()
            .map(|attempt| libc::pollfd {
                fd: attempt.fd.as_raw_fd(),
                events: libc::POLLOUT,
                revents: 0,
            })
            .collect();
        let millis = wake.map_or(-1, socket::millis_until);
        match socket::poll_many(&mut polled, millis) {
            Ok(_) => {}
            // A signal the caller handles ends the call, as it ends connect(2): the
            // caller's handler may have asked to stop (Ctrl-C in Python).
            Err(e) if e.errno() == Errno::EINTR => {
                return Err(vec![(
                    running[0].addr,
                    e.hint("a signal came while connecting"),
                )])
            }
            Err(e) => {
                failures.push((running[0].addr, e));
                return Err(failures);
            }
        }
        let now = Instant::now();
        let mut still_running = Vec::with_capacity(running.len());
        for (attempt, polled) in running.drain(..).zip(&polled) {
            if polled.revents != 0 {
                match attempt_outcome(&attempt) {
                    // The others are closed as they are dropped.
                    Ok(()) => return connected(attempt.fd).map_err(|e| vec![(attempt.addr, e)]),
                    Err(error) => {
                        failures.push((attempt.addr, error));
                        next_start = now;
                    }
                }
            } else if attempt.deadline.is_some_and(|deadline| now >= deadline) {
                let limit = options.timeout.unwrap_or_default();
                let error = Error::new(
                    Errno::ETIMEDOUT,
                    format!(
                        "connect socket {} to {}",
                        attempt.fd.as_raw_fd(),
                        attempt.addr
                    ),
                )
                .hint(format!("no answer within {} ms", limit.as_millis()));
                failures.push((attempt.addr, error));
                next_start = now;
            } else {
                still_running.push(attempt);
            }
        }
        running = still_running;
    }
}

/// A bound socket (and listening, for streams) for host:service: the one a service
/// manager passed for that address, else a new one; `None` host means every address:
/// one dual-stack IPv6 socket, or 0.0.0.0 where IPv6 is unavailable.
fn bound_socket(
    host: Option<&CStr>,
    service: &CStr,
    socktype: libc::c_int,
    backlog: Option<libc::c_int>,
) -> Result<OwnedFd> {
    if let Some(inherited) = inherited_socket(host, service, socktype)? {
        return Ok(inherited);
    }
    new_bound_socket(host, service, socktype, backlog).map_err(|error| {
        // The manager's socket holds the port: the program asked for another address.
        if error.errno() != Errno::EADDRINUSE || !activation::any_left() {
            return error;
        }
        let port = resolve_for(Some(c"0.0.0.0"), service, socktype, true)
            .ok()
            .and_then(|list| list.first().addr.port());
        let passed: Vec<String> = activation::unclaimed_addresses(socktype)
            .iter()
            .filter(|addr| port.is_some() && addr.port() == port) // the port asked for
            .map(ToString::to_string)
            .collect();
        if passed.is_empty() {
            return error;
        }
        error.hint(format!(
            "the service manager passed a socket bound to {} (LISTEN_FDS), which is not \
             this address: ask for the address it listens on",
            passed.join(", ")
        ))
    })
}

fn new_bound_socket(
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
    let mut failures = Vec::new();
    for entry in list.iter() {
        match setup(entry.family, entry.protocol, &entry.addr) {
            Ok(fd) => return Ok(fd),
            Err(error) => failures.push((entry.addr, error)),
        }
    }
    Err(all_failed("bind to", &target, failures))
}

/// The socket a service manager passed (socket activation) bound to the address that
/// host:service names (NULL host: a wildcard address of either family), if there is one.
/// Port 0 asks for a port of the kernel's choosing: no passed socket is that.
fn inherited_socket(
    host: Option<&CStr>,
    service: &CStr,
    socktype: libc::c_int,
) -> Result<Option<OwnedFd>> {
    if !activation::any_left() {
        return Ok(None);
    }
    let wanted: Vec<SockAddr> = match host {
        Some(_) => resolve_for(host, service, socktype, true)?
            .iter()
            .map(|entry| entry.addr)
            .collect(),
        None => [c"::", c"0.0.0.0"]
            .into_iter()
            .filter_map(|any| resolve_for(Some(any), service, socktype, true).ok())
            .flat_map(|list| list.iter().map(|entry| entry.addr).collect::<Vec<_>>())
            .collect(),
    };
    if wanted.iter().all(|addr| addr.port() == Some(0)) {
        return Ok(None);
    }
    Ok(activation::take_bound(socktype, |addr| {
        wanted.contains(addr)
    }))
}

pub fn tcp_listen(host: Option<&CStr>, service: &CStr, backlog: libc::c_int) -> Result<OwnedFd> {
    bound_socket(host, service, libc::SOCK_STREAM, Some(backlog))
}

pub fn udp_bind(host: Option<&CStr>, service: &CStr) -> Result<OwnedFd> {
    bound_socket(host, service, libc::SOCK_DGRAM, None)
}

/// A UDP socket connected to host:service (the first address that works).
pub fn udp_connect(host: &CStr, service: &CStr) -> Result<OwnedFd> {
    connect_first(host, service, libc::SOCK_DGRAM, &ConnectOptions::default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddr;

    fn sockaddr(text: &str) -> SockAddr {
        SockAddr::from(text.parse::<SocketAddr>().unwrap())
    }

    fn entry(addr: SockAddr) -> resolve::AddrInfo {
        resolve::AddrInfo {
            family: addr.family(),
            socktype: libc::SOCK_STREAM,
            protocol: 0,
            addr,
            canonical_name: None,
        }
    }

    fn listening(addr: &SockAddr, backlog: libc::c_int) -> Result<OwnedFd> {
        let fd = socket::new_socket(addr.family(), libc::SOCK_STREAM, 0)?;
        socket::bind(fd.as_raw_fd(), addr)?;
        socket::listen(fd.as_raw_fd(), backlog)?;
        Ok(fd)
    }

    /// A ::1 listener that drops SYNs (its backlog of 0 full with one connection never
    /// accepted), and a 127.0.0.1 listener on the same port; and the filler connection.
    fn silent_v6_answering_v4() -> (OwnedFd, OwnedFd, OwnedFd, u16) {
        for _ in 0..20 {
            let v6 = listening(&sockaddr("[::1]:0"), 0).unwrap();
            let port = socket::getsockname(v6.as_raw_fd()).unwrap().port().unwrap();
            let filler = socket::new_socket(libc::AF_INET6, libc::SOCK_STREAM, 0).unwrap();
            socket::connect(filler.as_raw_fd(), &sockaddr(&format!("[::1]:{port}"))).unwrap();
            // The precondition of the test: a further SYN gets no answer.
            let probe = start_attempt(&entry(sockaddr(&format!("[::1]:{port}"))), None).unwrap();
            let Started::Pending(probe) = probe else {
                panic!("a full backlog answered a connect at once")
            };
            let answered = socket::poll_one(probe.fd.as_raw_fd(), libc::POLLOUT, 300).unwrap();
            assert!(
                !answered,
                "a ::1 listener with a full backlog answered a SYN"
            );
            if let Ok(v4) = listening(&sockaddr(&format!("127.0.0.1:{port}")), 16) {
                return (v6, filler, v4, port);
            }
        }
        panic!("no port free on both ::1 and 127.0.0.1");
    }

    #[test]
    fn families_alternate_from_the_first() {
        let order = |families: &[i32]| interleave_families(families.to_vec(), |f| *f);
        assert_eq!(order(&[6, 6, 6, 4, 4]), [6, 4, 6, 4, 6]);
        assert_eq!(order(&[4, 6, 6, 6]), [4, 6, 6, 6]);
        assert_eq!(order(&[4, 4]), [4, 4]);
        assert_eq!(order(&[]), [] as [i32; 0]);
        // The order within a family is the resolver's.
        let tagged = interleave_families(vec![(6, 'a'), (6, 'b'), (4, 'c'), (4, 'd')], |e| e.0);
        assert_eq!(tagged, [(6, 'a'), (4, 'c'), (6, 'b'), (4, 'd')]);
    }

    #[test]
    fn a_silent_ipv6_address_loses_the_race_to_ipv4() {
        let (_v6, _filler, v4, port) = silent_v6_answering_v4();
        let entries = [
            entry(sockaddr(&format!("[::1]:{port}"))),
            entry(sockaddr(&format!("127.0.0.1:{port}"))),
        ];
        // Tried in turn, the first attempt would wait its whole 10 s timeout.
        let options = ConnectOptions {
            timeout: Some(Duration::from_secs(10)),
            ..ConnectOptions::default()
        };
        let started = Instant::now();
        let fd = race(&entries, &options).unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        let peer = socket::getpeername(fd.as_raw_fd()).unwrap();
        assert_eq!(peer, entries[1].addr);
        let flags = socket::status_flags(fd.as_raw_fd()).unwrap();
        assert_eq!(flags & libc::O_NONBLOCK, 0, "the winner is blocking again");
        let (conn, _) = socket::accept(v4.as_raw_fd(), 0).unwrap();
        assert_eq!(socket::send(fd.as_raw_fd(), b"!", 0).unwrap(), 1);
        let mut byte = [0u8];
        assert_eq!(socket::recv(conn.as_raw_fd(), &mut byte, 0).unwrap(), 1);
    }

    #[test]
    fn every_address_is_named_with_its_own_reason() {
        let (_v6, _filler, v4, port) = silent_v6_answering_v4();
        drop(v4); // 127.0.0.1 now refuses
        let entries = [
            entry(sockaddr(&format!("[::1]:{port}"))),
            entry(sockaddr(&format!("127.0.0.1:{port}"))),
        ];
        let options = ConnectOptions {
            timeout: Some(Duration::from_millis(400)),
            attempt_delay: Duration::from_millis(20),
        };
        let failures = race(&entries, &options).unwrap_err();
        let target = Target {
            host: Some(c"example"),
            service: Some(c"80"),
        };
        let error = all_failed("connect to", &target, failures);
        let text = error.message();
        assert!(text.contains("every address failed"), "{text}");
        assert!(
            text.contains(&format!("[::1]:{port}: Connection timed out")),
            "{text}"
        );
        assert!(
            text.contains(&format!("127.0.0.1:{port}: Connection refused")),
            "{text}"
        );
        // The refusal came first, the timeout last.
        assert_eq!(error.errno(), Errno::ETIMEDOUT);
    }

    #[test]
    fn one_address_keeps_its_own_sentence() {
        let (_v6, _filler, _v4, port) = silent_v6_answering_v4();
        let entries = [entry(sockaddr(&format!("[::1]:{port}")))];
        let options = ConnectOptions {
            timeout: Some(Duration::from_millis(200)),
            ..ConnectOptions::default()
        };
        let target = Target {
            host: Some(c"::1"),
            service: Some(c"80"),
        };
        let error = all_failed("connect to", &target, race(&entries, &options).unwrap_err());
        assert_eq!(error.errno(), Errno::ETIMEDOUT);
        assert!(
            error.message().contains("no answer within 200 ms"),
            "{error}"
        );
    }
}
