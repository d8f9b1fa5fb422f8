//! PRISE_TRACE=1: every call prints one line on stderr as it returns, with its
//! arguments decoded and its result, e.g. `prise: connect(4, 127.0.0.1:9) = -1
//! ECONNREFUSED (Connection refused)`. The environment is read once; when tracing is
//! off a call pays one relaxed atomic load and a branch.
//!
//! Under prise-run, whose tracer sees the program's socket calls from below, the lines
//! go to its [`hook::SYMBOL`] instead, with the start of each call, so that the socket
//! calls a prise call makes show indented beneath it.

use std::ffi::{c_char, c_void, CStr};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use crate::addr::SockAddr;
use crate::error::{shown, strerror, Error};

const UNKNOWN: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);

/// The meeting point with prise-run (not part of prise.h).
/// cbindgen:ignore
pub mod hook {
    use std::ffi::{c_int, CStr};

    /// The function prise-run's interposition library exports when it is loaded:
    /// `int prise_run_hook(int event, const char *text, size_t len)` ([`Hook`]).
    pub const SYMBOL: &CStr = c"prise_run_hook";
    /// Asks whether prise-run traces: 1 yes, 0 no.
    pub const QUERY: c_int = 0;
    /// A prise call starts: `text` is `name(args)`.
    pub const ENTER: c_int = 1;
    /// It returned: `text` is its whole line, `name(args) = value…`.
    pub const LEAVE: c_int = 2;

    pub type Hook = unsafe extern "C" fn(event: c_int, text: *const u8, len: usize) -> c_int;
}
use hook::Hook;

/// prise-run's hook as an address, 0 when lines go to stderr.
static HOOK: AtomicUsize = AtomicUsize::new(0);

#[inline(always)]
pub(crate) fn enabled() -> bool {
    match STATE.load(Ordering::Relaxed) {
        OFF => false,
        ON => true,
        _ => read_environment(),
    }
}

#[cold]
fn read_environment() -> bool {
    // SAFETY: dlsym with a NUL-terminated name; when found, the symbol is prise-run's
    // hook with the Hook signature.
    let hook = unsafe {
        let found = libc::dlsym(libc::RTLD_DEFAULT, hook::SYMBOL.as_ptr());
        (!found.is_null())
            .then(|| std::mem::transmute::<*mut c_void, Hook>(found))
            .filter(|hook| hook(hook::QUERY, std::ptr::null(), 0) == 1)
    };
    let on = hook.is_some()
        || std::env::var_os("PRISE_TRACE").is_some_and(|v| !v.is_empty() && v != "0");
    HOOK.store(hook.map_or(0, |h| h as usize), Ordering::Relaxed);
    STATE.store(if on { ON } else { OFF }, Ordering::Relaxed);
    on
}

fn installed_hook() -> Option<Hook> {
    let address = HOOK.load(Ordering::Relaxed);
    // SAFETY: a non-zero address was stored from a Hook in read_environment.
    (address != 0).then(|| unsafe { std::mem::transmute::<usize, Hook>(address) })
}

/// The name a trace line shows: `prise_connect` is `connect`.
fn shown_name(function: &str) -> &str {
    function.strip_prefix("prise_").unwrap_or(function)
}

/// A traced call starts; returns its arguments' text for [`emit`].
#[cold]
pub(crate) fn enter(function: &str, args: String) -> String {
    if let Some(hook) = installed_hook() {
        let text = format!("{}({args})", shown_name(function));
        // SAFETY: text is valid for its length during the call.
        unsafe { hook(hook::ENTER, text.as_ptr(), text.len()) };
    }
    args
}

/// How a return value is shown.
pub(crate) trait TraceValue {
    fn show(&self) -> String;
}

impl TraceValue for i32 {
    fn show(&self) -> String {
        self.to_string()
    }
}

impl TraceValue for isize {
    fn show(&self) -> String {
        self.to_string()
    }
}

impl TraceValue for () {
    fn show(&self) -> String {
        "done".into()
    }
}

impl<T> TraceValue for *mut T {
    fn show(&self) -> String {
        pointer(*self as *const c_void)
    }
}

impl<T> TraceValue for *const T {
    fn show(&self) -> String {
        pointer(*self as *const c_void)
    }
}

pub(crate) fn pointer(ptr: *const c_void) -> String {
    if ptr.is_null() {
        "NULL".into()
    } else {
        format!("{ptr:p}")
    }
}

/// Prints the line for one call; `error` is the failure when there was one.
#[cold]
pub(crate) fn emit(function: &str, args: String, value: &dyn TraceValue, error: Option<&Error>) {
    let line = line(shown_name(function), &args, &value.show(), error);
    if let Some(hook) = installed_hook() {
        // SAFETY: line is valid for its length during the call.
        unsafe { hook(hook::LEAVE, line.as_ptr(), line.len()) };
        return;
    }
    crate::io::print_stderr(&format!("prise: {line}\n"));
}

/// One call's line without the `prise: ` prefix: `name(args) = value`, and on failure
/// the errno (or the resolver's `EAI_*` code), its text and prise's sentence.
pub fn line(name: &str, args: &str, value: &str, error: Option<&Error>) -> String {
    match error {
        None => format!("{name}({args}) = {value}"),
        Some(error) => match error.gai() {
            Some(code) => format!(
                "{name}({args}) = {value} {}: {}",
                gai_name(code),
                error.message()
            ),
            None => format!(
                "{name}({args}) = {value} {:?} ({}): {}",
                error.errno(),
                strerror(error.errno()),
                error.message()
            ),
        },
    }
}

/// `EAI_NONAME` for -2, and so on.
pub fn gai_name(code: i32) -> String {
    let name = match code {
        libc::EAI_BADFLAGS => "EAI_BADFLAGS",
        libc::EAI_NONAME => "EAI_NONAME",
        libc::EAI_AGAIN => "EAI_AGAIN",
        libc::EAI_FAIL => "EAI_FAIL",
        libc::EAI_NODATA => "EAI_NODATA",
        libc::EAI_FAMILY => "EAI_FAMILY",
        libc::EAI_SOCKTYPE => "EAI_SOCKTYPE",
        libc::EAI_SERVICE => "EAI_SERVICE",
        crate::error::EAI_ADDRFAMILY => "EAI_ADDRFAMILY",
        libc::EAI_MEMORY => "EAI_MEMORY",
        libc::EAI_SYSTEM => "EAI_SYSTEM",
        libc::EAI_OVERFLOW => "EAI_OVERFLOW",
        other => return format!("EAI {other}"),
    };
    name.into()
}

/// An address argument as text ("NULL" for a null pointer).
pub fn addr(ptr: *const libc::sockaddr, len: libc::socklen_t) -> String {
    if ptr.is_null() {
        return "NULL".into();
    }
    if SockAddr::check_len(len as usize).is_err() {
        return format!("(address of {len} bytes)");
    }
    // SAFETY: the caller of the traced function passes ptr valid for len bytes.
    let bytes = unsafe { std::slice::from_raw_parts(ptr as *const u8, len as usize) };
    SockAddr::from_bytes(bytes).map_or_else(|_| "?".into(), |a| a.to_string())
}

/// A string argument, quoted ("NULL" for a null pointer, long ones shortened, control
/// characters escaped so that a name cannot forge a line).
pub fn text(ptr: *const c_char) -> String {
    if ptr.is_null() {
        return "NULL".into();
    }
    // SAFETY: the caller of the traced function passes a NUL-terminated string.
    let text = unsafe { CStr::from_ptr(ptr) };
    format!("\"{}\"", shown(text.to_bytes()))
}

/// A message argument of sendmsg/recvmsg: its buffer count, ancillary bytes and address.
pub(crate) fn message(msg: *const libc::msghdr) -> String {
    // SAFETY: the caller of the traced function passes msg valid, or NULL.
    let Some(message) = (unsafe { msg.as_ref() }) else {
        return "NULL".into();
    };
    let mut text = format!(
        "{{{} buffers, {} control bytes",
        message.msg_iovlen, message.msg_controllen
    );
    if !message.msg_name.is_null() && message.msg_namelen > 0 {
        text += &format!(", {}", addr(message.msg_name.cast(), message.msg_namelen));
    }
    text + "}"
}

/// A buffer argument: its address and length.
pub(crate) fn buffer(ptr: *const c_void, len: usize) -> String {
    format!("{}, {len}", pointer(ptr))
}
