//! Section "Errors and version".

use std::ffi::{c_char, c_int};

use crate::error;

/// This thread's sentence for its last failure in prise: the call, the address or name
/// involved, the reason, and often the usual cause, e.g.
/// "connect socket 3 to 127.0.0.1:2023: Connection refused (is a server listening on
/// 127.0.0.1:2023?)".
///
/// Returns an empty string when nothing has failed on this thread yet; never NULL.
/// Ownership: the text belongs to prise and stays valid until the next failure on the
/// same thread; copy it to keep it.
#[no_mangle]
pub extern "C" fn prise_last_error() -> *const c_char {
    ffi_boundary!(untraced: c"".as_ptr(), || {
        Ok(error::last_message_ptr())
    })
}

/// The EAI_* code of this thread's last failure when it was a name-resolution failure
/// (EAI_NONAME, EAI_SERVICE, …; usable with gai_strerror()), 0 otherwise.
/// Lets a caller of a function that returns -1 or NULL tell "unknown host" apart.
#[no_mangle]
pub extern "C" fn prise_last_gai_error() -> c_int {
    ffi_boundary!(untraced: 0, || { Ok(error::last_gai()) })
}

/// The errno of this thread's last failure in prise (0 when nothing has failed yet): the
/// value errno had when that call returned, kept until the next failure on the same
/// thread. For callers that cannot read errno right after a call (a binding whose
/// runtime may run code, and change errno, in between); C callers read errno.
#[no_mangle]
pub extern "C" fn prise_last_errno() -> c_int {
    ffi_boundary!(untraced: 0, || { Ok(error::last_errno()) })
}

/// prise's version, "MAJOR.MINOR.PATCH" (the same as the PRISE_VERSION_* macros of the
/// header the program was compiled with, unless an older library is loaded).
/// Ownership: static text; never NULL.
#[no_mangle]
pub extern "C" fn prise_version() -> *const c_char {
    ffi_boundary!(untraced: c"".as_ptr(), || { Ok(VERSION.as_ptr()) })
}

const VERSION: &std::ffi::CStr = match std::ffi::CStr::from_bytes_with_nul(
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes(),
) {
    Ok(version) => version,
    Err(_) => panic!("the package version has no NUL"),
};
