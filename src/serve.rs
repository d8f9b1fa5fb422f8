//! Server scaffolding for the course's two server models: a process per client and a
//! thread per client (the third, one thread for every client, is in events.rs). Both wait for clients with poll (a non-blocking listening socket
//! must not spin), accept until the listening socket is shut down (or fails), close each
//! connection after its handler is done, and wait for their children or threads before
//! returning. The handler is the caller's C function, called from C frames
//! (src/serve_handler.c) so that it may end its thread with pthread_exit.

use std::ffi::{c_int, c_void};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::socket;

/// The caller's handler and the context it is given; prise never looks inside ctx.
#[derive(Clone, Copy)]
pub struct Handler {
    pub function: extern "C" fn(conn: c_int, ctx: *mut c_void) -> c_int,
    pub ctx: *mut c_void,
}

/// `struct prise_served_call` of src/serve_handler.c.
#[repr(C)]
struct ServedCall {
    handler: extern "C" fn(conn: c_int, ctx: *mut c_void) -> c_int,
    ctx: *mut c_void,
    conn: c_int,
    release: extern "C" fn(call: *mut c_void),
}

unsafe extern "C" {
    safe fn prise__serve_thread(call: *mut c_void) -> *mut c_void;
    fn prise__serve_child(call: *mut ServedCall) -> c_int;
}

/// What to do after accept failed.
pub(crate) enum AcceptOutcome {
    /// The client that failed is gone (or none was there): accept the next one.
    Retry,
    /// Descriptors or memory ran out: wait a little before accepting again, so that the
    /// loop does not spin on a client it cannot take.
    Pause,
    /// The listening socket was shut down.
    Stop,
}

/// How long a server waits before accepting again when descriptors or memory ran out.
pub(crate) const ACCEPT_PAUSE: Duration = Duration::from_millis(10);

/// Refuses a socket that is not listening, before the loop starts.
pub(crate) fn check_listening(listen_fd: RawFd) -> Result<()> {
    let listening = socket::get_int_option(listen_fd, libc::SOL_SOCKET, libc::SO_ACCEPTCONN)
        .map_err(|e| Error::new(e.errno(), format!("serve on descriptor {listen_fd}")))?;
    if listening == 0 {
        return Err(Error::with_message(
            Errno::EINVAL,
            format!("serve on socket {listen_fd}: the socket is not listening (call listen first)"),
        ));
    }
    Ok(())
}

/// Sorts accept's failures: those of one client, which accept(2) says to retry (Linux
/// passes a new connection's pending network error on as accept's own), are retried;
/// running out of descriptors or memory pauses; EINVAL means the socket was shut down.
pub(crate) fn after_accept_error(error: Error) -> Result<AcceptOutcome> {
    match error.errno() {
        Errno::EINTR
        | Errno::EAGAIN
        | Errno::ECONNABORTED
        | Errno::EPROTO
        | Errno::ENETDOWN
        | Errno::ENOPROTOOPT
        | Errno::EHOSTDOWN
        | Errno::ENONET
        | Errno::EHOSTUNREACH
        | Errno::EOPNOTSUPP
        | Errno::ENETUNREACH => Ok(AcceptOutcome::Retry),
        Errno::EMFILE | Errno::ENFILE | Errno::ENOBUFS | Errno::ENOMEM => Ok(AcceptOutcome::Pause),
        Errno::EINVAL => Ok(AcceptOutcome::Stop),
        _ => Err(error),
    }
}

/// The next client (close-on-exec), or None once the listening socket is shut down.
/// Waits with poll, waking every 200 ms for `tick` (the fork model reaps its children
/// there), so that a non-blocking listening socket sleeps instead of spinning.
fn next_connection(listen_fd: RawFd, tick: &mut dyn FnMut()) -> Result<Option<OwnedFd>> {
    loop {
        tick();
        match socket::poll_one(listen_fd, libc::POLLIN, 200) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) if e.errno() == Errno::EINTR => continue,
            Err(e) => return Err(e),
        }
        match socket::accept(listen_fd, libc::SOCK_CLOEXEC) {
            Ok((conn, _)) => return Ok(Some(conn)),
            Err(error) => match after_accept_error(error)? {
                AcceptOutcome::Retry => continue,
                // This thread only accepts (the clients are served elsewhere): it may sleep.
                AcceptOutcome::Pause => std::thread::sleep(ACCEPT_PAUSE),
                AcceptOutcome::Stop => return Ok(None),
            },
        }
    }
}

/// The connections being served, so that the server can wait for the last one.
#[derive(Default)]
struct Live {
    count: Mutex<usize>,
    none_left: Condvar,
}

impl Live {
    fn count(&self) -> std::sync::MutexGuard<'_, usize> {
        self.count
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn enter(&self) {
        *self.count() += 1;
    }

    fn leave(&self) {
        let mut count = self.count();
        *count -= 1;
        if *count == 0 {
            self.none_left.notify_all();
        }
    }

    fn wait_for_none(&self) {
        let mut count = self.count();
        while *count > 0 {
            count = self
                .none_left
                .wait(count)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
}

/// One connection served by a thread: the call the C side makes, then what release
/// needs. `call` comes first, so a pointer to it is a pointer to the whole.
#[repr(C)]
struct Served {
    call: ServedCall,
    /// The connection the handler got. The handler may close it itself (the course's
    /// service functions do), after which its number may already be another thread's:
    /// closed by release only when it is still this connection.
    handed: std::mem::ManuallyDrop<OwnedFd>,
    /// prise's own duplicate, to tell whether `handed` is still this connection.
    kept: OwnedFd,
    live: Arc<Live>,
}

/// Called from C once the thread's handler is done (returned or pthread_exit): closes
/// the connection unless the handler did, then counts it out.
extern "C" fn release_connection(call: *mut c_void) {
    // SAFETY: call is the Box made for this thread by serve_threads, released once.
    let served = unsafe { Box::from_raw(call.cast::<Served>()) };
    let Served {
        handed, kept, live, ..
    } = *served;
    if socket::same_socket(handed.as_raw_fd(), kept.as_raw_fd()) {
        drop(std::mem::ManuallyDrop::into_inner(handed));
    }
    drop(kept);
    live.leave();
}

/// Starts a detached thread running the handler (in C) on `served`.
fn spawn_handler_thread(served: *mut Served) -> std::result::Result<(), c_int> {
    // SAFETY: the attribute is initialised before use and destroyed after; the thread
    // gets a pointer it owns from now on (released by release_connection).
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        libc::pthread_attr_init(&mut attr);
        libc::pthread_attr_setdetachstate(&mut attr, libc::PTHREAD_CREATE_DETACHED);
        let mut thread: libc::pthread_t = 0;
        let ret = libc::pthread_create(&mut thread, &attr, prise__serve_thread, served.cast());
        libc::pthread_attr_destroy(&mut attr);
        if ret == 0 {
            Ok(())
        } else {
            Err(ret)
        }
    }
}

/// A thread per client; the descriptor is handed to the thread by value. A handler that
/// ends its thread with pthread_exit ends that connection only.
pub fn serve_threads(listen_fd: RawFd, handler: Handler) -> Result<()> {
    check_listening(listen_fd)?;
    let live = Arc::new(Live::default());
    let result = loop {
        let conn = match next_connection(listen_fd, &mut || {}) {
            Ok(Some(conn)) => conn,
            Ok(None) => break Ok(()),
            Err(error) => break Err(error),
        };
        // Out of descriptors, the accepted client waits (as the next ones do at accept)
        // until a handler ends and frees one, instead of being reset.
        let kept = loop {
            match socket::dup_cloexec(conn.as_raw_fd()) {
                Ok(kept) => break Some(kept),
                Err(error) if matches!(error.errno(), Errno::EMFILE | Errno::ENFILE) => {
                    std::thread::sleep(ACCEPT_PAUSE)
                }
                Err(_) => break None,
            }
        };
        let Some(kept) = kept else {
            continue; // the client is refused (conn closed)
        };
        live.enter();
        let served = Box::into_raw(Box::new(Served {
            call: ServedCall {
                handler: handler.function,
                ctx: handler.ctx,
                conn: conn.as_raw_fd(),
                release: release_connection,
            },
            handed: std::mem::ManuallyDrop::new(conn),
            kept,
            live: Arc::clone(&live),
        }));
        if spawn_handler_thread(served).is_err() {
            // No thread to be had: this client is refused, the server goes on.
            release_connection(served.cast());
        }
    };
    live.wait_for_none();
    result
}

/// Reaps the children that have ended (waiting for all of them when `block`); keeps
/// those still running.
fn reap(children: &mut Vec<libc::pid_t>, block: bool) {
    children.retain(|&pid| {
        let mut status = 0;
        let flags = if block { 0 } else { libc::WNOHANG };
        loop {
            // SAFETY: waitpid on one of our own children.
            let ret = unsafe { libc::waitpid(pid, &mut status, flags) };
            if ret < 0 && Errno::last() == Errno::EINTR {
                continue;
            }
            return ret == 0; // 0: still running; pid or -1 (ECHILD): gone
        }
    });
}

/// Called from C in a child whose handler ended its thread instead of returning: the
/// child ends as a process whose last thread exits does, with status 0.
extern "C" fn end_child(_call: *mut c_void) {
    exit_child(0)
}

/// Ends a served child: what the handler printed is flushed (as exit() would), but the
/// parent's atexit work is not run again (as _exit). glibc's fork leaves the child's
/// stdio locks usable.
fn exit_child(status: c_int) -> ! {
    // SAFETY: fflush(NULL) flushes every stdio stream; _exit ends the process.
    unsafe {
        libc::fflush(std::ptr::null_mut());
        libc::_exit(status & 0xff)
    }
}

/// The child of serve_fork: runs the handler and exits with its status.
fn run_child(listen_fd: RawFd, conn: OwnedFd, handler: Handler) -> ! {
    let _ = socket::close(listen_fd);
    let mut call = ServedCall {
        handler: handler.function,
        ctx: handler.ctx,
        conn: conn.as_raw_fd(),
        release: end_child,
    };
    // SAFETY: call is valid for the whole call.
    let status = unsafe { prise__serve_child(&mut call) };
    // The handler may have closed conn itself; the exit closes what is left.
    std::mem::forget(conn);
    exit_child(status)
}

/// A process per client. Children are reaped as they end (the listening socket is
/// polled with a short timeout so that none stays a zombie while no client comes).
pub fn serve_fork(listen_fd: RawFd, handler: Handler) -> Result<()> {
    check_listening(listen_fd)?;
    let mut children = Vec::new();
    let result = loop {
        let conn = match next_connection(listen_fd, &mut || reap(&mut children, false)) {
            Ok(Some(conn)) => conn,
            Ok(None) => break Ok(()),
            Err(error) => break Err(error),
        };
        // SAFETY: the child only runs the handler and exits; it never returns here.
        match unsafe { libc::fork() } {
            0 => run_child(listen_fd, conn, handler),
            pid if pid > 0 => children.push(pid), // conn is closed here, kept there
            _ => {
                // No process to be had: this client is refused, the server goes on.
                drop(conn);
                std::thread::sleep(ACCEPT_PAUSE);
            }
        }
    };
    reap(&mut children, true);
    result
}
