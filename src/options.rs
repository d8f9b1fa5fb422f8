//! The socket options every server and client sets, one call each, with the limits
//! checked and a sentence that says what the option is for when the socket cannot
//! take it.

use std::os::fd::RawFd;

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::socket;

/// Linux's limits (MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL, MAX_TCP_KEEPCNT).
const MAX_KEEPALIVE_SECONDS: libc::c_int = 32767;
const MAX_KEEPALIVE_PROBES: libc::c_int = 127;

/// Sets one integer option; a failure names the option and, where the kernel's reason
/// says little, what the option needs.
fn set(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    label: &str,
    needs: &str,
    value: libc::c_int,
) -> Result<()> {
    socket::set_int_option(fd, level, name, value).map_err(|e| {
        let error = socket::os_error_of(e.errno(), &format!("set {label}"), fd, None);
        match e.errno() {
            Errno::EBADF | Errno::ENOTSOCK => error,
            _ => error.hint(needs),
        }
    })
}

/// TCP_NODELAY: small writes leave at once instead of waiting for the previous one's
/// acknowledgement (Nagle's algorithm).
pub fn set_nodelay(fd: RawFd, on: bool) -> Result<()> {
    set(
        fd,
        libc::IPPROTO_TCP,
        libc::TCP_NODELAY,
        "TCP_NODELAY",
        "only TCP sockets have it",
        on.into(),
    )
}

/// SO_REUSEPORT: several sockets, each with it set before bind, share one address.
pub fn set_reuseport(fd: RawFd, on: bool) -> Result<()> {
    set(
        fd,
        libc::SOL_SOCKET,
        libc::SO_REUSEPORT,
        "SO_REUSEPORT",
        "set it before bind, on sockets of the same user",
        on.into(),
    )
}

/// IPV6_V6ONLY: an IPv6 socket takes IPv6 only (on) or IPv4 too, as ::ffff:a.b.c.d (off).
pub fn set_v6only(fd: RawFd, on: bool) -> Result<()> {
    set(
        fd,
        libc::IPPROTO_IPV6,
        libc::IPV6_V6ONLY,
        "IPV6_V6ONLY",
        "only IPv6 sockets have it, and only before bind",
        on.into(),
    )
}

/// TCP keepalive: after `idle` seconds without traffic, a probe every `interval` seconds,
/// and the connection fails (ETIMEDOUT) after `count` unanswered probes. `idle` 0 turns
/// keepalive off; `interval` or `count` 0 leaves the socket's value unchanged. TCP only.
pub fn set_keepalive(
    fd: RawFd,
    idle: libc::c_int,
    interval: libc::c_int,
    count: libc::c_int,
) -> Result<()> {
    let check = |value: libc::c_int, what: &str, max: libc::c_int| {
        if (0..=max).contains(&value) {
            Ok(())
        } else {
            Err(Error::with_message(
                Errno::EINVAL,
                format!("keepalive {what} {value}: give 0 to {max}"),
            ))
        }
    };
    check(idle, "idle time (seconds)", MAX_KEEPALIVE_SECONDS)?;
    check(interval, "interval (seconds)", MAX_KEEPALIVE_SECONDS)?;
    check(count, "probe count", MAX_KEEPALIVE_PROBES)?;
    let tcp_only = "keepalive timers are for TCP sockets";
    // SO_KEEPALIVE itself is accepted (and means nothing) on any socket: a UDP or Unix
    // socket is refused here, so that a mistaken descriptor does not pass silently.
    // A stream of TCP or MPTCP (which takes the same timers); a raw socket of protocol
    // TCP is not one.
    let stream = socket::get_int_option(fd, libc::SOL_SOCKET, libc::SO_TYPE)? == libc::SOCK_STREAM;
    let protocol = socket::get_int_option(fd, libc::SOL_SOCKET, libc::SO_PROTOCOL)?;
    if !stream || !matches!(protocol, libc::IPPROTO_TCP | libc::IPPROTO_MPTCP) {
        return Err(Error::with_message(
            Errno::EOPNOTSUPP,
            format!("keepalive on socket {fd}: it is not a TCP socket ({tcp_only})"),
        ));
    }
    if idle == 0 {
        return set(
            fd,
            libc::SOL_SOCKET,
            libc::SO_KEEPALIVE,
            "SO_KEEPALIVE",
            tcp_only,
            0,
        );
    }
    // The timers first: a socket that cannot take them is left as it was.
    let timers = [
        (libc::TCP_KEEPIDLE, "TCP_KEEPIDLE", idle),
        (libc::TCP_KEEPINTVL, "TCP_KEEPINTVL", interval),
        (libc::TCP_KEEPCNT, "TCP_KEEPCNT", count),
    ];
    for (name, label, value) in timers {
        if value > 0 {
            set(fd, libc::IPPROTO_TCP, name, label, tcp_only, value)?;
        }
    }
    set(
        fd,
        libc::SOL_SOCKET,
        libc::SO_KEEPALIVE,
        "SO_KEEPALIVE",
        tcp_only,
        1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    fn int_option(fd: RawFd, level: libc::c_int, name: libc::c_int) -> libc::c_int {
        socket::get_int_option(fd, level, name).unwrap()
    }

    #[test]
    fn each_option_reads_back() {
        let tcp = socket::new_socket(libc::AF_INET6, libc::SOCK_STREAM, 0).unwrap();
        let fd = tcp.as_raw_fd();
        set_nodelay(fd, true).unwrap();
        assert_eq!(int_option(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY), 1);
        set_reuseport(fd, true).unwrap();
        assert_eq!(int_option(fd, libc::SOL_SOCKET, libc::SO_REUSEPORT), 1);
        set_v6only(fd, true).unwrap();
        assert_eq!(int_option(fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY), 1);
        set_v6only(fd, false).unwrap();
        assert_eq!(int_option(fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY), 0);
        set_keepalive(fd, 30, 5, 4).unwrap();
        assert_eq!(int_option(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE), 1);
        assert_eq!(int_option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE), 30);
        assert_eq!(int_option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPINTVL), 5);
        assert_eq!(int_option(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT), 4);
        set_keepalive(fd, 0, 0, 0).unwrap();
        assert_eq!(int_option(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE), 0);
    }

    #[test]
    fn wrong_sockets_and_values_say_why() {
        let (unix, _) = socket::socketpair(libc::SOCK_STREAM);
        let err = set_nodelay(unix.as_raw_fd(), true).unwrap_err();
        assert!(err.message().contains("only TCP sockets"), "{err}");
        let err = set_keepalive(unix.as_raw_fd(), 10, 0, 0).unwrap_err();
        assert!(err.message().contains("for TCP sockets"), "{err}");
        // Nothing half done: the Unix socket did not get SO_KEEPALIVE either.
        let keepalive = int_option(unix.as_raw_fd(), libc::SOL_SOCKET, libc::SO_KEEPALIVE);
        assert_eq!(keepalive, 0);
        let v4 = socket::new_socket(libc::AF_INET, libc::SOCK_STREAM, 0).unwrap();
        let err = set_v6only(v4.as_raw_fd(), true).unwrap_err();
        assert!(err.message().contains("only IPv6 sockets"), "{err}");
        for (idle, interval, count) in [(-1, 0, 0), (32768, 0, 0), (1, -1, 0), (1, 1, 128)] {
            let err = set_keepalive(v4.as_raw_fd(), idle, interval, count).unwrap_err();
            assert_eq!(err.errno(), Errno::EINVAL, "{idle} {interval} {count}");
        }
        let err = set_reuseport(-1, true).unwrap_err();
        assert_eq!(err.errno(), Errno::EBADF);
        assert!(err.message().contains("SO_REUSEPORT"), "{err}");
    }
}
