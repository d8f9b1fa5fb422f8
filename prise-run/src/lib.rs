//! libprise_run.so, the library `prise-run` preloads into a program: it defines the
//! socket functions of the C library (socket, connect, read, send, getaddrinfo, poll…),
//! and each one calls the real function, found past this library with
//! dlsym(RTLD_NEXT), then says what happened, with the address bound, the peer, the
//! bytes moved and, on failure, prise's sentence for the cause. It also injects faults
//! (`--fault`) and keeps a write to a closed peer from killing the program.
//!
//! Rules that keep the program unchanged:
//! - calls on files, pipes and terminals go straight to the C library after one load
//!   from a per-descriptor table ([`fds`]);
//! - errno is always what the real call left (or the injected fault's);
//! - the library's own work (formatting, writing a line) runs under a per-thread guard:
//!   a socket call made meanwhile (by a signal handler, say) goes straight through;
//! - lines are written with the raw write system call, one write per line;
//! - the state is atomics and per-thread cells, no lock (the configuration is read
//!   once, in the constructor), so a fork at any moment leaves nothing locked;
//! - prise's own exported functions are not exported from here (see build.rs): the
//!   program keeps its libprise or course helper library.

// The interposed functions are called from C, where `unsafe` means nothing; their
// contracts are the C library's.
#![allow(clippy::missing_safety_doc)]

mod calls;
mod faults;
mod fds;
mod options;
mod show;
mod real;
mod tracer;

use std::sync::OnceLock;

use options::Faults;

/// errno of the calling thread.
mod errno {
    pub fn get() -> libc::c_int {
        // SAFETY: __errno_location returns the calling thread's errno.
        unsafe { *libc::__errno_location() }
    }

    pub fn set(value: libc::c_int) {
        // SAFETY: as above.
        unsafe { *libc::__errno_location() = value }
    }
}

/// What the launcher asked for (see [`options`]), read once per process.
pub(crate) struct Config {
    pub trace: bool,
    pub data_bytes: usize,
    pub output: Option<std::ffi::CString>,
    pub faults: Faults,
    /// Some fault is asked for (checked on every socket call).
    pub faulty: bool,
    pub seed: u64,
    /// A write to a closed peer raises SIGPIPE as without prise-run.
    pub sigpipe: bool,
    pub root_pid: libc::pid_t,
}

static CONFIG: OnceLock<Config> = OnceLock::new();

pub(crate) fn config() -> &'static Config {
    CONFIG.get_or_init(read_config)
}

fn read_config() -> Config {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    // SAFETY: getpid has no preconditions.
    let own_pid = unsafe { libc::getpid() };
    let faults = match var(options::ENV_FAULT).map(|spec| Faults::parse(&spec)) {
        Some(Ok(faults)) => faults,
        Some(Err(reason)) => tracer::fatal(&format!("{}: {reason}", options::ENV_FAULT)),
        None => Faults::default(),
    };
    Config {
        trace: var(options::ENV_TRACE).is_none_or(|v| v != "0"),
        data_bytes: var(options::ENV_DATA)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        output: var(options::ENV_OUTPUT).and_then(|p| std::ffi::CString::new(p).ok()),
        faults,
        faulty: faults.any(),
        seed: var(options::ENV_SEED)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        sigpipe: var(options::ENV_SIGPIPE).is_some_and(|v| v == "1"),
        root_pid: var(options::ENV_ROOT)
            .and_then(|v| v.parse().ok())
            .unwrap_or(own_pid),
    }
}

/// Runs when the library is loaded, before the program's constructors and main: reads
/// the configuration, finds the real functions, opens the output, and stops
/// LD_PRELOAD from reaching the programs this one executes when `--no-follow` asked.
extern "C" fn load() {
    tracer::guarded(|| {
        real::resolve_all();
        config();
        tracer::start();
        // SAFETY: the handlers are plain functions that only touch atomics and this
        // thread's trace state.
        unsafe { libc::pthread_atfork(None, Some(tracer::after_fork), Some(after_fork_in_child)) };
        if std::env::var_os(options::ENV_FOLLOW).is_some_and(|v| v == "0") {
            stop_following();
        }
    });
}

/// pthread_atfork, in the child.
extern "C" fn after_fork_in_child() {
    tracer::after_fork_in_child();
    faults::after_fork_in_child();
}

#[used]
#[link_section = ".init_array"]
static LOAD: extern "C" fn() = load;

/// Takes this library out of LD_PRELOAD, so that programs executed from here run
/// without it (the environment is changed before main, while one thread runs).
fn stop_following() {
    let Some(preload) = std::env::var_os("LD_PRELOAD") else {
        return;
    };
    let preload = preload.to_string_lossy().into_owned();
    let kept: Vec<&str> = preload
        .split([' ', ':'])
        .filter(|entry| !entry.is_empty() && !entry.ends_with("/libprise_run.so"))
        .collect();
    if kept.is_empty() {
        std::env::remove_var("LD_PRELOAD");
    } else {
        std::env::set_var("LD_PRELOAD", kept.join(":"));
    }
}

/// prise's side of the meeting (see prise's `ffi::trace::hook`): libprise reports each
/// of its calls here when it finds this symbol, so that the socket calls it makes show
/// indented beneath it.
///
/// # Safety
/// `text` is valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn prise_run_hook(
    event: libc::c_int,
    text: *const u8,
    len: usize,
) -> libc::c_int {
    use prise::ffi::trace::hook;
    if event == hook::QUERY {
        return libc::c_int::from(config().trace);
    }
    if text.is_null() {
        return 0;
    }
    let text = String::from_utf8_lossy(std::slice::from_raw_parts(text, len)).into_owned();
    match event {
        hook::ENTER => tracer::enter_prise_call(text),
        hook::LEAVE => tracer::leave_prise_call(text),
        _ => {}
    }
    0
}
