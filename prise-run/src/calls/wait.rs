//! Waiting: poll, select and epoll_wait are traced when they wait on a socket (an epoll
//! instance counts once epoll_ctl has put a socket in it).

use std::ffi::c_int;

use libc::{epoll_event, fd_set, nfds_t, pollfd, timeval};

use super::{choose_faults, quiet, Call, Faulted, Outcome, Said};
use crate::fds::{self, Kind};
use crate::{real, show, tracer};

/// A wait injected with EINTR, or the real one.
fn wait_or_fault(real_call: impl FnOnce() -> c_int) -> (Faulted, Outcome) {
    let faulted = choose_faults(Call::Wait, -1, Kind::Other, 0, 0);
    let outcome = match faulted.errno {
        Some(errno) => Outcome::failed(errno),
        None => Outcome::of(real_call() as isize),
    };
    (faulted, outcome)
}

#[no_mangle]
pub unsafe extern "C" fn poll(fds_in: *mut pollfd, count: nfds_t, timeout: c_int) -> c_int {
    let entries = if fds_in.is_null() || count > 4096 {
        &[][..]
    } else {
        std::slice::from_raw_parts(fds_in, count as usize)
    };
    if quiet() || tracer::busy() || !entries.iter().any(|p| fds::kind(p.fd).is_socket()) {
        return real::poll(fds_in, count, timeout);
    }
    let (faulted, outcome) = wait_or_fault(|| real::poll(fds_in, count, timeout));
    tracer::emit(true, || {
        let asked: Vec<String> = entries
            .iter()
            .map(|p| format!("{} {}", p.fd, show::poll_events(p.events)))
            .collect();
        let args = format!("[{}], {count}, {timeout}", asked.join(", "));
        let ready: Vec<String> = entries
            .iter()
            .filter(|p| p.revents != 0)
            .map(|p| format!("{} {}", p.fd, show::poll_events(p.revents)))
            .collect();
        let detail = if ready.is_empty() {
            String::new()
        } else {
            format!(", [{}]", ready.join(", "))
        };
        outcome.line("poll", &args, -1, faulted.said(detail))
    });
    outcome.finish()
}

/// The descriptors below `count` set in `set`.
unsafe fn members(set: *const fd_set, count: c_int) -> Vec<c_int> {
    if set.is_null() {
        return Vec::new();
    }
    (0..count.clamp(0, libc::FD_SETSIZE as c_int))
        .filter(|&fd| libc::FD_ISSET(fd, set))
        .collect()
}

fn set_text(fds_in: &[c_int]) -> String {
    let listed: Vec<String> = fds_in.iter().map(c_int::to_string).collect();
    format!("[{}]", listed.join(" "))
}

#[no_mangle]
pub unsafe extern "C" fn select(
    count: c_int,
    read: *mut fd_set,
    write: *mut fd_set,
    except: *mut fd_set,
    timeout: *mut timeval,
) -> c_int {
    if quiet() || tracer::busy() {
        return real::select(count, read, write, except, timeout);
    }
    let sets = [read, write, except];
    let watches_a_socket = (0..count.clamp(0, libc::FD_SETSIZE as c_int)).any(|fd| {
        sets.iter()
            .any(|&set| !set.is_null() && libc::FD_ISSET(fd, set))
            && fds::kind(fd).is_socket()
    });
    if !watches_a_socket {
        return real::select(count, read, write, except, timeout);
    }
    // The sets are overwritten with the ready descriptors: read them before.
    let asked = sets.map(|set| members(set, count));
    let waited = timeout
        .as_ref()
        .map(|t| format!("{} s", show::seconds(t.tv_sec, t.tv_usec * 1000)));
    let (faulted, outcome) = wait_or_fault(|| real::select(count, read, write, except, timeout));
    tracer::emit(true, || {
        let args = format!(
            "{count}, {}, {}, {}, {}",
            set_text(&asked[0]),
            set_text(&asked[1]),
            set_text(&asked[2]),
            waited.as_deref().unwrap_or("NULL")
        );
        let detail = if outcome.ret > 0 {
            let mut parts = Vec::new();
            for (label, set) in [("read", read), ("write", write), ("except", except)] {
                let ready = members(set, count);
                if !ready.is_empty() {
                    parts.push(format!("{label} {}", set_text(&ready)));
                }
            }
            format!(", {}", parts.join(", "))
        } else {
            String::new()
        };
        outcome.line("select", &args, -1, faulted.said(detail))
    });
    outcome.finish()
}

fn epoll_op(op: c_int) -> String {
    match op {
        libc::EPOLL_CTL_ADD => "EPOLL_CTL_ADD".into(),
        libc::EPOLL_CTL_MOD => "EPOLL_CTL_MOD".into(),
        libc::EPOLL_CTL_DEL => "EPOLL_CTL_DEL".into(),
        other => other.to_string(),
    }
}

#[no_mangle]
pub unsafe extern "C" fn epoll_ctl(
    epfd: c_int,
    op: c_int,
    fd: c_int,
    event: *mut epoll_event,
) -> c_int {
    if quiet() || tracer::busy() || !fds::kind(fd).is_socket() {
        return real::epoll_ctl(epfd, op, fd, event);
    }
    let outcome = Outcome::of(real::epoll_ctl(epfd, op, fd, event) as isize);
    if outcome.ret == 0 && op != libc::EPOLL_CTL_DEL {
        fds::remember(epfd, Kind::EpollOfSockets);
    }
    tracer::emit(false, || {
        // EPOLL_CTL_DEL ignores the event.
        let events = match event.as_ref() {
            _ if op == libc::EPOLL_CTL_DEL => String::new(),
            None => ", NULL".to_string(),
            Some(e) => format!(", {}", show::epoll_events(e.events)),
        };
        let args = format!("{epfd}, {}, {fd}{events}", epoll_op(op));
        outcome.line("epoll_ctl", &args, epfd, Said::default())
    });
    outcome.finish()
}

#[no_mangle]
pub unsafe extern "C" fn epoll_wait(
    epfd: c_int,
    events: *mut epoll_event,
    max: c_int,
    timeout: c_int,
) -> c_int {
    if quiet() || tracer::busy() || fds::kind(epfd) != Kind::EpollOfSockets {
        return real::epoll_wait(epfd, events, max, timeout);
    }
    let (faulted, outcome) = wait_or_fault(|| real::epoll_wait(epfd, events, max, timeout));
    tracer::emit(true, || {
        let args = format!("{epfd}, {max}, {timeout}");
        let detail = if outcome.ret > 0 && !events.is_null() {
            let ready: Vec<String> = std::slice::from_raw_parts(events, outcome.ret as usize)
                .iter()
                .map(|e| {
                    // Programs most often put the descriptor in the data (data.fd).
                    let data = e.u64;
                    let low = data as u32 as c_int;
                    match fds::known(low) {
                        Some(kind) if kind.is_socket() => {
                            format!("fd {low} {}", show::epoll_events(e.events))
                        }
                        _ => format!("data {data:#x} {}", show::epoll_events(e.events)),
                    }
                })
                .collect();
            format!(", [{}]", ready.join(", "))
        } else {
            String::new()
        };
        outcome.line("epoll_wait", &args, epfd, faulted.said(detail))
    });
    outcome.finish()
}
