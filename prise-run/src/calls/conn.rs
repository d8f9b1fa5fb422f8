//! Making, naming, connecting and closing sockets; options; the descriptor table kept
//! up to date (socket, accept, dup, close).

use std::ffi::{c_int, c_void};

use libc::{sockaddr, socklen_t};
use nix::errno::Errno;
use prise::addr::{family_name, socktype_name};

use super::{
    address, choose_faults, socket_address, watched, written_address, Call, Outcome, Said,
};
use crate::fds::{self, Kind};
use crate::{real, show, tracer};

#[no_mangle]
pub unsafe extern "C" fn socket(domain: c_int, socktype: c_int, protocol: c_int) -> c_int {
    let fd = real::socket(domain, socktype, protocol);
    if fd >= 0 {
        fds::remember(fd, Kind::of_socktype(socktype));
    }
    if tracer::busy() {
        return fd;
    }
    let outcome = Outcome::of(fd as isize);
    tracer::emit(false, || {
        let args = format!(
            "{}, {}, {protocol}",
            family_name(domain),
            socktype_name(socktype)
        );
        if fd < 0 {
            let error = prise::socket::socket_error(
                domain,
                socktype,
                protocol,
                Errno::from_raw(outcome.errno),
            );
            prise::ffi::trace::line("socket", &args, "-1", Some(&error))
        } else {
            prise::ffi::trace::line("socket", &args, &fd.to_string(), None)
        }
    });
    outcome.finish()
}

#[no_mangle]
pub unsafe extern "C" fn socketpair(
    domain: c_int,
    socktype: c_int,
    protocol: c_int,
    fds_out: *mut c_int,
) -> c_int {
    let ret = real::socketpair(domain, socktype, protocol, fds_out);
    let outcome = Outcome::of(ret as isize);
    if ret == 0 && !fds_out.is_null() {
        for index in 0..2 {
            fds::remember(*fds_out.add(index), Kind::of_socktype(socktype));
        }
    }
    if !tracer::busy() {
        tracer::emit(false, || {
            let args = format!(
                "{}, {}, {protocol}",
                family_name(domain),
                socktype_name(socktype)
            );
            let detail = if ret == 0 && !fds_out.is_null() {
                format!(", [{}, {}]", *fds_out, *fds_out.add(1))
            } else {
                String::new()
            };
            outcome.line(
                "socketpair",
                &args,
                -1,
                Said {
                    detail,
                    ..Said::default()
                },
            )
        });
    }
    outcome.finish()
}

#[no_mangle]
pub unsafe extern "C" fn bind(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    if watched(fd).is_none() {
        return real::bind(fd, addr, len);
    }
    let outcome = Outcome::of(real::bind(fd, addr, len) as isize);
    tracer::emit(false, || {
        let asked = address(addr, len);
        let args = format!("{fd}, {}", prise::ffi::trace::addr(addr, len));
        // The address actually bound: the kernel's choice of port (or address) shows.
        let detail = match (socket_address(fd, false), &asked) {
            (Some(bound), Some(asked)) if bound != *asked => format!(", bound {bound}"),
            (Some(bound), None) => format!(", bound {bound}"),
            _ => String::new(),
        };
        outcome.line(
            "bind",
            &args,
            fd,
            Said {
                addr: asked.as_ref(),
                detail,
                ..Said::default()
            },
        )
    });
    outcome.finish()
}

#[no_mangle]
pub unsafe extern "C" fn listen(fd: c_int, backlog: c_int) -> c_int {
    if watched(fd).is_none() {
        return real::listen(fd, backlog);
    }
    let outcome = Outcome::of(real::listen(fd, backlog) as isize);
    tracer::emit(false, || {
        let detail = match socket_address(fd, false) {
            Some(at) => format!(", listening on {at}"),
            None => String::new(),
        };
        let args = format!("{fd}, {backlog}");
        outcome.line(
            "listen",
            &args,
            fd,
            Said {
                detail,
                ..Said::default()
            },
        )
    });
    outcome.finish()
}

/// accept and accept4 (`flags` None for accept).
unsafe fn accept_socket(
    fd: c_int,
    kind: Kind,
    addr: *mut sockaddr,
    len: *mut socklen_t,
    flags: Option<c_int>,
) -> c_int {
    let room = if len.is_null() { 0 } else { *len };
    let faulted = choose_faults(Call::Accept, fd, kind, 0, 0);
    let outcome = match faulted.errno {
        Some(errno) => Outcome::failed(errno),
        None => Outcome::of(match flags {
            None => real::accept(fd, addr, len),
            Some(flags) => real::accept4(fd, addr, len, flags),
        } as isize),
    };
    let conn = outcome.ret as c_int;
    if outcome.ret >= 0 {
        fds::remember(conn, kind);
    }
    let name = if flags.is_some() { "accept4" } else { "accept" };
    tracer::emit(true, || {
        let args = match flags {
            Some(flags) => format!("{fd}, {}", socktype_name(flags).replace("any type|", "")),
            None => fd.to_string(),
        };
        let peer = written_address(addr, len, room).or_else(|| socket_address(conn, true));
        let detail = match peer {
            Some(peer) if outcome.ret >= 0 && !peer.is_empty() => format!(", peer {peer}"),
            _ => String::new(),
        };
        outcome.line(name, &args, fd, faulted.said(detail))
    });
    outcome.finish()
}

#[no_mangle]
pub unsafe extern "C" fn accept(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int {
    match watched(fd) {
        Some(kind) => accept_socket(fd, kind, addr, len, None),
        None => real::accept(fd, addr, len),
    }
}

#[no_mangle]
pub unsafe extern "C" fn accept4(
    fd: c_int,
    addr: *mut sockaddr,
    len: *mut socklen_t,
    flags: c_int,
) -> c_int {
    match watched(fd) {
        Some(kind) => accept_socket(fd, kind, addr, len, Some(flags)),
        None => real::accept4(fd, addr, len, flags),
    }
}

#[no_mangle]
pub unsafe extern "C" fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int {
    let Some(kind) = watched(fd) else {
        return real::connect(fd, addr, len);
    };
    let faulted = choose_faults(Call::Connect, fd, kind, 0, 0);
    let outcome = match faulted.errno {
        Some(errno) => Outcome::failed(errno),
        None => Outcome::of(real::connect(fd, addr, len) as isize),
    };
    tracer::emit(false, || {
        let to = address(addr, len);
        let args = format!("{fd}, {}", prise::ffi::trace::addr(addr, len));
        // Where the connection comes from: the port the server's accept will show.
        let detail = match socket_address(fd, false) {
            Some(local) if local.port().is_some() => format!(", from {local}"),
            _ => String::new(),
        };
        outcome.line(
            "connect",
            &args,
            fd,
            Said {
                addr: to.as_ref(),
                detail,
                tail: faulted.mark(),
            },
        )
    });
    outcome.finish()
}

#[no_mangle]
pub unsafe extern "C" fn shutdown(fd: c_int, how: c_int) -> c_int {
    if watched(fd).is_none() {
        return real::shutdown(fd, how);
    }
    let outcome = Outcome::of(real::shutdown(fd, how) as isize);
    tracer::emit(false, || {
        let how_text = match how {
            libc::SHUT_RD => "SHUT_RD".to_string(),
            libc::SHUT_WR => "SHUT_WR".to_string(),
            libc::SHUT_RDWR => "SHUT_RDWR".to_string(),
            other => other.to_string(),
        };
        let args = format!("{fd}, {how_text}");
        outcome.line("shutdown", &args, fd, Said::default())
    });
    outcome.finish()
}

#[no_mangle]
pub unsafe extern "C" fn close(fd: c_int) -> c_int {
    // Only what the table knows: closing a descriptor never used costs no fstat.
    let was_socket = fds::known(fd).is_some_and(Kind::is_socket);
    let ret = real::close(fd);
    fds::forget(fd);
    if !was_socket || tracer::busy() {
        return ret;
    }
    let outcome = Outcome::of(ret as isize);
    tracer::emit(false, || {
        outcome.line("close", &fd.to_string(), fd, Said::default())
    });
    outcome.finish()
}

#[no_mangle]
pub unsafe extern "C" fn dup(fd: c_int) -> c_int {
    let new = real::dup(fd);
    copy_kind(fd, new);
    new
}

#[no_mangle]
pub unsafe extern "C" fn dup2(old: c_int, new: c_int) -> c_int {
    let ret = real::dup2(old, new);
    copy_kind(old, ret);
    ret
}

#[no_mangle]
pub unsafe extern "C" fn dup3(old: c_int, new: c_int, flags: c_int) -> c_int {
    let ret = real::dup3(old, new, flags);
    copy_kind(old, ret);
    ret
}

/// `new` is now what `old` is (when the table knows; otherwise it is looked at again).
fn copy_kind(old: c_int, new: c_int) {
    if new < 0 {
        return;
    }
    match fds::known(old) {
        Some(kind) => fds::remember(new, kind),
        None => fds::forget(new),
    }
}

#[no_mangle]
pub unsafe extern "C" fn setsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    value: *const c_void,
    len: socklen_t,
) -> c_int {
    if watched(fd).is_none() {
        return real::setsockopt(fd, level, name, value, len);
    }
    let outcome = Outcome::of(real::setsockopt(fd, level, name, value, len) as isize);
    tracer::emit(false, || {
        let option = show::option(level, name);
        let args = format!(
            "{fd}, {option}, {}",
            show::option_value(level, name, value as *const u8, len as usize)
        );
        let op = format!("setsockopt({option})");
        let error = (outcome.ret < 0)
            .then(|| prise::socket::os_error_of(Errno::from_raw(outcome.errno), &op, fd, None));
        let value = if outcome.ret < 0 {
            "-1".to_string()
        } else {
            outcome.ret.to_string()
        };
        prise::ffi::trace::line("setsockopt", &args, &value, error.as_ref())
    });
    outcome.finish()
}

#[no_mangle]
pub unsafe extern "C" fn getsockopt(
    fd: c_int,
    level: c_int,
    name: c_int,
    value: *mut c_void,
    len: *mut socklen_t,
) -> c_int {
    if watched(fd).is_none() {
        return real::getsockopt(fd, level, name, value, len);
    }
    let outcome = Outcome::of(real::getsockopt(fd, level, name, value, len) as isize);
    tracer::emit(false, || {
        let option = show::option(level, name);
        let args = format!("{fd}, {option}");
        let op = format!("getsockopt({option})");
        if outcome.ret < 0 {
            let error = prise::socket::os_error_of(Errno::from_raw(outcome.errno), &op, fd, None);
            return prise::ffi::trace::line("getsockopt", &args, "-1", Some(&error));
        }
        let shown = if len.is_null() {
            "?".to_string()
        } else {
            show::option_value(level, name, value as *const u8, *len as usize)
        };
        prise::ffi::trace::line("getsockopt", &args, &format!("0, value {shown}"), None)
    });
    outcome.finish()
}
