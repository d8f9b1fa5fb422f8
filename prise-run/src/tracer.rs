//! Where trace lines go and how they look: `prise: ` (with `[pid]` once the program has
//! more than one process, `[pid/tid]` on a thread other than the main one), two spaces
//! per level of prise call the line happened inside, then the line in PRISE_TRACE's
//! format. One raw write system call per line, with SIGPIPE held back.
//!
//! A prise call (reported by libprise through `prise_run_hook`) shows as one line with
//! its result, and the socket calls it made indented below it: those lines wait in a
//! per-thread buffer until the prise call returns. A call that waits for someone else
//! (accept, poll, select, epoll_wait), or too many lines, lets them out at once under a
//! `name(args) ...` header, and the end shows as `... name(args) = value`.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use crate::{config, errno};

thread_local! {
    /// Set while this library works on this thread: calls made meanwhile go straight
    /// to the C library.
    static BUSY: Cell<bool> = const { Cell::new(false) };
    /// The prise calls this thread is inside of, outermost first.
    static OPEN: RefCell<Vec<OpenCall>> = const { RefCell::new(Vec::new()) };
}

struct OpenCall {
    /// `name(args)`.
    header: String,
    /// Its header line is out: what happens inside is written as it happens.
    shown: bool,
    /// Lines of the calls it made, with their depth, until it returns.
    held: Vec<(usize, String)>,
}

/// Lines held for one prise call before they are let out under its header.
const MOST_HELD: usize = 32;

/// The descriptor lines go to (a duplicate, so the program may close or reuse its own).
static OUTPUT: AtomicI32 = AtomicI32::new(-1);
/// The trace is off for good (the output is gone).
static SILENCED: AtomicBool = AtomicBool::new(false);
/// The program forked: every line shows its pid.
static FORKED: AtomicBool = AtomicBool::new(false);
/// A thread other than the main one made a call: every line shows its pid.
static THREADED: AtomicBool = AtomicBool::new(false);

/// Runs `work` as the library's own, with errno kept and the guard held; None when the
/// guard was held already (a call from inside the library) or `work` panicked.
pub fn guarded<T>(work: impl FnOnce() -> T) -> Option<T> {
    let entered = BUSY.try_with(|busy| !busy.replace(true)).unwrap_or(false);
    if !entered {
        return None;
    }
    let saved = errno::get();
    let result = catch_unwind(AssertUnwindSafe(work)).ok();
    errno::set(saved);
    let _ = BUSY.try_with(|busy| busy.set(false));
    result
}

/// The library is working on this thread (or the thread is ending): pass calls through.
#[inline(always)]
pub fn busy() -> bool {
    BUSY.try_with(Cell::get).unwrap_or(true)
}

/// Whether calls are traced at all.
#[inline(always)]
pub fn tracing() -> bool {
    config().trace && !SILENCED.load(Ordering::Relaxed)
}

/// Opens the output: a duplicate of stderr, or the `--output` file in append mode.
pub fn start() {
    if config().trace {
        OUTPUT.store(open_output(), Ordering::Relaxed);
    }
}

/// The output as a descriptor of this library's own, -1 when there is none. stderr is
/// taken only while it is not a socket the program made (it may have closed its stderr
/// and got descriptor 2 back from socket(): lines there would corrupt its traffic).
fn open_output() -> libc::c_int {
    // SAFETY: open, fcntl and close on a NUL-terminated path or on descriptors.
    unsafe {
        let fd = match &config().output {
            Some(path) => libc::open(
                path.as_ptr(),
                libc::O_WRONLY | libc::O_APPEND | libc::O_CREAT | libc::O_CLOEXEC,
                0o644,
            ),
            None if crate::fds::known(2).is_some_and(crate::fds::Kind::is_socket) => -1,
            None => 2,
        };
        if fd < 0 {
            return -1;
        }
        // Out of the way of the numbers the program expects (its first socket is 3).
        let mut limit: libc::rlimit = std::mem::zeroed();
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        let high = (limit.rlim_cur.min(1024) as libc::c_int * 3 / 4).max(3);
        let moved = libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, high);
        if moved < 0 {
            // No room up there: a file keeps its number; stderr's 2 is the program's.
            return if fd == 2 { -1 } else { fd };
        }
        if fd != 2 {
            libc::close(fd);
        }
        moved
    }
}

/// Writes `bytes` whole to the output with the write system call, SIGPIPE held back; a
/// closed output is opened again once, a broken one ends the trace.
fn write_out(bytes: &[u8]) {
    let mut fd = OUTPUT.load(Ordering::Relaxed);
    let mut reopened = false;
    let mut done = 0;
    while done < bytes.len() {
        let rest = &bytes[done..];
        let ret = prise::socket::sigpipe_held(|| {
            // SAFETY: rest is valid for rest.len() bytes.
            unsafe {
                libc::syscall(libc::SYS_write, fd, rest.as_ptr(), rest.len()) as libc::ssize_t
            }
        });
        if ret > 0 {
            done += ret as usize;
            continue;
        }
        match errno::get() {
            libc::EINTR => continue,
            libc::EBADF if !reopened => {
                reopened = true;
                fd = open_output();
                OUTPUT.store(fd, Ordering::Relaxed);
            }
            _ => {
                SILENCED.store(true, Ordering::Relaxed);
                return;
            }
        }
    }
}

/// Writes one line at `depth` with this process's prefix.
fn write_line(depth: usize, text: &str) {
    // SAFETY: getpid and gettid have no preconditions.
    let (pid, tid) = unsafe {
        (
            libc::getpid(),
            libc::syscall(libc::SYS_gettid) as libc::pid_t,
        )
    };
    if tid != pid {
        THREADED.store(true, Ordering::Relaxed);
    }
    let many = FORKED.load(Ordering::Relaxed)
        || THREADED.load(Ordering::Relaxed)
        || pid != config().root_pid;
    let prefix = match (many, tid == pid) {
        (false, _) => "prise: ".to_string(),
        (true, true) => format!("prise[{pid}]: "),
        (true, false) => format!("prise[{pid}/{tid}]: "),
    };
    let line = format!("{prefix}{}{text}\n", "  ".repeat(depth));
    write_out(line.as_bytes());
}

/// Sends a line where it belongs: held for the prise call it happened in, or out.
fn place(open: &mut [OpenCall], depth: usize, text: String) {
    match open.last_mut() {
        Some(top) if !top.shown => top.held.push((depth, text)),
        _ => write_line(depth, &text),
    }
}

/// Lets out every held line, under the headers of the prise calls not shown yet.
fn let_out(open: &mut [OpenCall]) {
    for (depth, call) in open.iter_mut().enumerate() {
        if !call.shown {
            call.shown = true;
            write_line(depth, &format!("{} ...", call.header));
            for (depth, text) in call.held.drain(..) {
                write_line(depth, &text);
            }
        }
    }
}

/// The line of one socket call of the program, made by `line` (which runs guarded);
/// `waits` marks a call that waits for another party (accept, poll…).
pub fn emit(waits: bool, line: impl FnOnce() -> String) {
    if !tracing() {
        return;
    }
    guarded(|| {
        let text = line();
        let _ = OPEN.try_with(|open| {
            let mut open = open.borrow_mut();
            let depth = open.len();
            let held: usize = open.iter().map(|call| call.held.len()).sum();
            if depth > 0 && (waits || held >= MOST_HELD) {
                let_out(&mut open);
            }
            place(&mut open, depth, text);
        });
    });
}

/// libprise starts a call on this thread (`header` is `name(args)`).
pub fn enter_prise_call(header: String) {
    guarded(|| {
        let _ = OPEN.try_with(|open| {
            open.borrow_mut().push(OpenCall {
                header,
                shown: false,
                held: Vec::new(),
            })
        });
    });
}

/// libprise's call returned; `line` is its whole line.
pub fn leave_prise_call(line: String) {
    guarded(|| {
        let _ = OPEN.try_with(|open| {
            let mut open = open.borrow_mut();
            // A call whose start was not seen (it began while this library was busy,
            // in a signal handler) is shown alone, where it ends.
            if !open
                .last()
                .is_some_and(|call| line.starts_with(&call.header))
            {
                let depth = open.len();
                return place(&mut open, depth, line);
            }
            let call = open.pop().expect("checked above");
            let depth = open.len();
            if call.shown {
                return place(&mut open, depth, format!("... {line}"));
            }
            place(&mut open, depth, line);
            for (depth, text) in call.held {
                place(&mut open, depth, text);
            }
        });
    });
}

/// pthread_atfork, in the parent: from now on lines show the pid.
pub extern "C" fn after_fork() {
    FORKED.store(true, Ordering::Relaxed);
}

/// pthread_atfork, in the child: lines show the pid; the lines held for prise calls
/// belong to the parent, and what the child does inside them is shown as it happens.
pub fn after_fork_in_child() {
    FORKED.store(true, Ordering::Relaxed);
    let _ = OPEN.try_with(|open| {
        if let Ok(mut open) = open.try_borrow_mut() {
            for call in open.iter_mut() {
                call.shown = true;
                call.held.clear();
            }
        }
    });
}

/// Says why the program cannot go on under prise-run, and ends it.
pub fn fatal(message: &str) -> ! {
    let line = format!("prise-run: {message}\n");
    // SAFETY: line is valid for its length; _exit ends the process.
    unsafe {
        libc::syscall(libc::SYS_write, 2, line.as_ptr(), line.len());
        libc::_exit(127)
    }
}
