//! Socket activation: the listening sockets a service manager (systemd, or any manager
//! that follows its protocol) opened before starting the program. They arrive as
//! descriptors 3, 4, … with LISTEN_PID (the program's pid), LISTEN_FDS (how many) and
//! LISTEN_FDNAMES (their names, colon-separated), as sd_listen_fds(3) reads them.
//!
//! The environment is read once per process; what it held is kept in a table published
//! with a compare-and-swap and never freed, with no lock: a fork made while another
//! thread reads it leaves the child nothing held (see ffi/interned.rs). Each socket is
//! handed out once, by prise_tcp_listen, prise_unix_listen, prise_udp_bind or
//! prise_listen_fd_named.

use std::os::fd::{OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use nix::errno::Errno;

use crate::addr::SockAddr;
use crate::error::{shown, Error, Result};
use crate::socket;

/// SD_LISTEN_FDS_START: the first descriptor a manager passes.
const FIRST_DESCRIPTOR: RawFd = 3;

/// The variables the protocol uses; all are unset once read, as sd_listen_fds(1) does,
/// so that programs this one starts do not take its sockets for theirs.
const VARIABLES: [&str; 4] = [
    "LISTEN_PID",
    "LISTEN_FDS",
    "LISTEN_FDNAMES",
    "LISTEN_PIDFDID",
];

struct Inherited {
    fd: RawFd,
    name: String,
    taken: AtomicBool,
}

/// What the environment passed: the sockets, or why the variables could not be used.
struct Passed(Result<Vec<Inherited>>);

static PASSED: AtomicPtr<Passed> = AtomicPtr::new(std::ptr::null_mut());

fn invalid(message: String) -> Error {
    Error::with_message(Errno::EINVAL, message)
}

/// The sockets passed to this process, read from the environment on first use.
fn passed() -> &'static Passed {
    let current = PASSED.load(Ordering::Acquire);
    if !current.is_null() {
        // SAFETY: a published table is never freed.
        return unsafe { &*current };
    }
    let fresh = Box::into_raw(Box::new(Passed(read_environment())));
    match PASSED.compare_exchange(
        std::ptr::null_mut(),
        fresh,
        Ordering::AcqRel,
        Ordering::Acquire,
    ) {
        Ok(_) => {
            // Only after the table is published: a thread that reads the variables
            // late (and finds none) loses the race above and uses this table.
            for name in VARIABLES {
                std::env::remove_var(name);
            }
            // SAFETY: fresh was just published and is never freed.
            unsafe { &*fresh }
        }
        Err(winner) => {
            // SAFETY: fresh was never published; winner is never freed.
            drop(unsafe { Box::from_raw(fresh) });
            unsafe { &*winner }
        }
    }
}

fn variable(name: &str) -> Option<String> {
    std::env::var_os(name).map(|value| value.to_string_lossy().into_owned())
}

/// sd_listen_fds' reading of the variables: none, or a LISTEN_PID of another process,
/// is no socket; a malformed value, a count of names that differs from LISTEN_FDS, or a
/// descriptor that is not open is an error. The sockets become close-on-exec.
fn read_environment() -> Result<Vec<Inherited>> {
    let Some(pid) = variable("LISTEN_PID") else {
        return Ok(Vec::new());
    };
    let pid = pid
        .parse::<libc::pid_t>()
        .ok()
        .filter(|pid| *pid > 0)
        .ok_or_else(|| {
            invalid(format!(
                "socket activation: LISTEN_PID=\"{}\" is not a process id",
                shown(pid.as_bytes())
            ))
        })?;
    // SAFETY: getpid cannot fail.
    if pid != unsafe { libc::getpid() } {
        return Ok(Vec::new()); // meant for another process (one this one came from)
    }
    let Some(count) = variable("LISTEN_FDS") else {
        return Ok(Vec::new());
    };
    let count = count
        .parse::<RawFd>()
        .ok()
        .filter(|count| (0..=RawFd::MAX - FIRST_DESCRIPTOR).contains(count))
        .ok_or_else(|| {
            invalid(format!(
                "socket activation: LISTEN_FDS=\"{}\" is not a count of descriptors",
                shown(count.as_bytes())
            ))
        })?;
    // The names (if given) are counted before anything is sized by LISTEN_FDS: its
    // value is the environment's word, and a huge one must cost nothing.
    let names: Option<Vec<String>> = match variable("LISTEN_FDNAMES") {
        Some(names) if count > 0 => Some(names.split(':').map(String::from).collect()),
        _ => None,
    };
    if let Some(names) = &names {
        if names.len() != count as usize {
            return Err(invalid(format!(
                "socket activation: LISTEN_FDNAMES gives {} names for LISTEN_FDS={count}",
                names.len()
            )));
        }
    }
    let mut names = names.map(Vec::into_iter);
    // Each descriptor is checked before it is kept, so the table grows only with the
    // descriptors really open: a count beyond them fails at the first closed one.
    let mut sockets = Vec::new();
    for fd in FIRST_DESCRIPTOR..FIRST_DESCRIPTOR + count {
        socket::set_cloexec(fd).map_err(|e| {
            Error::with_message(
                e.errno(),
                format!(
                    "socket activation: LISTEN_FDS={count}, but descriptor {fd} cannot be \
                     used: {}",
                    e.message()
                ),
            )
        })?;
        let name = names.as_mut().and_then(Iterator::next);
        sockets.push(Inherited {
            fd,
            name: name.unwrap_or_else(|| "unknown".into()),
            taken: AtomicBool::new(false),
        });
    }
    Ok(sockets)
}

/// How many sockets the manager passed (descriptors 3 to 3 + count - 1).
pub fn count() -> Result<usize> {
    passed().0.as_ref().map(Vec::len).map_err(Error::clone)
}

/// Whether a socket passed by the manager is still to be handed out; cheap, so that the
/// listening helpers resolve nothing more when none was passed.
pub fn any_left() -> bool {
    passed()
        .0
        .as_ref()
        .is_ok_and(|sockets| sockets.iter().any(|s| !s.taken.load(Ordering::Acquire)))
}

/// Hands `socket` out, unless another call took it first.
fn take(socket: &Inherited) -> Option<OwnedFd> {
    if socket.taken.swap(true, Ordering::AcqRel) {
        return None;
    }
    socket::adopt_inherited(socket.fd).ok()
}

/// The passed socket of type `socktype` (listening, for a stream) whose local address
/// `wanted` accepts, handed out once; None when there is none.
pub fn take_bound(socktype: libc::c_int, wanted: impl Fn(&SockAddr) -> bool) -> Option<OwnedFd> {
    let sockets = passed().0.as_ref().ok()?;
    sockets
        .iter()
        .filter(|socket| !socket.taken.load(Ordering::Acquire))
        .filter(|socket| {
            let option = |name| socket::get_int_option(socket.fd, libc::SOL_SOCKET, name).ok();
            option(libc::SO_TYPE) == Some(socktype)
                && (socktype != libc::SOCK_STREAM || option(libc::SO_ACCEPTCONN) == Some(1))
                && socket::getsockname(socket.fd).is_ok_and(|addr| wanted(&addr))
        })
        .find_map(take)
}

/// The local addresses of the passed sockets of `socktype` not handed out yet: a bind
/// that fails beside them says what the manager listens on.
pub fn unclaimed_addresses(socktype: libc::c_int) -> Vec<SockAddr> {
    let Ok(sockets) = passed().0.as_ref() else {
        return Vec::new();
    };
    sockets
        .iter()
        .filter(|socket| !socket.taken.load(Ordering::Acquire))
        .filter(|socket| {
            socket::get_int_option(socket.fd, libc::SOL_SOCKET, libc::SO_TYPE).ok()
                == Some(socktype)
        })
        .filter_map(|socket| socket::getsockname(socket.fd).ok())
        .collect()
}

/// The passed socket named `name` (LISTEN_FDNAMES), handed out once.
pub fn take_named(name: &str) -> Result<OwnedFd> {
    let sockets = passed().0.as_ref().map_err(Error::clone)?;
    if let Some(fd) = sockets
        .iter()
        .filter(|socket| socket.name == name)
        .find_map(take)
    {
        return Ok(fd);
    }
    let names: Vec<&str> = sockets.iter().map(|s| s.name.as_str()).collect();
    Err(Error::with_message(
        Errno::ENOENT,
        if names.is_empty() {
            format!("no socket named \"{name}\" was passed: the service manager passed none")
        } else {
            format!(
                "no socket named \"{name}\" is left: the service manager passed {} (each is \
                 handed out once)",
                names.join(", ")
            )
        },
    ))
}
