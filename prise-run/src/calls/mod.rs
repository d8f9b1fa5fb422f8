//! The interposed functions. Each checks first whether the call is one to look at (a
//! socket, and not this library's own work); if not, it is the real call and nothing
//! else. Otherwise: faults chosen before the call, the real call, then the line, with
//! errno put back as the call (or the fault) left it.

mod conn;
mod io;
mod names;
mod wait;

use std::ffi::c_int;
use std::time::Duration;

use nix::errno::Errno;
use prise::addr::SockAddr;

use crate::fds::{self, Kind};
use crate::{config, errno, faults, real, tracer};

/// Neither a trace nor faults: socket calls need nothing from this library but
/// MSG_NOSIGNAL on their writes.
#[inline(always)]
fn quiet() -> bool {
    !config().faulty && !tracer::tracing()
}

/// The kind of `fd` when it is a socket and the call comes from the program (not from
/// this library's own work).
#[inline(always)]
fn own_socket(fd: c_int) -> Option<Kind> {
    fds::socket(fd).filter(|_| !tracer::busy())
}

/// The kind of `fd` when a call on it is to be traced or faulted.
#[inline(always)]
fn watched(fd: c_int) -> Option<Kind> {
    if quiet() {
        return None;
    }
    own_socket(fd)
}

/// What a socket call is, for the faults that can befall it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Call {
    Receive,
    Send,
    Accept,
    Connect,
    Wait,
}

/// The faults chosen for one call: a failure instead of the call, or a smaller transfer.
#[derive(Default)]
struct Faulted {
    errno: Option<c_int>,
    limit: Option<usize>,
    notes: Vec<String>,
}

impl Faulted {
    /// ` (…) [injected]` after the result, or nothing.
    fn mark(&self) -> String {
        match self.notes.is_empty() {
            true if self.errno.is_some() => " [injected]".into(),
            true => String::new(),
            false => format!(" ({}) [injected]", self.notes.join(", ")),
        }
    }

    /// What the line of a call with these faults says after `detail`.
    fn said(&self, detail: String) -> Said<'static> {
        Said {
            detail,
            tail: self.mark(),
            addr: None,
        }
    }

    fn injected(&self) -> bool {
        self.errno.is_some() || !self.notes.is_empty()
    }
}

/// Draws the faults of one call on `fd` that would move `len` bytes.
fn choose_faults(call: Call, fd: c_int, kind: Kind, len: usize, flags: c_int) -> Faulted {
    let mut chosen = Faulted::default();
    if !config().faulty {
        return chosen;
    }
    let spec = &config().faults;
    let stream = kind == Kind::Stream;
    if spec.delay_ms > 0 && call != Call::Wait {
        std::thread::sleep(Duration::from_millis(spec.delay_ms));
        chosen.notes.push(format!("delayed {} ms", spec.delay_ms));
    }
    // Not connect: after a real EINTR the connection goes on in the background, and a
    // correct program waits for it; one never started would fool that program.
    if call != Call::Connect && faults::happens(spec.eintr) {
        chosen.errno = Some(libc::EINTR);
        return chosen;
    }
    if matches!(call, Call::Receive | Call::Send | Call::Accept)
        && spec.eagain > 0.0
        && nonblocking(fd, flags)
        && faults::happens(spec.eagain)
    {
        chosen.errno = Some(libc::EAGAIN);
        return chosen;
    }
    if matches!(call, Call::Receive | Call::Send) && stream && faults::happens(spec.reset) {
        reset(fd);
        chosen.errno = Some(libc::ECONNRESET);
        chosen.notes.push("connection reset".into());
        return chosen;
    }
    if call == Call::Connect && stream && faults::happens(spec.refuse) {
        chosen.errno = Some(libc::ECONNREFUSED);
        return chosen;
    }
    let short = match call {
        Call::Receive => spec.short_read,
        Call::Send => spec.short_write,
        _ => 0.0,
    };
    if stream && len >= 2 && faults::happens(short) {
        let part = faults::part_of(len);
        chosen.limit = Some(part);
        let what = if call == Call::Send {
            "short write"
        } else {
            "short read"
        };
        chosen
            .notes
            .push(format!("{what}: at most {part} of {len} bytes"));
    }
    chosen
}

fn nonblocking(fd: c_int, flags: c_int) -> bool {
    // SAFETY: F_GETFL on an integer descriptor.
    flags & libc::MSG_DONTWAIT != 0
        || unsafe { libc::fcntl(fd, libc::F_GETFL) } & libc::O_NONBLOCK != 0
}

/// Resets the connection as a dying peer or a middlebox would: connect to AF_UNSPEC
/// aborts a TCP connection with a RST; other stream sockets are shut down.
fn reset(fd: c_int) {
    // SAFETY: a zeroed sockaddr with family AF_UNSPEC, passed with its size.
    unsafe {
        let mut unspec: libc::sockaddr = std::mem::zeroed();
        unspec.sa_family = libc::AF_UNSPEC as libc::sa_family_t;
        let size = std::mem::size_of::<libc::sockaddr>() as libc::socklen_t;
        if real::connect(fd, &unspec, size) < 0 {
            real::shutdown(fd, libc::SHUT_RDWR);
        }
    }
}

/// An address argument, copied (None for NULL or an impossible length).
///
/// # Safety
/// `addr` is NULL or valid for `len` bytes.
unsafe fn address(addr: *const libc::sockaddr, len: libc::socklen_t) -> Option<SockAddr> {
    if addr.is_null() {
        return None;
    }
    let len = len as usize;
    SockAddr::check_len(len).ok()?;
    SockAddr::from_bytes(std::slice::from_raw_parts(addr as *const u8, len)).ok()
}

/// An address the kernel wrote into the caller's `addr`/`len` pair; `room` is what
/// `*len` was before the call.
///
/// # Safety
/// Both NULL, or valid as the call's out-pointers.
unsafe fn written_address(
    addr: *const libc::sockaddr,
    len: *const libc::socklen_t,
    room: libc::socklen_t,
) -> Option<SockAddr> {
    if addr.is_null() || len.is_null() {
        return None;
    }
    address(addr, (*len).min(room))
}

/// The local (`getsockname`) or remote (`getpeername`) address of a socket.
fn socket_address(fd: c_int, remote: bool) -> Option<SockAddr> {
    let mut addr = SockAddr::for_kernel();
    let mut len = addr.len();
    // SAFETY: addr has room for len bytes.
    let ret = unsafe {
        if remote {
            libc::getpeername(fd, addr.as_mut_ptr(), &mut len)
        } else {
            libc::getsockname(fd, addr.as_mut_ptr(), &mut len)
        }
    };
    (ret == 0).then(|| {
        addr.set_len(len);
        addr
    })
}

/// What a line says beyond the call and its value.
#[derive(Default)]
struct Said<'a> {
    /// The address the call was given, for prise's sentence when it failed.
    addr: Option<&'a SockAddr>,
    /// After the value, on success: `, bound 0.0.0.0:41263`.
    detail: String,
    /// At the end of the line: a note, `[injected]`.
    tail: String,
}

/// The result of a call: its value, and errno when it failed (or the fault's).
struct Outcome {
    ret: isize,
    errno: c_int,
}

impl Outcome {
    /// The real call's outcome: errno read right after it.
    fn of(ret: isize) -> Outcome {
        Outcome {
            ret,
            errno: errno::get(),
        }
    }

    /// A fault instead of the call.
    fn failed(errno: c_int) -> Outcome {
        Outcome { ret: -1, errno }
    }

    /// The line of this call on `fd`: the value and what `said` adds on success, prise's
    /// sentence for `name` on `fd` (and the address) on failure.
    fn line(&self, name: &str, args: &str, fd: c_int, said: Said) -> String {
        let text = if self.ret < 0 {
            let error =
                prise::socket::os_error_of(Errno::from_raw(self.errno), name, fd, said.addr);
            prise::ffi::trace::line(name, args, "-1", Some(&error))
        } else {
            prise::ffi::trace::line(name, args, &format!("{}{}", self.ret, said.detail), None)
        };
        text + &said.tail
    }

    /// Leaves errno as the call left it, and returns its value.
    fn finish<T: TryFrom<isize> + Default>(self) -> T {
        errno::set(self.errno);
        T::try_from(self.ret).unwrap_or_default()
    }
}
