//! Section "Event-driven server": prise_serve_events, one thread serving many clients
//! with epoll, and the functions its callbacks use on a connection.

use std::ffi::{c_char, c_int, c_void};
use std::os::fd::AsRawFd;
use std::time::Duration;

use libc::{size_t, ssize_t};
use nix::errno::Errno;

use super::{in_bytes, null_argument, trace};
use crate::error::{Error, Result};
use crate::events::{self, Connection};

/// Called with the bytes a client sent: data (len bytes, len > 0) is the input not used
/// yet, the bytes left by the previous call first. Returns how many bytes it used (0 to
/// len), or -1 to close the connection at once, dropping the output queued for it.
/// While it uses some and bytes remain, it is called again at once with the rest (so
/// it may parse one message a call); the bytes it leaves unused (returning 0) come
/// back, with more, when more arrive.
pub type PriseOnData = Option<
    extern "C" fn(
        conn: *mut Connection,
        data: *const c_char,
        len: size_t,
        ctx: *mut c_void,
    ) -> ssize_t,
>;

/// Called once per connection, last: reason is 0 when it ended in an orderly way (the
/// client closed, or the callbacks did), else an errno: ETIMEDOUT (idle for too long),
/// EMSGSIZE (more than input_limit bytes with none used), ECANCELED (the server stopped),
/// ECONNRESET, EPIPE, … from the socket. conn is valid until it returns.
pub type PriseOnClose =
    Option<extern "C" fn(conn: *mut Connection, reason: c_int, ctx: *mut c_void)>;

/// Called once per new connection, first (for protocols where the server speaks first).
/// Returns 0 to serve the client, anything else to close it at once.
pub type PriseOnOpen = Option<extern "C" fn(conn: *mut Connection, ctx: *mut c_void) -> c_int>;

/// How prise_serve_events serves; zero in a field means its default, so a
/// zero-initialised struct (or NULL) gives the defaults.
#[repr(C)]
pub struct PriseEventsOptions {
    /// Called for each new connection before its first data; NULL: none.
    pub on_open: PriseOnOpen,
    /// A client with no traffic either way for this many milliseconds is closed
    /// (on_close gets ETIMEDOUT; checked every tenth of it); 0: never.
    pub idle_timeout_ms: c_int,
    /// The most clients served at once; more wait in listen_fd's backlog until one
    /// leaves. 0: as many as descriptors allow (raise RLIMIT_NOFILE for thousands).
    pub max_connections: c_int,
    /// The most bytes kept for a client while on_data uses none of them (prise reads no
    /// more than fits): a message of this many bytes is kept, a longer one closes the
    /// client (EMSGSIZE). 0: 64 KiB.
    pub input_limit: size_t,
    /// Backpressure: while more than this many bytes sent with prise_conn_send wait for
    /// the client to read them, prise stops reading from it (on_data is not called). 0:
    /// 256 KiB.
    pub output_limit: size_t,
    /// 0: SIGTERM and SIGINT stop the server (see prise_serve_events); non-zero: prise
    /// leaves them alone.
    pub keep_signals: c_int,
}

fn server_options(options: *const PriseEventsOptions) -> Result<(events::Options, PriseOnOpen)> {
    let mut chosen = events::Options::default();
    // SAFETY: options is NULL or the caller's struct, read during this call only.
    let Some(options) = (unsafe { options.as_ref() }) else {
        return Ok((chosen, None));
    };
    let count = |value: c_int, what: &str| {
        usize::try_from(value).map_err(|_| {
            Error::with_message(
                Errno::EINVAL,
                format!("{what} {value}: give 0 (the default) or more"),
            )
        })
    };
    let idle = count(options.idle_timeout_ms, "idle_timeout_ms")?;
    let max = count(options.max_connections, "max_connections")?;
    chosen.idle_timeout = (idle > 0).then(|| Duration::from_millis(idle as u64));
    chosen.max_connections = (max > 0).then_some(max);
    if options.input_limit > 0 {
        chosen.input_limit = options.input_limit;
    }
    if options.output_limit > 0 {
        chosen.output_limit = options.output_limit;
    }
    chosen.stop_on_signals = options.keep_signals == 0;
    Ok((chosen, options.on_open))
}

/// Serves every client of listen_fd from this one thread with epoll: the third server
/// model, beside prise_serve_fork and prise_serve_threads; it holds tens of thousands
/// of clients at the cost of a few hundred bytes each. Each connection is accepted
/// non-blocking, given to options->on_open, then on_data gets its bytes as they arrive
/// and answers with prise_conn_send; on_close is called once when it ends.
///
/// Per connection prise keeps the input on_data has not used yet (so a line or message
/// may arrive in pieces) and the output the client has not read yet; while that output
/// is over options->output_limit it stops reading from the client (backpressure: a
/// client that does not read cannot make the server buffer without bound).
///
/// Stops when listen_fd is shut down (shutdown(listen_fd, SHUT_RDWR), from another
/// thread or a signal handler, as the other two servers) or, unless keep_signals is
/// set, on SIGTERM or SIGINT: while it runs, this thread blocks both and reads them
/// through a signalfd, and its signal mask is restored on return (in a program with
/// other threads, block them there too, or the signal may go to one of them); a signal
/// the program ignores (SIG_IGN) is left alone and stops nothing. On a
/// stop, no more client is accepted nor read; the queued output is written for up to
/// one second, then every connection is closed (on_close gets ECANCELED).
///
/// listen_fd: a listening socket, blocking or not; prise makes it non-blocking while it
/// serves (so that a client another process or thread takes first cannot leave the
/// loop waiting in accept) and gives it its mode back on return. on_data: must not be NULL. on_close: may be NULL. ctx:
/// passed as is to every callback. options: may be NULL; read during the call only.
/// The callbacks run on this thread, one at a time, and must return (no pthread_exit,
/// no longjmp). Returns 0 once stopped, or -1 with errno (EINVAL when listen_fd is not
/// listening, on_data is NULL or an option is negative; EBADF or ENOTSOCK for a
/// descriptor that is not a socket, and EBADF when listen_fd is closed instead of shut
/// down while served, noticed within a second: the clients are then closed as on a
/// stop; what epoll or accept failed with).
/// Out of descriptors (EMFILE), it stops accepting for 10 ms and serves the clients it
/// holds meanwhile. idle_timeout counts traffic, not progress: a client that sends a
/// byte now and then is not idle (bound the time to a whole message in on_data).
/// Ownership: the caller keeps listen_fd (prise does not close it); prise
/// owns the connections and their descriptors (close-on-exec) and closes them; a conn
/// is valid from on_open (or its first on_data) until its on_close returns: it is freed
/// then, and using it later (or after prise_serve_events returned) is undefined, as a
/// freed pointer is (it may name another client by then): keep none past on_close.
#[no_mangle]
pub extern "C" fn prise_serve_events(
    listen_fd: c_int,
    on_data: PriseOnData,
    on_close: PriseOnClose,
    ctx: *mut c_void,
    options: *const PriseEventsOptions,
) -> c_int {
    ffi_boundary!(
        || format!("{listen_fd}, {}", trace::pointer(options.cast())),
        -1,
        || {
            let on_data = on_data.ok_or_else(|| null_argument("on_data"))?;
            let (options, on_open) = server_options(options)?;
            let callbacks = events::Callbacks {
                on_data,
                on_close,
                on_open,
                ctx,
            };
            events::serve_events(listen_fd, callbacks, options).map(|()| 0)
        },
    )
}

/// The connection behind a callback's conn argument.
fn connection<'a>(conn: *mut Connection) -> Result<&'a Connection> {
    // SAFETY: conn is NULL or a connection prise_serve_events gave the callback, valid
    // until its on_close returns (the documented contract).
    unsafe { conn.as_ref() }.ok_or_else(|| null_argument("conn"))
}

/// Sends len bytes of data to the client of conn: written at once as far as the socket
/// takes them, the rest copied and written as the client reads (see output_limit).
///
/// conn: a connection of the running prise_serve_events, from its callbacks' thread
/// only. data: may be NULL when len is 0. Returns 0, or -1 with errno (EPIPE once the
/// connection is closing, ECONNRESET, EPIPE, … when the client is gone: the connection
/// then ends and on_close follows; EPERM from another thread; EINVAL for NULL).
/// Ownership: data is copied; the caller keeps it.
#[no_mangle]
pub extern "C" fn prise_conn_send(
    conn: *mut Connection,
    data: *const c_void,
    len: size_t,
) -> c_int {
    ffi_boundary!(
        || format!(
            "{}, {}",
            trace::pointer(conn.cast()),
            trace::buffer(data, len)
        ),
        -1,
        || {
            let conn = connection(conn)?;
            // SAFETY: the caller passes data valid for len bytes, or NULL.
            let data = unsafe { in_bytes(data, len, "data") }?;
            conn.send(data).map(|()| 0)
        },
    )
}

/// Closes the connection once the output queued for it is written: no more on_data,
/// then on_close (reason 0). Calling it again, or on a connection already closing, does
/// nothing.
///
/// conn: as prise_conn_send. Returns 0, or -1 with errno (EPERM from another thread,
/// EINVAL for NULL).
#[no_mangle]
pub extern "C" fn prise_conn_close(conn: *mut Connection) -> c_int {
    ffi_boundary!(|| trace::pointer(conn.cast()), -1, || {
        connection(conn)?.close().map(|()| 0)
    })
}

/// The client's socket, for prise_peer_address, options and the like.
///
/// conn: as prise_conn_send. Returns the descriptor, or -1 with errno (EINVAL for NULL).
/// Ownership: prise's: do not close it (prise_conn_close ends the connection), read or
/// write it yourself, or change its O_NONBLOCK.
#[no_mangle]
pub extern "C" fn prise_conn_fd(conn: *mut Connection) -> c_int {
    ffi_boundary!(|| trace::pointer(conn.cast()), -1, || Ok(connection(conn)?
        .socket()
        .as_raw_fd()))
}

/// Attaches data to the connection (the per-client state of a protocol), returned by
/// prise_conn_data; NULL until set.
///
/// conn: as prise_conn_send. Returns 0, or -1 with errno (EPERM from another thread,
/// EINVAL for NULL). Ownership: data stays the caller's: free it in on_close.
#[no_mangle]
pub extern "C" fn prise_conn_set_data(conn: *mut Connection, data: *mut c_void) -> c_int {
    ffi_boundary!(
        || format!("{}, {}", trace::pointer(conn.cast()), trace::pointer(data)),
        -1,
        || connection(conn)?.set_user_data(data).map(|()| 0),
    )
}

/// The data attached with prise_conn_set_data, or NULL (also for a NULL conn, with
/// errno EINVAL).
#[no_mangle]
pub extern "C" fn prise_conn_data(conn: *mut Connection) -> *mut c_void {
    ffi_boundary!(|| trace::pointer(conn.cast()), std::ptr::null_mut(), || Ok(
        connection(conn)?.user_data()
    ),)
}
