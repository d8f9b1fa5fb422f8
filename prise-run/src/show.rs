//! How the arguments and results of the calls read in a trace line, beyond what prise's
//! own trace formatting (addresses, strings, family and type names) already says.

use std::fmt::Write;

use libc::c_int;

/// Names of the flags set in `value`, from `names`; what is left as a number.
fn flag_names(value: i64, names: &[(i64, &str)]) -> String {
    let mut rest = value;
    let mut parts: Vec<String> = Vec::new();
    for &(bit, name) in names {
        if bit != 0 && rest & bit == bit {
            parts.push(name.into());
            rest &= !bit;
        }
    }
    if rest != 0 || parts.is_empty() {
        parts.push(format!("{rest:#x}"));
    }
    parts.join("|")
}

/// `flag_names` of the libc constants named, each shown by its own name.
macro_rules! named_flags {
    ($value:expr, $($flag:ident),+ $(,)?) => {
        flag_names(i64::from($value), &[$((libc::$flag as u32 as i64, stringify!($flag))),+])
    };
}

/// send/recv flags: `MSG_PEEK|MSG_DONTWAIT`, `0` for none.
pub fn msg_flags(flags: c_int) -> String {
    if flags == 0 {
        return "0".into();
    }
    named_flags!(
        flags,
        MSG_OOB,
        MSG_PEEK,
        MSG_DONTROUTE,
        MSG_DONTWAIT,
        MSG_WAITALL,
        MSG_NOSIGNAL,
        MSG_MORE,
        MSG_TRUNC,
        MSG_CMSG_CLOEXEC,
    )
}

/// getaddrinfo's AI_* flags.
pub fn ai_flags(flags: c_int) -> String {
    named_flags!(
        flags,
        AI_PASSIVE,
        AI_CANONNAME,
        AI_NUMERICHOST,
        AI_V4MAPPED,
        AI_ALL,
        AI_ADDRCONFIG,
        AI_NUMERICSERV,
    )
}

/// getnameinfo's NI_* flags.
pub fn ni_flags(flags: c_int) -> String {
    if flags == 0 {
        return "0".into();
    }
    named_flags!(
        flags,
        NI_NUMERICHOST,
        NI_NUMERICSERV,
        NI_NOFQDN,
        NI_NAMEREQD,
        NI_DGRAM
    )
}

/// poll's events: `POLLIN|POLLOUT`.
pub fn poll_events(events: i16) -> String {
    named_flags!(
        events, POLLIN, POLLPRI, POLLOUT, POLLRDHUP, POLLERR, POLLHUP, POLLNVAL, POLLRDNORM,
        POLLRDBAND, POLLWRNORM, POLLWRBAND,
    )
}

/// epoll's events: `EPOLLIN|EPOLLET`.
pub fn epoll_events(events: u32) -> String {
    named_flags!(
        events,
        EPOLLIN,
        EPOLLPRI,
        EPOLLOUT,
        EPOLLRDHUP,
        EPOLLERR,
        EPOLLHUP,
        EPOLLET,
        EPOLLONESHOT,
        EPOLLEXCLUSIVE,
    )
}

/// `SOL_SOCKET, SO_REUSEADDR` for a setsockopt/getsockopt level and name.
pub fn option(level: c_int, name: c_int) -> String {
    let level_name = match level {
        libc::SOL_SOCKET => "SOL_SOCKET",
        libc::IPPROTO_TCP => "IPPROTO_TCP",
        libc::IPPROTO_IP => "IPPROTO_IP",
        libc::IPPROTO_IPV6 => "IPPROTO_IPV6",
        _ => return format!("{level}, {name}"),
    };
    let option_name = match (level, name) {
        (libc::SOL_SOCKET, libc::SO_REUSEADDR) => "SO_REUSEADDR",
        (libc::SOL_SOCKET, libc::SO_REUSEPORT) => "SO_REUSEPORT",
        (libc::SOL_SOCKET, libc::SO_KEEPALIVE) => "SO_KEEPALIVE",
        (libc::SOL_SOCKET, libc::SO_BROADCAST) => "SO_BROADCAST",
        (libc::SOL_SOCKET, libc::SO_LINGER) => "SO_LINGER",
        (libc::SOL_SOCKET, libc::SO_RCVBUF) => "SO_RCVBUF",
        (libc::SOL_SOCKET, libc::SO_SNDBUF) => "SO_SNDBUF",
        (libc::SOL_SOCKET, libc::SO_RCVTIMEO) => "SO_RCVTIMEO",
        (libc::SOL_SOCKET, libc::SO_SNDTIMEO) => "SO_SNDTIMEO",
        (libc::SOL_SOCKET, libc::SO_ERROR) => "SO_ERROR",
        (libc::SOL_SOCKET, libc::SO_TYPE) => "SO_TYPE",
        (libc::SOL_SOCKET, libc::SO_ACCEPTCONN) => "SO_ACCEPTCONN",
        (libc::SOL_SOCKET, libc::SO_PEERCRED) => "SO_PEERCRED",
        (libc::IPPROTO_TCP, libc::TCP_NODELAY) => "TCP_NODELAY",
        (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE) => "TCP_KEEPIDLE",
        (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL) => "TCP_KEEPINTVL",
        (libc::IPPROTO_TCP, libc::TCP_KEEPCNT) => "TCP_KEEPCNT",
        (libc::IPPROTO_IP, libc::IP_TTL) => "IP_TTL",
        (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY) => "IPV6_V6ONLY",
        _ => return format!("{level_name}, {name}"),
    };
    format!("{level_name}, {option_name}")
}

/// An option's value: an int, a timeout, a linger, or its size.
///
/// # Safety
/// `value` is NULL or valid for `len` bytes.
pub unsafe fn option_value(level: c_int, name: c_int, value: *const u8, len: usize) -> String {
    if value.is_null() {
        return "NULL".into();
    }
    let timeout =
        level == libc::SOL_SOCKET && matches!(name, libc::SO_RCVTIMEO | libc::SO_SNDTIMEO);
    if timeout && len >= std::mem::size_of::<libc::timeval>() {
        let tv = std::ptr::read_unaligned(value as *const libc::timeval);
        return format!("{} s", seconds(tv.tv_sec, tv.tv_usec * 1000));
    }
    if level == libc::SOL_SOCKET
        && name == libc::SO_LINGER
        && len >= std::mem::size_of::<libc::linger>()
    {
        let linger = std::ptr::read_unaligned(value as *const libc::linger);
        return format!("{{on {}, {} s}}", linger.l_onoff, linger.l_linger);
    }
    if len == std::mem::size_of::<c_int>() {
        let number = std::ptr::read_unaligned(value as *const c_int);
        // The pending error of a non-blocking connect, named.
        if level == libc::SOL_SOCKET && name == libc::SO_ERROR && number != 0 {
            let errno = nix::errno::Errno::from_raw(number);
            return format!("{number} ({errno:?}: {})", prise::error::strerror(errno));
        }
        return number.to_string();
    }
    format!("{len} bytes")
}

/// `1.5` for one second and a half.
pub fn seconds(secs: i64, nanos: i64) -> String {
    let text = format!("{}.{:09}", secs, nanos.clamp(0, 999_999_999));
    let text = text.trim_end_matches('0');
    text.strip_suffix('.').unwrap_or(text).to_string()
}

/// The first `limit` bytes as a quoted, escaped string: `"GET / HTTP/1.0\r\n"…`. Bytes,
/// not text (prise's `printable` is for names): invalid UTF-8 shows as `\xNN`.
pub fn data(bytes: &[u8], limit: usize) -> String {
    let shown = &bytes[..bytes.len().min(limit)];
    let mut text = String::with_capacity(shown.len() + 2);
    text.push('"');
    for &byte in shown {
        match byte {
            b'\n' => text.push_str("\\n"),
            b'\r' => text.push_str("\\r"),
            b'\t' => text.push_str("\\t"),
            b'\\' => text.push_str("\\\\"),
            b'"' => text.push_str("\\\""),
            0x20..=0x7e => text.push(byte as char),
            _ => {
                let _ = write!(text, "\\x{byte:02x}");
            }
        }
    }
    text.push('"');
    if bytes.len() > shown.len() {
        text.push('…');
    }
    text
}

/// The bytes of an iovec array, up to `limit` of them, with the first `total` counted.
///
/// # Safety
/// `iov` is valid for `count` entries, each valid for its length.
pub unsafe fn gather(iov: *const libc::iovec, count: usize, total: usize, limit: usize) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut left = total.min(limit);
    for index in 0..count {
        if left == 0 {
            break;
        }
        let entry = &*iov.add(index);
        let take = entry.iov_len.min(left);
        bytes.extend_from_slice(std::slice::from_raw_parts(
            entry.iov_base as *const u8,
            take,
        ));
        left -= take;
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_escaped_and_cut() {
        assert_eq!(data(b"hi\n", 64), "\"hi\\n\"");
        assert_eq!(data(b"a\x00\xff\"", 64), "\"a\\x00\\xff\\\"\"");
        assert_eq!(data(b"abcdef", 3), "\"abc\"…");
    }

    #[test]
    fn flags_and_options_have_names() {
        assert_eq!(msg_flags(0), "0");
        assert_eq!(
            msg_flags(libc::MSG_PEEK | libc::MSG_DONTWAIT),
            "MSG_PEEK|MSG_DONTWAIT"
        );
        assert_eq!(poll_events(libc::POLLIN | 0x4000), "POLLIN|0x4000");
        assert_eq!(
            epoll_events(libc::EPOLLIN as u32 | libc::EPOLLET as u32),
            "EPOLLIN|EPOLLET"
        );
        assert_eq!(
            option(libc::SOL_SOCKET, libc::SO_REUSEADDR),
            "SOL_SOCKET, SO_REUSEADDR"
        );
        assert_eq!(option(99, 7), "99, 7");
        assert_eq!(seconds(1, 500_000_000), "1.5");
        assert_eq!(seconds(2, 0), "2");
    }
}
