//! The `extern "C"` face of prise. Every exported function body runs inside
//! [`boundary`]: panics never cross into C, and every failure becomes the function's
//! error value, `errno`, and a sentence for `prise_last_error()`. Pointer arguments are
//! checked here, turned into Rust values, and handed to the core; nothing in this
//! layer makes a system call itself.

// These functions are called from C, where `unsafe` means nothing; their pointer
// contracts are written in each doc comment (and so in prise.h) instead.
#![allow(clippy::not_unsafe_ptr_arg_deref)]

use std::ffi::{c_char, c_int, c_void, CStr};
use std::os::fd::{IntoRawFd, OwnedFd};
use std::panic::{self, AssertUnwindSafe};

use nix::errno::Errno;

use crate::addr::SockAddr;
use crate::error::{record, Error, Result};
use trace::TraceValue;

/// The whole body of every exported function:
///
/// ```ignore
/// ffi_boundary!(|| trace arguments, failure value, || body returning Result<T>)
/// ffi_boundary!(|| trace arguments, on_error: |error| value, || body)
/// ```
///
/// The body runs inside [`boundary_with`]: panics never cross into C, a failure becomes
/// the function's error value, errno, and a sentence for prise_last_error(). The C name
/// used in traces and sentences is the enclosing function's own ([`c_name!`]), so there
/// is no string to keep in step with the signature. A return code other than the
/// failure value (the course's -2) travels in the error: see [`Error::returning`].
macro_rules! ffi_boundary {
    ($args:expr, on_error: $on_error:expr, $body:expr $(,)?) => {
        $crate::ffi::boundary_with(|| c_name!(), $args, $on_error, $body)
    };
    // prise's own state (the last error, the version): no trace line, which would follow
    // every failure a program reports; no unwinding into C either.
    (untraced: $failure:expr, $body:expr $(,)?) => {{
        let failure = $failure;
        std::panic::catch_unwind($body)
            .ok()
            .and_then(|result: $crate::error::Result<_>| result.ok())
            .unwrap_or(failure)
    }};
    ($args:expr, $failure:expr, $body:expr $(,)?) => {{
        let failure = $failure;
        $crate::ffi::boundary_with(|| c_name!(), $args, move |_| failure, $body)
    }};
}

/// The name of the function this expands in (closures skipped): the exported function's
/// C name. Costs nothing until a trace line or a failure asks for it.
macro_rules! c_name {
    () => {{
        fn here() {}
        $crate::ffi::function_of(std::any::type_name_of_val(&here))
    }};
}

// Declared in the order of the header's sections, after the macros they use.
pub mod info;
pub mod primitives;
pub mod resolution;
pub mod high_level;
pub mod events;
pub mod course;
mod interned;
pub mod trace;

/// "prise::ffi::primitives::prise_socket::{{closure}}::here" -> "prise_socket".
pub(crate) fn function_of(path: &'static str) -> &'static str {
    path.trim_end_matches("::here")
        .rsplit("::")
        .find(|segment| *segment != "{{closure}}")
        .unwrap_or(path)
}

/// Runs an exported function's body: its value on success; on failure (an `Err` or a
/// panic) the failure is recorded (errno + last error) and `on_error` decides the
/// return value. `function` names the C function and `args` describes the arguments;
/// both run only when tracing or failing, `args` before the body (the arguments as the
/// caller gave them). Success costs nothing beyond the body and one relaxed load.
/// Reached through [`ffi_boundary!`].
#[inline(always)]
pub(crate) fn boundary_with<T: TraceValue>(
    function: impl Fn() -> &'static str,
    args: impl FnOnce() -> String,
    on_error: impl FnOnce(&Error) -> T,
    body: impl FnOnce() -> Result<T>,
) -> T {
    let traced = trace::enabled().then(|| trace::enter(function(), args()));
    let error = match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => {
            if let Some(args) = traced {
                trace::emit(function(), args, &value, None);
            }
            return value;
        }
        Ok(Err(error)) => error,
        Err(_) => Error::with_message(
            Errno::EIO,
            format!(
                "{}: internal error in prise (a panic was stopped); please report it",
                function()
            ),
        ),
    };
    record(&error);
    let value = on_error(&error);
    if let Some(args) = traced {
        trace::emit(function(), args, &value, Some(&error));
    }
    // on_error and the trace may call into libc; errno must still be the failure's.
    error.errno().set();
    value
}

/// A descriptor prise made, handed to the C caller: from here on it is theirs to close.
/// The only place where the core's owned descriptors become numbers.
pub(crate) fn give(fd: OwnedFd) -> c_int {
    fd.into_raw_fd()
}

pub(crate) fn null_argument(name: &str) -> Error {
    Error::with_message(Errno::EINVAL, format!("{name} is NULL"))
}

/// A C string argument that may be NULL.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn optional_str<'a>(ptr: *const c_char) -> Option<&'a CStr> {
    (!ptr.is_null()).then(|| CStr::from_ptr(ptr))
}

/// A C string argument that must not be NULL; `name` says which one for the message.
///
/// # Safety
/// As [`optional_str`].
pub(crate) unsafe fn required_str<'a>(ptr: *const c_char, name: &str) -> Result<&'a CStr> {
    optional_str(ptr).ok_or_else(|| null_argument(name))
}

/// A length from C, refused when no buffer can be that large.
fn checked_len(len: usize, name: &str) -> Result<usize> {
    if len > isize::MAX as usize {
        return Err(Error::with_message(
            Errno::EINVAL,
            format!("{name} length {len} is larger than any buffer can be"),
        ));
    }
    Ok(len)
}

/// A read-only buffer argument; NULL is allowed only with length 0.
///
/// # Safety
/// `ptr` is NULL or valid for reads of `len` bytes for `'a`.
pub(crate) unsafe fn in_bytes<'a>(ptr: *const c_void, len: usize, name: &str) -> Result<&'a [u8]> {
    let len = checked_len(len, name)?;
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(null_argument(name))
        };
    }
    Ok(std::slice::from_raw_parts(ptr.cast(), len))
}

/// A writable buffer argument; NULL is allowed only with length 0.
///
/// # Safety
/// `ptr` is NULL or valid for writes of `len` bytes for `'a`, not aliased.
pub(crate) unsafe fn out_bytes<'a>(
    ptr: *mut c_void,
    len: usize,
    name: &str,
) -> Result<&'a mut [u8]> {
    let len = checked_len(len, name)?;
    if ptr.is_null() {
        return if len == 0 {
            Ok(&mut [])
        } else {
            Err(null_argument(name))
        };
    }
    Ok(std::slice::from_raw_parts_mut(ptr.cast(), len))
}

/// The most buffers one sendmsg/recvmsg takes (Linux's UIO_MAXIOV).
const IOV_MAX: usize = 1024;

/// Checks a `struct msghdr` argument before sendmsg/recvmsg hand it to the kernel as it
/// is: not NULL, at most [`IOV_MAX`] buffers, and no NULL pointer with a length (the
/// kernel would answer EFAULT, or write through it). The name is the kernel's to check.
///
/// # Safety
/// `msg` is NULL or valid, and its msg_iov NULL or valid for msg_iovlen entries.
#[allow(clippy::unnecessary_cast)] // msg_iovlen, msg_controllen: size_t on glibc, int on musl
pub(crate) unsafe fn checked_message<'a>(msg: *const libc::msghdr) -> Result<&'a libc::msghdr> {
    let message = msg.as_ref().ok_or_else(|| null_argument("msg"))?;
    let count = message.msg_iovlen as usize;
    if count > IOV_MAX {
        return Err(Error::with_message(
            Errno::EMSGSIZE,
            format!("{count} buffers in one message: at most {IOV_MAX}"),
        ));
    }
    if count > 0 {
        if message.msg_iov.is_null() {
            return Err(null_argument("msg_iov"));
        }
        for piece in std::slice::from_raw_parts(message.msg_iov, count) {
            in_bytes(piece.iov_base, piece.iov_len, "iov_base")?;
        }
    }
    in_bytes(
        message.msg_control,
        message.msg_controllen as usize,
        "msg_control",
    )?;
    if !message.msg_name.is_null() {
        SockAddr::check_len(message.msg_namelen as usize)?;
    }
    Ok(message)
}

/// A `const struct sockaddr *` + length argument, copied.
///
/// # Safety
/// `addr` is NULL or valid for reads of `len` bytes.
pub(crate) unsafe fn in_sockaddr(
    addr: *const libc::sockaddr,
    len: libc::socklen_t,
) -> Result<SockAddr> {
    if addr.is_null() {
        return Err(null_argument("addr"));
    }
    SockAddr::check_len(len as usize)?;
    SockAddr::from_bytes(std::slice::from_raw_parts(addr.cast(), len as usize))
}

/// Writes an address to a `struct sockaddr *` + `socklen_t *` pair as the kernel does:
/// at most `*len` bytes are copied, `*len` becomes the address's full length.
/// Both NULL means the caller does not want it.
///
/// # Safety
/// `addr` is NULL or valid for writes of `*len` bytes; `len` is NULL or valid.
pub(crate) unsafe fn out_sockaddr(
    addr: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
    value: &SockAddr,
) -> Result<()> {
    check_out_sockaddr(addr, len)?;
    if addr.is_null() {
        return Ok(());
    }
    let bytes = value.as_bytes();
    let room = (*len as usize).min(bytes.len());
    std::ptr::copy_nonoverlapping(bytes.as_ptr(), addr.cast(), room);
    *len = value.len();
    Ok(())
}

/// Checks that `addr`/`len` can receive an address before a call that consumes
/// something (accept, recvfrom), so a bad pair never loses a connection or datagram.
pub(crate) fn check_out_sockaddr(
    addr: *mut libc::sockaddr,
    len: *mut libc::socklen_t,
) -> Result<()> {
    if !addr.is_null() && len.is_null() {
        return Err(null_argument("addrlen (with a non-NULL addr)"));
    }
    Ok(())
}

/// `libc::malloc`ed copy of `text` with its NUL, for the caller to `free()`.
pub(crate) fn malloc_string(text: &str) -> Result<*mut c_char> {
    let bytes = text.as_bytes();
    // SAFETY: malloc of len+1 bytes; we write exactly that many.
    unsafe {
        let ptr = libc::malloc(bytes.len() + 1) as *mut u8;
        if ptr.is_null() {
            return Err(Error::new(Errno::ENOMEM, "malloc"));
        }
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), ptr, bytes.len());
        *ptr.add(bytes.len()) = 0;
        Ok(ptr as *mut c_char)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_c_name_is_the_enclosing_function() {
        fn prise_example() -> &'static str {
            c_name!()
        }
        assert_eq!(prise_example(), "prise_example");
        let in_closure = || c_name!();
        assert_eq!(in_closure(), "the_c_name_is_the_enclosing_function");
    }

    #[test]
    fn panics_become_errors_with_eio() {
        fn prise_test() -> i32 {
            ffi_boundary!(String::new, -1, || -> Result<i32> { panic!("boom") })
        }
        let value = prise_test();
        assert_eq!(value, -1);
        assert_eq!(Errno::last(), Errno::EIO);
        let text = unsafe { CStr::from_ptr(crate::error::last_message_ptr()) };
        assert!(text.to_str().unwrap().contains("prise_test"));
    }

    #[test]
    fn null_buffers_only_with_zero_length() {
        unsafe {
            assert!(in_bytes(std::ptr::null(), 0, "buf").unwrap().is_empty());
            assert_eq!(
                in_bytes(std::ptr::null(), 1, "buf").unwrap_err().errno(),
                Errno::EINVAL
            );
            let mut byte = 0u8;
            let p = &mut byte as *mut u8 as *mut c_void;
            assert_eq!(
                out_bytes(p, usize::MAX, "buf").unwrap_err().errno(),
                Errno::EINVAL
            );
        }
    }
}
