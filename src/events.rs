//! The third server model: one thread serving many clients with epoll
//! (prise_serve_events). The caller's callbacks see data as it arrives and answer with
//! prise_conn_send; prise keeps, per connection, the input the callback has not used
//! yet and the output the client has not read yet, stops reading a client whose output
//! is not drained (backpressure), closes clients idle too long, and stops cleanly on
//! SIGTERM/SIGINT or when the listening socket is shut down.
//!
//! A connection is a heap object whose address the callbacks receive; it lives until
//! its on_close returns. Everything the callbacks can change sits in `Cell`s, reached
//! through shared references only, and no borrow is held while a callback runs, so a
//! callback may send to or close any live connection. Connections whose state changed
//! are queued in a to-do list that the loop works through after each callback: that is
//! the only place where a connection is closed and freed.

use std::cell::{Cell, RefCell};
use std::ffi::{c_char, c_int, c_void};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::serve::{self, AcceptOutcome};
use crate::socket;

/// The callbacks' C types (see prise.h for their contracts).
pub type OnData = extern "C" fn(
    conn: *mut Connection,
    data: *const c_char,
    len: usize,
    ctx: *mut c_void,
) -> isize;
pub type OnClose = extern "C" fn(conn: *mut Connection, reason: c_int, ctx: *mut c_void);
pub type OnOpen = extern "C" fn(conn: *mut Connection, ctx: *mut c_void) -> c_int;

/// The caller's callbacks and the context they are given; prise never looks inside ctx.
#[derive(Clone, Copy)]
pub struct Callbacks {
    pub on_data: OnData,
    pub on_close: Option<OnClose>,
    pub on_open: Option<OnOpen>,
    pub ctx: *mut c_void,
}

/// How the server behaves; [`Options::default`] is what a zeroed C struct means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// A client with no traffic either way for this long is closed (ETIMEDOUT).
    pub idle_timeout: Option<Duration>,
    /// The most clients served at once; more wait in the listening socket's backlog.
    pub max_connections: Option<usize>,
    /// The most input kept for a client while on_data uses none of it (EMSGSIZE beyond).
    pub input_limit: usize,
    /// The output queued for a client beyond which prise stops reading from it.
    pub output_limit: usize,
    /// SIGTERM and SIGINT stop the server (read through a signalfd while it runs).
    pub stop_on_signals: bool,
}

const DEFAULT_INPUT_LIMIT: usize = 64 * 1024;
const DEFAULT_OUTPUT_LIMIT: usize = 256 * 1024;
/// How long a stopping server keeps writing out what its clients have not read yet.
const STOP_GRACE: Duration = Duration::from_secs(1);
/// The read buffer shared by every connection (a connection keeps only what its
/// callback left unused, so an idle connection costs no buffer).
const READ_CHUNK: usize = 64 * 1024;
const EVENTS_PER_WAIT: usize = 256;
/// The most clients accepted per wakeup, so that a flood of them cannot starve the
/// clients already served.
const ACCEPT_BATCH: usize = 64;
/// How often the listening socket is looked at (see Server::check_listener).
const LISTENER_CHECK: Duration = Duration::from_secs(1);
const LISTENER: u64 = u64::MAX;
const SIGNALS: u64 = u64::MAX - 1;

impl Default for Options {
    fn default() -> Options {
        Options {
            idle_timeout: None,
            max_connections: None,
            input_limit: DEFAULT_INPUT_LIMIT,
            output_limit: DEFAULT_OUTPUT_LIMIT,
            stop_on_signals: true,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Read from, written to.
    Open,
    /// No more reading: closed with this reason once the output is written.
    Closing(c_int),
    /// To be closed now with this reason (0, or an errno).
    Done(c_int),
}

/// One client of prise_serve_events (opaque): its callbacks receive it, and the
/// prise_conn_* functions take it.
pub struct Connection {
    fd: OwnedFd,
    token: u64,
    state: Cell<State>,
    /// Bytes not written yet: `output[sent..]`.
    output: RefCell<Vec<u8>>,
    sent: Cell<usize>,
    /// Bytes on_data has not used yet (taken out while on_data runs).
    input: Cell<Vec<u8>>,
    user_data: Cell<*mut c_void>,
    watching: Cell<u32>,
    last_active: Cell<Instant>,
    queued: Cell<bool>,
    shared: *const Shared,
}

/// What connections need from their server: the to-do list, the serving thread.
struct Shared {
    todo: RefCell<Vec<*mut Connection>>,
    thread: libc::pthread_t,
}

impl Connection {
    fn shared(&self) -> &Shared {
        // SAFETY: the server outlives every connection it holds.
        unsafe { &*self.shared }
    }

    /// Queues this connection for the loop (state or output changed).
    fn queue(&self) {
        if !self.queued.replace(true) {
            let this = self as *const Connection as *mut Connection;
            self.shared().todo.borrow_mut().push(this);
        }
    }

    fn fail(&self, errno: Errno) {
        self.state.set(State::Done(errno as c_int));
        self.queue();
    }

    /// The connection's functions are for the serving thread (its callbacks) only.
    fn check_thread(&self, what: &str) -> Result<()> {
        // SAFETY: pthread_self and pthread_equal only compare thread ids.
        let here = unsafe { libc::pthread_equal(libc::pthread_self(), self.shared().thread) };
        if here == 0 {
            return Err(Error::with_message(
                Errno::EPERM,
                format!(
                    "{what} on connection {}: only the thread running prise_serve_events (its \
                     callbacks) may use a connection",
                    self.fd.as_raw_fd()
                ),
            ));
        }
        Ok(())
    }

    fn pending_output(&self) -> usize {
        self.output.borrow().len() - self.sent.get()
    }

    /// The client's socket, for getpeername, options and the like.
    pub fn socket(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    pub fn user_data(&self) -> *mut c_void {
        self.user_data.get()
    }

    pub fn set_user_data(&self, data: *mut c_void) -> Result<()> {
        self.check_thread("set data")?;
        self.user_data.set(data);
        Ok(())
    }

    /// Sends `data` to the client: written now as far as the socket takes it, the rest
    /// queued (copied) and written as the client reads.
    pub fn send(&self, data: &[u8]) -> Result<()> {
        self.check_thread("send")?;
        if self.state.get() != State::Open {
            return Err(Error::with_message(
                Errno::EPIPE,
                format!(
                    "send on connection {}: the connection is closing (prise_conn_close, the \
                     client's end of file or a failure came first)",
                    self.fd.as_raw_fd()
                ),
            ));
        }
        let mut rest = data;
        if self.pending_output() == 0 && !rest.is_empty() {
            match write_some(self.fd.as_raw_fd(), rest) {
                Ok(written) => {
                    if written > 0 {
                        self.last_active.set(Instant::now());
                    }
                    rest = &rest[written..];
                }
                Err(error) => {
                    self.fail(error.errno());
                    return Err(error);
                }
            }
        }
        if !rest.is_empty() {
            let mut output = self.output.borrow_mut();
            // What a caller queues may be large: running out of memory is ENOMEM, not an
            // abort of the process.
            if output.try_reserve(rest.len()).is_err() {
                return Err(Error::with_message(
                    Errno::ENOMEM,
                    format!(
                        "send on connection {}: no memory to queue {} bytes",
                        self.fd.as_raw_fd(),
                        rest.len()
                    ),
                ));
            }
            output.extend_from_slice(rest);
            drop(output);
            self.queue(); // to be watched for EPOLLOUT
        }
        Ok(())
    }

    /// Closes the connection once its queued output is written; no more on_data.
    pub fn close(&self) -> Result<()> {
        self.check_thread("close")?;
        if self.state.get() == State::Open {
            self.state.set(State::Closing(0));
            self.queue();
        }
        Ok(())
    }

    /// Writes queued output until the socket is full; a failure ends the connection.
    fn flush(&self) {
        let mut output = self.output.borrow_mut();
        let mut sent = self.sent.get();
        let mut failed = None;
        while sent < output.len() {
            match write_some(self.fd.as_raw_fd(), &output[sent..]) {
                Ok(0) => break,
                Ok(written) => {
                    sent += written;
                    self.last_active.set(Instant::now());
                }
                Err(error) => {
                    failed = Some(error.errno());
                    break;
                }
            }
        }
        if sent == output.len() {
            *output = Vec::new(); // an idle connection keeps no buffer
            sent = 0;
        } else if sent >= output.len() / 2 {
            output.drain(..sent);
            sent = 0;
        }
        self.sent.set(sent);
        drop(output);
        if let Some(errno) = failed {
            self.fail(errno);
        }
        self.queue();
    }
}

/// One non-blocking send: how much the socket took (0 when it is full).
fn write_some(fd: RawFd, data: &[u8]) -> Result<usize> {
    loop {
        match socket::send(fd, data, libc::MSG_DONTWAIT) {
            Err(e) if e.errno() == Errno::EINTR => continue,
            Err(e) if e.errno() == Errno::EAGAIN => return Ok(0),
            other => return other,
        }
    }
}

/// SIGTERM and SIGINT blocked in this thread and read through a signalfd while the
/// server runs; the thread's signal mask is restored when dropped.
struct StopSignals {
    fd: OwnedFd,
    saved: libc::sigset_t,
}

impl StopSignals {
    fn new() -> Result<StopSignals> {
        // SAFETY: the sets are initialised by sigemptyset before use; pthread_sigmask
        // only reads and writes these locals and the thread's mask.
        unsafe {
            let mut stop: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut stop);
            for signal in [libc::SIGTERM, libc::SIGINT] {
                // A signal the program ignores (SIG_IGN, as nohup and `cmd &` in a
                // non-interactive shell set SIGINT) stays ignored: it stops nothing.
                let mut current: libc::sigaction = std::mem::zeroed();
                let known = libc::sigaction(signal, std::ptr::null(), &mut current) == 0;
                if !(known && current.sa_sigaction == libc::SIG_IGN) {
                    libc::sigaddset(&mut stop, signal);
                }
            }
            let mut saved: libc::sigset_t = std::mem::zeroed();
            let ret = libc::pthread_sigmask(libc::SIG_BLOCK, &stop, &mut saved);
            if ret != 0 {
                return Err(Error::new(Errno::from_raw(ret), "pthread_sigmask"));
            }
            match socket::signalfd(&stop) {
                Ok(fd) => Ok(StopSignals { fd, saved }),
                Err(error) => {
                    libc::pthread_sigmask(libc::SIG_SETMASK, &saved, std::ptr::null_mut());
                    Err(error)
                }
            }
        }
    }
}

impl Drop for StopSignals {
    fn drop(&mut self) {
        // SAFETY: restores the mask saved in new(); a stop signal that arrived and was
        // not read is delivered now, as it would have been without the server.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &self.saved, std::ptr::null_mut()) };
    }
}

/// The loop's own state. Connections are heap objects owned through raw pointers
/// (`slots`), freed only by [`Server::close`] and, after a panic, by `Drop`.
struct Server {
    epoll: OwnedFd,
    listen_fd: RawFd,
    /// Whether the listening socket was blocking: made non-blocking while served.
    listener_was_blocking: bool,
    accepting: bool,
    callbacks: Callbacks,
    options: Options,
    shared: Box<Shared>,
    signal_fd: Option<RawFd>,
    slots: Vec<*mut Connection>,
    generations: Vec<u32>,
    free: Vec<usize>,
    count: usize,
    next_idle_check: Option<Instant>,
    next_listener_check: Instant,
    /// Out of descriptors or memory, accepting waits until then.
    accept_paused_until: Option<Instant>,
}

impl Server {
    fn new(listen_fd: RawFd, callbacks: Callbacks, options: Options) -> Result<Server> {
        let epoll = socket::epoll_create()?;
        socket::epoll_control(
            epoll.as_raw_fd(),
            libc::EPOLL_CTL_ADD,
            listen_fd,
            libc::EPOLLIN as u32,
            LISTENER,
        )?;
        // Non-blocking while served, as every event loop makes it: when another process
        // or thread takes a waiting client first, accept says EAGAIN instead of blocking
        // the loop, and every client with it, until the next client comes.
        let was_blocking = socket::status_flags(listen_fd)? & libc::O_NONBLOCK == 0;
        if was_blocking {
            socket::set_nonblocking(listen_fd, true)?;
        }
        Ok(Server {
            epoll,
            listen_fd,
            listener_was_blocking: was_blocking,
            accepting: true,
            callbacks,
            options,
            shared: Box::new(Shared {
                todo: RefCell::new(Vec::new()),
                // SAFETY: pthread_self cannot fail.
                thread: unsafe { libc::pthread_self() },
            }),
            signal_fd: None,
            slots: Vec::new(),
            generations: Vec::new(),
            free: Vec::new(),
            count: 0,
            next_idle_check: None,
            next_listener_check: Instant::now() + LISTENER_CHECK,
            accept_paused_until: None,
        })
    }

    fn watch(&self, fd: RawFd, op: c_int, events: u32, token: u64) -> Result<()> {
        socket::epoll_control(self.epoll.as_raw_fd(), op, fd, events, token)
    }

    /// The live connection an event's token names; None for one closed meanwhile.
    fn connection(&self, token: u64) -> Option<&Connection> {
        let slot = (token & u64::from(u32::MAX)) as usize;
        let generation = (token >> 32) as u32;
        let conn = *self.slots.get(slot)?;
        if conn.is_null() || self.generations[slot] != generation {
            return None;
        }
        // SAFETY: a non-null slot holds a live connection.
        Some(unsafe { &*conn })
    }

    /// Serves until a stop: the listening socket shut down, or a stop signal.
    fn serve(&mut self, signals: Option<&StopSignals>) -> Result<()> {
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; EVENTS_PER_WAIT];
        let mut buffer = vec![0u8; READ_CHUNK];
        loop {
            let millis = self.wait_millis();
            let ready = match socket::epoll_wait(self.epoll.as_raw_fd(), &mut events, millis) {
                Ok(ready) => ready,
                Err(e) if e.errno() == Errno::EINTR => continue,
                Err(e) => return Err(e),
            };
            for event in &events[..ready] {
                let (token, flags) = (event.u64, event.events);
                match token {
                    LISTENER => {
                        let shut_down = flags & (libc::EPOLLHUP | libc::EPOLLERR) as u32 != 0;
                        if shut_down || !self.accept_clients()? {
                            return Ok(());
                        }
                    }
                    SIGNALS => {
                        if let Some(stop) = signals {
                            if socket::read_signal(stop.fd.as_raw_fd())?.is_some() {
                                return Ok(());
                            }
                        }
                    }
                    _ => {
                        if let Some(conn) = self.connection(token) {
                            self.serve_connection(conn, flags, &mut buffer);
                        }
                    }
                }
                self.run_todo();
            }
            self.expire_idle();
            self.run_todo();
            self.update_accepting()?;
            if !self.check_listener()? {
                return Ok(());
            }
        }
    }

    /// Accepts the clients waiting; false once the listening socket is shut down.
    fn accept_clients(&mut self) -> Result<bool> {
        for _ in 0..ACCEPT_BATCH {
            if self.at_capacity() {
                break;
            }
            match socket::accept(self.listen_fd, libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) {
                Ok((fd, _)) => self.open(fd),
                Err(error) => match serve::after_accept_error(error)? {
                    // Level-triggered: a client still waiting wakes the loop again.
                    AcceptOutcome::Retry => break,
                    AcceptOutcome::Pause => {
                        // Sleeping here would stall every client: the listening socket
                        // is left unwatched for the pause instead (update_accepting).
                        self.accept_paused_until = Some(Instant::now() + serve::ACCEPT_PAUSE);
                        break;
                    }
                    AcceptOutcome::Stop => return Ok(false),
                },
            }
        }
        Ok(true)
    }

    fn at_capacity(&self) -> bool {
        self.options
            .max_connections
            .is_some_and(|max| self.count >= max)
    }

    /// Watches the listening socket only while there is room for another client and
    /// accepting is not paused (a shut-down listener is still reported: EPOLLHUP needs
    /// no interest).
    fn update_accepting(&mut self) -> Result<()> {
        if self
            .accept_paused_until
            .is_some_and(|until| Instant::now() >= until)
        {
            self.accept_paused_until = None;
        }
        let wanted = !self.at_capacity() && self.accept_paused_until.is_none();
        if wanted != self.accepting {
            let events = if wanted { libc::EPOLLIN as u32 } else { 0 };
            self.watch(self.listen_fd, libc::EPOLL_CTL_MOD, events, LISTENER)?;
            self.accepting = wanted;
        }
        Ok(())
    }

    /// Takes a new client in, and gives it to on_open.
    fn open(&mut self, fd: OwnedFd) {
        let slot = self.free.pop().unwrap_or_else(|| {
            self.slots.push(std::ptr::null_mut());
            self.generations.push(0);
            self.slots.len() - 1
        });
        let token = u64::from(self.generations[slot]) << 32 | slot as u64;
        let events = libc::EPOLLIN as u32;
        if self
            .watch(fd.as_raw_fd(), libc::EPOLL_CTL_ADD, events, token)
            .is_err()
        {
            self.free.push(slot); // the client is refused (closed), the server goes on
            return;
        }
        let conn = Box::into_raw(Box::new(Connection {
            fd,
            token,
            state: Cell::new(State::Open),
            output: RefCell::new(Vec::new()),
            sent: Cell::new(0),
            input: Cell::new(Vec::new()),
            user_data: Cell::new(std::ptr::null_mut()),
            watching: Cell::new(events),
            last_active: Cell::new(Instant::now()),
            queued: Cell::new(false),
            shared: &*self.shared,
        }));
        self.slots[slot] = conn;
        self.count += 1;
        if let Some(on_open) = self.callbacks.on_open {
            if on_open(conn, self.callbacks.ctx) != 0 {
                // SAFETY: conn is live until closed by run_todo.
                let conn = unsafe { &*conn };
                conn.state.set(State::Done(0));
                conn.queue();
            }
        }
    }

    fn serve_connection(&self, conn: &Connection, flags: u32, buffer: &mut [u8]) {
        let trouble = (libc::EPOLLHUP | libc::EPOLLERR) as u32;
        if conn.pending_output() > 0 && flags & (libc::EPOLLOUT as u32 | trouble) != 0 {
            conn.flush();
        }
        let readable = flags & (libc::EPOLLIN as u32 | trouble) != 0;
        if readable && conn.state.get() == State::Open && !self.backpressured(conn) {
            self.read(conn, buffer);
        }
        conn.queue();
    }

    fn backpressured(&self, conn: &Connection) -> bool {
        conn.pending_output() >= self.options.output_limit
    }

    /// Reads once (level-triggered epoll calls again while bytes remain), at most what
    /// fits under input_limit beside the input kept, and hands the bytes, after those
    /// on_data left unused, to on_data: again while it uses some and bytes remain, so
    /// that an on_data taking one message a call answers pipelined messages that came
    /// in one read without waiting for more bytes.
    fn read(&self, conn: &Connection, buffer: &mut [u8]) {
        let mut input = conn.input.take();
        let room = buffer
            .len()
            .min(self.options.input_limit.saturating_sub(input.len()));
        // With input_limit bytes kept and none used, more bytes are a message over the
        // limit (EMSGSIZE; read and dropped, so that the client gets an end of file
        // rather than a reset), the end of file an orderly close.
        let wanted = if room == 0 { buffer.len() } else { room };
        let received = loop {
            match socket::recv(conn.fd.as_raw_fd(), &mut buffer[..wanted], 0) {
                Err(e) if e.errno() == Errno::EINTR => continue,
                other => break other,
            }
        };
        let received = match received {
            Ok(0) => {
                // The client's end of file: what it has not read yet still goes out.
                conn.input.set(input);
                conn.state.set(State::Closing(0));
                return;
            }
            Ok(_) if room == 0 => {
                conn.input.set(input);
                conn.fail(Errno::EMSGSIZE); // a message longer than the input limit
                return;
            }
            Ok(n) => n,
            Err(e) => {
                conn.input.set(input);
                if e.errno() != Errno::EAGAIN {
                    conn.fail(e.errno());
                }
                return;
            }
        };
        conn.last_active.set(Instant::now());
        let fresh = input.is_empty();
        if !fresh {
            if input.try_reserve(received).is_err() {
                conn.fail(Errno::ENOMEM);
                return;
            }
            input.extend_from_slice(&buffer[..received]);
        }
        let data: &[u8] = if fresh { &buffer[..received] } else { &input };
        let Some(used) = self.offer(conn, data) else {
            return;
        };
        let kept = if used == data.len() {
            Vec::new()
        } else if fresh {
            data[used..].to_vec()
        } else {
            input.drain(..used);
            input
        };
        conn.input.set(kept);
    }

    /// Gives `data` to on_data, again with the rest while it uses some, bytes remain
    /// and the connection is open: how many bytes it used in all, or None once it
    /// asked to close or claimed bytes it was not given.
    fn offer(&self, conn: &Connection, data: &[u8]) -> Option<usize> {
        let conn_ptr = conn as *const Connection as *mut Connection;
        let mut offered = 0;
        while offered < data.len() && conn.state.get() == State::Open {
            let rest = &data[offered..];
            let used = (self.callbacks.on_data)(
                conn_ptr,
                rest.as_ptr().cast(),
                rest.len(),
                self.callbacks.ctx,
            );
            let Ok(used) = usize::try_from(used) else {
                // on_data asked to close now: queued output is dropped.
                conn.state.set(State::Done(0));
                *conn.output.borrow_mut() = Vec::new();
                conn.sent.set(0);
                return None;
            };
            if used > rest.len() {
                conn.fail(Errno::EINVAL); // on_data claimed bytes it was not given
                return None;
            }
            if used == 0 {
                break;
            }
            offered += used;
        }
        Some(offered)
    }

    /// Works through the queued connections: closes those that are done, updates what
    /// epoll watches for the others. Closing runs on_close, which may queue more.
    fn run_todo(&mut self) {
        loop {
            let batch = std::mem::take(&mut *self.shared.todo.borrow_mut());
            if batch.is_empty() {
                return;
            }
            for conn_ptr in batch {
                // SAFETY: a queued connection is live: only this function frees one, and
                // never one still queued.
                let conn = unsafe { &*conn_ptr };
                conn.queued.set(false);
                match conn.state.get() {
                    State::Done(reason) => self.close(conn_ptr, reason),
                    State::Closing(reason) if conn.pending_output() == 0 => {
                        self.close(conn_ptr, reason)
                    }
                    _ => self.update_interest(conn),
                }
            }
        }
    }

    /// Reads while there is room for output; writes while output waits.
    fn update_interest(&self, conn: &Connection) {
        let mut wanted = 0;
        if conn.state.get() == State::Open && !self.backpressured(conn) {
            wanted |= libc::EPOLLIN as u32;
        }
        if conn.pending_output() > 0 {
            wanted |= libc::EPOLLOUT as u32;
        }
        if wanted != conn.watching.get() {
            let fd = conn.fd.as_raw_fd();
            match self.watch(fd, libc::EPOLL_CTL_MOD, wanted, conn.token) {
                Ok(()) => conn.watching.set(wanted),
                Err(error) => conn.fail(error.errno()),
            }
        }
    }

    /// Ends a connection: on_close, then the descriptor is closed and the memory freed.
    fn close(&mut self, conn_ptr: *mut Connection, reason: c_int) {
        // SAFETY: conn_ptr is live until freed at the end of this function.
        let conn = unsafe { &*conn_ptr };
        conn.state.set(State::Done(reason)); // sends from on_close fail
        let _ = self.watch(conn.fd.as_raw_fd(), libc::EPOLL_CTL_DEL, 0, 0);
        let slot = (conn.token & u64::from(u32::MAX)) as usize;
        self.slots[slot] = std::ptr::null_mut();
        self.generations[slot] = self.generations[slot].wrapping_add(1);
        self.free.push(slot);
        self.count -= 1;
        if let Some(on_close) = self.callbacks.on_close {
            on_close(conn_ptr, reason, self.callbacks.ctx);
        }
        if conn.queued.get() {
            self.shared
                .todo
                .borrow_mut()
                .retain(|queued| *queued != conn_ptr);
        }
        // SAFETY: made by Box::into_raw in open(); no slot or queue refers to it now.
        drop(unsafe { Box::from_raw(conn_ptr) });
    }

    fn live(&self) -> impl Iterator<Item = &Connection> + '_ {
        // SAFETY: non-null slots hold live connections.
        self.slots
            .iter()
            .filter_map(|conn| unsafe { conn.as_ref() })
    }

    /// How long epoll may wait: until the next idle check while there are clients, the
    /// end of a pause in accepting, and the next look at the listening socket.
    fn wait_millis(&mut self) -> c_int {
        let now = Instant::now();
        let mut next = self.next_listener_check;
        if let Some(until) = self.accept_paused_until {
            next = next.min(until);
        }
        if let Some(timeout) = self.options.idle_timeout {
            if self.count == 0 {
                self.next_idle_check = None;
            } else {
                let check = *self
                    .next_idle_check
                    .get_or_insert(now + idle_check_interval(timeout));
                next = next.min(check);
            }
        }
        socket::millis_until(next)
    }

    /// A listening socket closed (not shut down) while served leaves epoll without a
    /// word: looked at every second, so that the server does not wait for ever. False
    /// once it is no longer listening (shut down: the stop its event also reports).
    fn check_listener(&mut self) -> Result<bool> {
        let now = Instant::now();
        if now < self.next_listener_check {
            return Ok(true);
        }
        self.next_listener_check = now + LISTENER_CHECK;
        match socket::get_int_option(self.listen_fd, libc::SOL_SOCKET, libc::SO_ACCEPTCONN) {
            Ok(listening) => Ok(listening == 1),
            Err(e) => Err(Error::with_message(
                e.errno(),
                format!(
                    "serve on socket {}: the listening socket was closed while served (shut it \
                     down to stop the server: shutdown(listen_fd, SHUT_RDWR))",
                    self.listen_fd
                ),
            )),
        }
    }

    /// Closes (ETIMEDOUT) the clients silent for the idle timeout, checked every tenth
    /// of it: a client is closed between 1 and 1.1 timeouts after its last traffic.
    fn expire_idle(&mut self) {
        let (Some(timeout), Some(check)) = (self.options.idle_timeout, self.next_idle_check) else {
            return;
        };
        let now = Instant::now();
        if now < check {
            return;
        }
        self.next_idle_check = Some(now + idle_check_interval(timeout));
        for conn in self.live() {
            if now.duration_since(conn.last_active.get()) >= timeout {
                conn.fail(Errno::ETIMEDOUT);
            }
        }
    }

    /// Stops serving: no new client, no more reading; what the clients have not read
    /// yet is written for up to [`STOP_GRACE`]; then every connection is closed
    /// (ECANCELED, unless it was already closing for another reason).
    fn stop(&mut self) {
        // Neither a waiting client nor a second signal may wake the grace period.
        let _ = self.watch(self.listen_fd, libc::EPOLL_CTL_DEL, 0, LISTENER);
        if let Some(fd) = self.signal_fd {
            let _ = self.watch(fd, libc::EPOLL_CTL_DEL, 0, SIGNALS);
        }
        for conn in self.live() {
            if conn.state.get() == State::Open {
                conn.state.set(State::Closing(libc::ECANCELED));
            }
            conn.queue();
        }
        self.run_todo();
        let deadline = Instant::now() + STOP_GRACE;
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; EVENTS_PER_WAIT];
        while self.count > 0 && Instant::now() < deadline {
            let millis = socket::millis_until(deadline);
            let ready = match socket::epoll_wait(self.epoll.as_raw_fd(), &mut events, millis) {
                Ok(ready) => ready,
                Err(e) if e.errno() == Errno::EINTR => continue,
                Err(_) => break,
            };
            for event in &events[..ready] {
                if let Some(conn) = self.connection(event.u64) {
                    conn.flush();
                }
            }
            self.run_todo();
        }
        for conn in self.live() {
            conn.fail(Errno::ECANCELED);
        }
        self.run_todo();
    }
}

impl Drop for Server {
    /// Gives the listening socket its blocking mode back. After a panic, connections
    /// still held are freed (their descriptors closed) without callbacks; after a
    /// normal stop there are none.
    fn drop(&mut self) {
        if self.listener_was_blocking {
            let _ = socket::set_nonblocking(self.listen_fd, false); // closed: nothing to restore
        }
        for conn in self.slots.drain(..).filter(|conn| !conn.is_null()) {
            // SAFETY: made by Box::into_raw in open() and not freed (its slot is set).
            drop(unsafe { Box::from_raw(conn) });
        }
    }
}

fn idle_check_interval(timeout: Duration) -> Duration {
    (timeout / 10).max(Duration::from_millis(1))
}

/// One thread serving every client of `listen_fd` with epoll, until the listening socket
/// is shut down or (with `stop_on_signals`) SIGTERM or SIGINT arrives.
pub fn serve_events(listen_fd: RawFd, callbacks: Callbacks, options: Options) -> Result<()> {
    serve::check_listening(listen_fd)?;
    if options.input_limit == 0 || options.output_limit == 0 {
        return Err(Error::with_message(
            Errno::EINVAL,
            "serve_events: input and output limits must be above 0",
        ));
    }
    let signals = match options.stop_on_signals {
        true => Some(StopSignals::new()?),
        false => None,
    };
    let mut server = Server::new(listen_fd, callbacks, options)?;
    if let Some(signals) = &signals {
        let fd = signals.fd.as_raw_fd();
        server.watch(fd, libc::EPOLL_CTL_ADD, libc::EPOLLIN as u32, SIGNALS)?;
        server.signal_fd = Some(fd);
    }
    let result = server.serve(signals.as_ref());
    server.stop();
    drop(server);
    drop(signals); // the mask is restored once every client is closed
    result
}
