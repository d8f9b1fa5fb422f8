//! Server scaffolding for the course's two server models: a process per client and a
//! thread per client. Both accept until the listening socket is shut down (or fails),
//! close each connection after its handler returns, and wait for their children or
//! threads before returning.

use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::Duration;

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{getsockopt, sockopt};

use crate::error::{Error, Result};
use crate::helpers::borrowed;
use crate::socket;

/// What to do after accept failed.
enum AcceptOutcome {
    Retry,
    Stop,
}

/// Refuses a socket that is not listening, before the loop starts.
fn check_listening(listen_fd: RawFd) -> Result<()> {
    let listening = getsockopt(&borrowed(listen_fd)?, sockopt::AcceptConn)
        .map_err(|errno| Error::new(errno, format!("serve on descriptor {listen_fd}")))?;
    if !listening {
        return Err(Error::with_message(
            Errno::EINVAL,
            format!("serve on socket {listen_fd}: the socket is not listening (call listen first)"),
        ));
    }
    Ok(())
}

/// Sorts accept's failures: transient ones are retried (after a pause when descriptors or
/// memory ran out, so the loop does not spin); EINVAL means the socket was shut down.
fn after_accept_error(error: Error) -> Result<AcceptOutcome> {
    match error.errno() {
        Errno::EINTR | Errno::EAGAIN | Errno::ECONNABORTED | Errno::EPROTO => {
            Ok(AcceptOutcome::Retry)
        }
        Errno::EMFILE | Errno::ENFILE | Errno::ENOBUFS | Errno::ENOMEM => {
            std::thread::sleep(Duration::from_millis(10));
            Ok(AcceptOutcome::Retry)
        }
        Errno::EINVAL => Ok(AcceptOutcome::Stop),
        _ => Err(error),
    }
}

/// A thread per client; the descriptor is handed to the thread by value.
pub fn serve_threads(listen_fd: RawFd, handler: Arc<dyn Fn(RawFd) + Send + Sync>) -> Result<()> {
    check_listening(listen_fd)?;
    let mut threads: Vec<std::thread::JoinHandle<()>> = Vec::new();
    let result = loop {
        threads.retain(|t| !t.is_finished());
        match socket::accept(listen_fd) {
            Ok((conn, _)) => {
                let handler = Arc::clone(&handler);
                let spawned = std::thread::Builder::new()
                    .name(format!("prise-conn-{conn}"))
                    .spawn(move || {
                        handler(conn);
                        let _ = socket::close(conn);
                    });
                match spawned {
                    Ok(thread) => threads.push(thread),
                    // No thread to be had: this client is refused, the server goes on.
                    Err(_) => {
                        let _ = socket::close(conn);
                    }
                }
            }
            Err(error) => match after_accept_error(error) {
                Ok(AcceptOutcome::Retry) => continue,
                Ok(AcceptOutcome::Stop) => break Ok(()),
                Err(error) => break Err(error),
            },
        }
    };
    for thread in threads {
        let _ = thread.join();
    }
    result
}

/// Reaps the children that have ended, without blocking; returns those still running.
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

/// A process per client. Children are reaped as they end (the listening socket is
/// polled with a short timeout so that none stays a zombie while no client comes).
pub fn serve_fork(listen_fd: RawFd, handler: &dyn Fn(RawFd) -> libc::c_int) -> Result<()> {
    check_listening(listen_fd)?;
    let mut children = Vec::new();
    let result = loop {
        reap(&mut children, false);
        let mut fds = [PollFd::new(borrowed(listen_fd)?, PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(200u16)) {
            Ok(0) | Err(Errno::EINTR) => continue,
            Ok(_) => {}
            Err(errno) => break Err(Error::new(errno, format!("poll on socket {listen_fd}"))),
        }
        let conn = match socket::accept(listen_fd) {
            Ok((conn, _)) => conn,
            Err(error) => match after_accept_error(error) {
                Ok(AcceptOutcome::Retry) => continue,
                Ok(AcceptOutcome::Stop) => break Ok(()),
                Err(error) => break Err(error),
            },
        };
        // SAFETY: the child only runs the handler and exits; it never returns here.
        let pid = unsafe { libc::fork() };
        match pid {
            0 => {
                let _ = socket::close(listen_fd);
                let status = handler(conn);
                let _ = socket::close(conn);
                // SAFETY: _exit ends the child without running the parent's atexit work.
                unsafe { libc::_exit(status & 0xff) };
            }
            pid if pid > 0 => {
                children.push(pid);
                let _ = socket::close(conn);
            }
            _ => {
                // No process to be had: this client is refused, the server goes on.
                let _ = socket::close(conn);
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    };
    reap(&mut children, true);
    result
}
