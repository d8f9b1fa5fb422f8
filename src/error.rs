//! The error type of the core and the per-thread "last error" the C ABI exposes.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::ffi::{CStr, CString};
use std::fmt;

use nix::errno::Errno;

/// A failure of the core: the `errno` a C caller will see, the `EAI_*` code when the
/// failure came from name resolution, and a sentence written for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    errno: Errno,
    gai: Option<i32>,
    message: String,
    return_code: Option<i32>,
}

impl Error {
    /// Every sentence is made here: whatever names or paths went into it, it stays one
    /// line of text (see [`printable`]).
    fn make(errno: Errno, gai: Option<i32>, message: String) -> Error {
        let message = match printable(&message) {
            Cow::Borrowed(_) => message,
            Cow::Owned(escaped) => escaped,
        };
        Error {
            errno,
            gai,
            message,
            return_code: None,
        }
    }

    /// A failure with an explicit errno; `what` names the operation and its arguments.
    pub fn new(errno: Errno, what: impl fmt::Display) -> Error {
        Error::make(errno, None, format!("{what}: {}", strerror(errno)))
    }

    /// The failure of the system call that just returned -1: reads `errno` now,
    /// before anything else can overwrite it.
    pub fn last(what: impl fmt::Display) -> Error {
        Error::new(Errno::last(), what)
    }

    /// A failure whose sentence is given whole (the reason is not errno's text).
    pub fn with_message(errno: Errno, message: impl Into<String>) -> Error {
        Error::make(errno, None, message.into())
    }

    /// A name-resolution failure: `code` is the `EAI_*` value, mapped to the errno
    /// documented in prise.h; `system_errno` is errno at the time for `EAI_SYSTEM`.
    pub fn resolution(code: i32, system_errno: Errno, what: impl fmt::Display) -> Error {
        let reason = gai_reason(code, system_errno);
        Error::make(
            errno_of_gai(code, system_errno),
            Some(code),
            format!("{what}: {reason}"),
        )
    }

    /// A resolution request refused before the resolver was asked (bad port, empty
    /// name): the `EAI_*` code the resolver would give, with prise's own sentence.
    pub fn resolution_refused(code: i32, message: impl Into<String>) -> Error {
        Error::make(
            errno_of_gai(code, Errno::UnknownErrno),
            Some(code),
            message.into(),
        )
    }

    /// Adds a hint for a learner after the reason ("is a server listening on …?").
    pub fn hint(self, hint: impl fmt::Display) -> Error {
        Error::make(self.errno, self.gai, format!("{} ({hint})", self.message))
    }

    /// The same failure, for which the C function returns `code` instead of its usual
    /// failure value (the course's bindedSocket returns -2 when bind itself fails).
    pub fn returning(mut self, code: i32) -> Error {
        self.return_code = Some(code);
        self
    }

    /// The return code set by [`Error::returning`], if any.
    pub fn return_code(&self) -> Option<i32> {
        self.return_code
    }

    pub fn errno(&self) -> Errno {
        self.errno
    }

    /// The `EAI_*` code when this failure came from name resolution.
    pub fn gai(&self) -> Option<i32> {
        self.gai
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// The C library's text for errno, as perror prints it (nix's own table differs).
pub fn strerror(errno: Errno) -> String {
    let mut buf = [0 as libc::c_char; 128];
    // SAFETY: the buffer is writable for its length; the XSI strerror_r NUL-terminates.
    let ok = unsafe { libc::strerror_r(errno as libc::c_int, buf.as_mut_ptr(), buf.len()) } == 0;
    if !ok {
        return format!("error {}", errno as libc::c_int);
    }
    // SAFETY: on success the buffer holds a NUL-terminated string.
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned()
}

/// Text made for a person out of what came from outside (host names, paths, abstract
/// names): control characters and NUL are written as escapes (`\n`, `\0`, `\x01`,
/// `\u{85}`), so that a name can neither cut a line nor forge one.
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\0' => escaped.push_str("\\0"),
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            c if c.is_ascii_control() => escaped.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control() => escaped.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

/// A name or path as a message shows it: escaped (see [`printable`]) and, when long,
/// cut so that one line stays one line.
pub fn shown(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let text = printable(&text);
    if text.chars().count() <= 80 {
        return text.into_owned();
    }
    let head: String = text.chars().take(60).collect();
    format!("{head}… ({} bytes)", bytes.len())
}

/// gai_strerror's sentence; errno's for `EAI_SYSTEM` (gai_strerror only says "System
/// error") and prise's own where glibc has none ("Unknown error" for `EAI_OVERFLOW`).
fn gai_reason(code: i32, system_errno: Errno) -> String {
    match code {
        libc::EAI_SYSTEM => return strerror(system_errno),
        libc::EAI_OVERFLOW => return "buffer too small for the result".into(),
        _ => {}
    }
    // SAFETY: gai_strerror returns a pointer to a static, NUL-terminated string.
    unsafe { CStr::from_ptr(libc::gai_strerror(code)) }
        .to_string_lossy()
        .into_owned()
}

/// glibc's "address family for host not supported" (absent from the libc crate).
pub(crate) const EAI_ADDRFAMILY: i32 = -9;

/// The errno prise sets for a resolution failure (documented in prise.h):
/// unknown name → ENOENT, unknown or bad service and bad hints → EINVAL,
/// temporary failure → EAGAIN, out of memory → ENOMEM, system error → its errno.
pub fn errno_of_gai(code: i32, system_errno: Errno) -> Errno {
    match code {
        libc::EAI_NONAME | libc::EAI_NODATA | EAI_ADDRFAMILY | libc::EAI_FAIL => Errno::ENOENT,
        libc::EAI_AGAIN => Errno::EAGAIN,
        libc::EAI_MEMORY => Errno::ENOMEM,
        libc::EAI_OVERFLOW => Errno::ENOSPC,
        libc::EAI_SYSTEM if system_errno != Errno::UnknownErrno => system_errno,
        libc::EAI_SYSTEM => Errno::EIO,
        _ => Errno::EINVAL,
    }
}

struct LastError {
    message: CString,
    gai: i32,
}

thread_local! {
    static LAST_ERROR: RefCell<LastError> = RefCell::new(LastError {
        message: CString::default(),
        gai: 0,
    });
    // Apart from the sentence, in a Cell: kept even when the sentence has to be dropped.
    static LAST_ERRNO: Cell<i32> = const { Cell::new(0) };
}

/// Records `error` as this thread's last failure and sets errno to its value.
/// errno is set last so that nothing done while recording can overwrite it.
/// A call made once this thread's storage is gone (from an atexit handler, a
/// pthread_key destructor) keeps no sentence; errno is still set.
pub fn record(error: &Error) {
    // Sentences hold no NUL: every one is made printable.
    let message = CString::new(error.message.as_str()).unwrap_or_default();
    // A signal handler that fails a call while this thread was recording its own failure
    // finds the state busy: its sentence is dropped (errno still tells), never a panic.
    let _ = LAST_ERROR.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            last.message = message;
            last.gai = error.gai.unwrap_or(0);
        }
    });
    let _ = LAST_ERRNO.try_with(|last| last.set(error.errno as i32));
    error.errno.set();
}

/// This thread's last failure sentence ("" once the thread's storage is gone). The
/// pointer stays valid until the next failure recorded on this thread (the CString is
/// replaced, not mutated, only then).
pub fn last_message_ptr() -> *const libc::c_char {
    LAST_ERROR
        .try_with(|last| last.try_borrow().map(|l| l.message.as_ptr()).ok())
        .ok()
        .flatten()
        .unwrap_or(c"".as_ptr())
}

/// The errno of this thread's last failure (0 before any, or once the thread's storage
/// is gone).
pub fn last_errno() -> i32 {
    LAST_ERRNO.try_with(Cell::get).unwrap_or(0)
}

/// The `EAI_*` code of this thread's last failure, 0 when it was not a resolution
/// failure (or the thread's storage is gone).
pub fn last_gai() -> i32 {
    LAST_ERROR
        .try_with(|last| last.try_borrow().map(|l| l.gai).unwrap_or(0))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_sets_errno_and_message() {
        record(&Error::new(Errno::ECONNREFUSED, "connect to 127.0.0.1:9"));
        assert_eq!(Errno::last(), Errno::ECONNREFUSED);
        assert_eq!(last_errno(), libc::ECONNREFUSED);
        let text = unsafe { CStr::from_ptr(last_message_ptr()) };
        assert_eq!(
            text.to_str().unwrap(),
            "connect to 127.0.0.1:9: Connection refused"
        );
        assert_eq!(last_gai(), 0);
    }

    #[test]
    fn resolution_errors_map_to_documented_errno() {
        let e = Error::resolution(libc::EAI_NONAME, Errno::UnknownErrno, "resolve x.invalid");
        assert_eq!(e.errno(), Errno::ENOENT);
        assert_eq!(e.gai(), Some(libc::EAI_NONAME));
        assert!(e.message().starts_with("resolve x.invalid: "));
        assert_eq!(
            errno_of_gai(libc::EAI_SERVICE, Errno::UnknownErrno),
            Errno::EINVAL
        );
        assert_eq!(errno_of_gai(libc::EAI_SYSTEM, Errno::EMFILE), Errno::EMFILE);
    }

    #[test]
    fn names_cannot_cut_or_forge_a_line() {
        let error = Error::new(
            Errno::ENOENT,
            "resolve host \"a\nprise: forged\t\x01\u{85}\"",
        );
        assert_eq!(
            error.message(),
            "resolve host \"a\\nprise: forged\\t\\x01\\u{85}\": No such file or directory"
        );
        let hinted = Error::with_message(Errno::EINVAL, "x").hint("y\rz");
        assert_eq!(hinted.message(), "x (y\\rz)");
        assert_eq!(printable("plain, é and ü"), "plain, é and ü");
        assert_eq!(shown(b"a\0b"), "a\\0b");
        let long = shown(&[b'x'; 200]);
        assert!(
            long.starts_with(&"x".repeat(60)) && long.ends_with("… (200 bytes)"),
            "{long}"
        );
    }

    #[test]
    fn overflow_is_a_small_buffer_not_an_unknown_error() {
        let e = Error::resolution(libc::EAI_OVERFLOW, Errno::UnknownErrno, "getnameinfo");
        assert_eq!(e.message(), "getnameinfo: buffer too small for the result");
    }

    #[test]
    fn interior_nul_does_not_lose_the_message() {
        record(&Error::with_message(Errno::EINVAL, "bad\0name"));
        let text = unsafe { CStr::from_ptr(last_message_ptr()) };
        assert_eq!(text.to_str().unwrap(), "bad\\0name");
    }
}
