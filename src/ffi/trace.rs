//! PRISE_TRACE=1: every call prints one line on stderr as it returns, with its
//! arguments decoded and its result, e.g. `prise: connect(4, 127.0.0.1:9) = -1
//! ECONNREFUSED (Connection refused)`. The environment is read once; when tracing is
//! off a call pays one relaxed atomic load and a branch.

use std::ffi::{c_char, c_void, CStr};
use std::sync::atomic::{AtomicU8, Ordering};

use crate::addr::SockAddr;
use crate::error::{shown, strerror, Error};

const UNKNOWN: u8 = 0;
const OFF: u8 = 1;
const ON: u8 = 2;

static STATE: AtomicU8 = AtomicU8::new(UNKNOWN);

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
    let on = std::env::var_os("PRISE_TRACE").is_some_and(|v| !v.is_empty() && v != "0");
    STATE.store(if on { ON } else { OFF }, Ordering::Relaxed);
    on
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
    let name = function.strip_prefix("prise_").unwrap_or(function);
    let line = match error {
        None => format!("prise: {name}({args}) = {}\n", value.show()),
        Some(error) => format!(
            "prise: {name}({args}) = {} {:?} ({}): {}\n",
            value.show(),
            error.errno(),
            strerror(error.errno()),
            error.message()
        ),
    };
    crate::io::print_stderr(&line);
}

/// An address argument as text ("NULL" for a null pointer).
pub(crate) fn addr(ptr: *const libc::sockaddr, len: libc::socklen_t) -> String {
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
pub(crate) fn text(ptr: *const c_char) -> String {
    if ptr.is_null() {
        return "NULL".into();
    }
    // SAFETY: the caller of the traced function passes a NUL-terminated string.
    let text = unsafe { CStr::from_ptr(ptr) };
    format!("\"{}\"", shown(text.to_bytes()))
}

/// A buffer argument: its address and length.
pub(crate) fn buffer(ptr: *const c_void, len: usize) -> String {
    format!("{}, {len}", pointer(ptr))
}
