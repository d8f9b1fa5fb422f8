//! The transfers: read, write, recv, send, recvfrom, sendto, readv, writev, recvmsg,
//! sendmsg (and the _FORTIFY_SOURCE entry points of the reads). On a socket, a write
//! that did not ask for MSG_NOSIGNAL gets it unless `--sigpipe`: a closed peer is -1
//! EPIPE, and the line says what would have happened without prise-run.

use std::ffi::{c_int, c_void};

use libc::{iovec, msghdr, size_t, sockaddr, socklen_t, ssize_t};

use super::{
    address, choose_faults, own_socket, quiet, watched, written_address, Call, Faulted, Outcome,
    Said,
};
use crate::fds::{self, Kind};
use crate::{config, real, show, tracer};

/// One transfer on a watched socket.
struct Transfer {
    name: &'static str,
    fd: c_int,
    kind: Kind,
    /// Bytes asked for or offered.
    len: usize,
    /// send/recv flags (0 for read/write).
    flags: c_int,
}

impl Transfer {
    fn new(name: &'static str, fd: c_int, kind: Kind, len: usize, flags: c_int) -> Transfer {
        Transfer {
            name,
            fd,
            kind,
            len,
            flags,
        }
    }

    /// Chooses the faults, then makes the call (with the length a short transfer
    /// allows) unless a fault takes its place.
    fn run(&self, call: Call, real_call: impl FnOnce(usize) -> isize) -> (Faulted, Outcome) {
        let faulted = if config().faulty {
            choose_faults(call, self.fd, self.kind, self.len, self.flags)
        } else {
            Faulted::default()
        };
        let outcome = match faulted.errno {
            Some(errno) => Outcome::failed(errno),
            None => Outcome::of(real_call(faulted.limit.unwrap_or(self.len))),
        };
        (faulted, outcome)
    }

    /// Writes the line: `name(fd, data or …, len rest) = value detail`.
    #[allow(clippy::too_many_arguments)]
    fn trace(
        &self,
        faulted: &Faulted,
        outcome: &Outcome,
        shown: impl FnOnce(usize) -> Vec<u8>,
        len_text: impl FnOnce() -> String,
        rest: impl FnOnce() -> String,
        detail: impl FnOnce() -> String,
        note: &str,
        addr: Option<&prise::SockAddr>,
    ) {
        if !tracer::tracing() || fds::known(self.fd).is_none() {
            return; // the descriptor turned out not to be a socket (see write_socket)
        }
        tracer::emit(false, || {
            let limit = config().data_bytes;
            let buffer = if limit > 0 && outcome.ret > 0 {
                // One byte past the limit tells show::data that there is more.
                show::data(&shown((outcome.ret as usize).min(limit + 1)), limit)
            } else {
                "…".into()
            };
            let args = format!("{}, {buffer}, {}{}", self.fd, len_text(), rest());
            let detail = if outcome.ret >= 0 {
                detail()
            } else {
                String::new()
            };
            let tail = format!("{note}{}", faulted.mark());
            outcome.line(self.name, &args, self.fd, Said { addr, detail, tail })
        });
    }
}

/// The flags argument of send/recv as shown.
fn flags_arg(flags: c_int) -> String {
    format!(", {}", show::msg_flags(flags))
}

/// What becomes of a write that met a closed peer: without prise-run the kernel would
/// have sent SIGPIPE. If the program handles or blocks the signal it gets it, as it
/// would have; if it would have died of it, the line says so.
fn after_closed_peer() -> String {
    // SAFETY: sigaction and pthread_sigmask only read the current settings into locals.
    let (action, blocked) = unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut action);
        let mut mask: libc::sigset_t = std::mem::zeroed();
        libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut mask);
        (
            action.sa_sigaction,
            libc::sigismember(&mask, libc::SIGPIPE) == 1,
        )
    };
    if action == libc::SIG_IGN {
        return String::new();
    }
    if action == libc::SIG_DFL && !blocked {
        return " (without prise-run, SIGPIPE would have killed the program here; \
                --sigpipe lets it)"
            .into();
    }
    // SAFETY: sends SIGPIPE to the calling thread, as the kernel would have.
    unsafe { libc::pthread_kill(libc::pthread_self(), libc::SIGPIPE) };
    String::new()
}

/// Whether a write gets MSG_NOSIGNAL: unless the program asked for it already, or
/// `--sigpipe` wants the signal.
fn adds_nosignal(asked_nosignal: bool) -> bool {
    !config().sigpipe && !asked_nosignal
}

/// MSG_NOSIGNAL, or no flag.
fn nosignal(add: bool) -> c_int {
    if add {
        libc::MSG_NOSIGNAL
    } else {
        0
    }
}

/// A write on a socket with neither trace nor faults: MSG_NOSIGNAL, and a closed peer
/// as without prise-run. `real_call` gets whether to add MSG_NOSIGNAL.
fn send_quietly(asked_nosignal: bool, real_call: impl FnOnce(bool) -> isize) -> isize {
    let add = adds_nosignal(asked_nosignal);
    let ret = real_call(add);
    if ret < 0 && add && crate::errno::get() == libc::EPIPE {
        after_closed_peer();
        crate::errno::set(libc::EPIPE);
    }
    ret
}

/// The send side: faults, MSG_NOSIGNAL unless the program or `--sigpipe` says
/// otherwise, and what a closed peer means. `real_call` gets the length allowed and
/// whether to add MSG_NOSIGNAL.
fn send_side(
    transfer: &Transfer,
    asked_nosignal: bool,
    real_call: impl FnOnce(usize, bool) -> isize,
) -> (Faulted, Outcome, String) {
    let add_nosignal = adds_nosignal(asked_nosignal);
    let (faulted, outcome) = transfer.run(Call::Send, |len| real_call(len, add_nosignal));
    let note =
        if outcome.ret < 0 && outcome.errno == libc::EPIPE && add_nosignal && !faulted.injected() {
            after_closed_peer()
        } else {
            String::new()
        };
    (faulted, outcome, note)
}

/// A write(2) on a socket as send(2) with MSG_NOSIGNAL when asked; the table was out
/// of date if the descriptor is not a socket after all.
unsafe fn write_socket(fd: c_int, buf: *const c_void, len: usize, add_nosignal: bool) -> isize {
    if add_nosignal {
        let ret = real::send(fd, buf, len, libc::MSG_NOSIGNAL);
        if ret >= 0 || crate::errno::get() != libc::ENOTSOCK {
            return ret;
        }
        fds::forget(fd);
    }
    real::write(fd, buf, len)
}

#[inline(never)]
/// writev(2) on a socket as sendmsg(2) with MSG_NOSIGNAL when asked (as write_socket).
unsafe fn writev_socket(fd: c_int, iov: *const iovec, count: c_int, add_nosignal: bool) -> isize {
    if add_nosignal {
        // SAFETY: msghdr is plain data; only the iovec fields are set.
        let mut msg: msghdr = std::mem::zeroed();
        msg.msg_iov = iov as *mut iovec;
        msg.msg_iovlen = count as usize;
        let ret = real::sendmsg(fd, &msg, libc::MSG_NOSIGNAL);
        if ret >= 0 || crate::errno::get() != libc::ENOTSOCK {
            return ret;
        }
        fds::forget(fd);
    }
    real::writev(fd, iov, count)
}

unsafe fn read_socket(transfer: Transfer, buf: *mut c_void) -> ssize_t {
    let (faulted, outcome) = transfer.run(Call::Receive, |len| real::read(transfer.fd, buf, len));
    transfer.trace(
        &faulted,
        &outcome,
        |n| std::slice::from_raw_parts(buf as *const u8, n).to_vec(),
        || transfer.len.to_string(),
        String::new,
        String::new,
        "",
        None,
    );
    outcome.finish()
}

#[no_mangle]
pub unsafe extern "C" fn read(fd: c_int, buf: *mut c_void, count: size_t) -> ssize_t {
    match watched(fd) {
        Some(kind) => read_on_socket(kind, fd, buf, count),
        None => real::read(fd, buf, count),
    }
}

/// read on a socket: out of line, so that other descriptors pay only for the check.
#[inline(never)]
unsafe fn read_on_socket(kind: Kind, fd: c_int, buf: *mut c_void, count: size_t) -> ssize_t {
    read_socket(Transfer::new("read", fd, kind, count, 0), buf)
}

/// read with _FORTIFY_SOURCE: `room` is the buffer's size as the compiler knew it.
#[no_mangle]
pub unsafe extern "C" fn __read_chk(
    fd: c_int,
    buf: *mut c_void,
    count: size_t,
    room: size_t,
) -> ssize_t {
    match watched(fd) {
        Some(kind) if count <= room => read_socket(Transfer::new("read", fd, kind, count, 0), buf),
        _ => real::__read_chk(fd, buf, count, room),
    }
}

#[no_mangle]
pub unsafe extern "C" fn write(fd: c_int, buf: *const c_void, count: size_t) -> ssize_t {
    match own_socket(fd) {
        Some(kind) if !quiet() => write_on_socket(kind, fd, buf, count),
        Some(_) => send_quietly(false, |add| write_socket(fd, buf, count, add)),
        None => real::write(fd, buf, count),
    }
}

/// write on a socket: out of line, so that other descriptors pay only for the check.
#[inline(never)]
unsafe fn write_on_socket(kind: Kind, fd: c_int, buf: *const c_void, count: size_t) -> ssize_t {
    let transfer = Transfer::new("write", fd, kind, count, 0);
    let (faulted, outcome, note) =
        send_side(&transfer, false, |len, add| write_socket(fd, buf, len, add));
    transfer.trace(
        &faulted,
        &outcome,
        |n| std::slice::from_raw_parts(buf as *const u8, n).to_vec(),
        || count.to_string(),
        String::new,
        String::new,
        &note,
        None,
    );
    outcome.finish()
}

#[inline(never)]
unsafe fn recv_socket(transfer: Transfer, buf: *mut c_void) -> ssize_t {
    let flags = transfer.flags;
    let (faulted, outcome) = transfer.run(Call::Receive, |len| {
        real::recv(transfer.fd, buf, len, flags)
    });
    transfer.trace(
        &faulted,
        &outcome,
        |n| std::slice::from_raw_parts(buf as *const u8, n).to_vec(),
        || transfer.len.to_string(),
        || flags_arg(flags),
        String::new,
        "",
        None,
    );
    outcome.finish()
}

#[no_mangle]
pub unsafe extern "C" fn recv(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t {
    match watched(fd) {
        Some(kind) => recv_on_socket(kind, fd, buf, len, flags),
        None => real::recv(fd, buf, len, flags),
    }
}

/// recv on a socket: out of line, so that other descriptors pay only for the check.
#[inline(never)]
unsafe fn recv_on_socket(
    kind: Kind,
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
) -> ssize_t {
    recv_socket(Transfer::new("recv", fd, kind, len, flags), buf)
}

#[no_mangle]
pub unsafe extern "C" fn __recv_chk(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    room: size_t,
    flags: c_int,
) -> ssize_t {
    match watched(fd) {
        Some(kind) if len <= room => recv_socket(Transfer::new("recv", fd, kind, len, flags), buf),
        _ => real::__recv_chk(fd, buf, len, room, flags),
    }
}

#[no_mangle]
pub unsafe extern "C" fn send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t {
    match own_socket(fd) {
        Some(kind) if !quiet() => send_on_socket(kind, fd, buf, len, flags),
        Some(_) => send_quietly(flags & libc::MSG_NOSIGNAL != 0, |add| {
            real::send(fd, buf, len, flags | nosignal(add))
        }),
        None => real::send(fd, buf, len, flags),
    }
}

/// send on a socket: out of line, so that other descriptors pay only for the check.
#[inline(never)]
unsafe fn send_on_socket(
    kind: Kind,
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
) -> ssize_t {
    let transfer = Transfer::new("send", fd, kind, len, flags);
    let asked = flags & libc::MSG_NOSIGNAL != 0;
    let (faulted, outcome, note) = send_side(&transfer, asked, |len, add| {
        let extra = nosignal(add);
        real::send(fd, buf, len, flags | extra)
    });
    transfer.trace(
        &faulted,
        &outcome,
        |n| std::slice::from_raw_parts(buf as *const u8, n).to_vec(),
        || len.to_string(),
        || flags_arg(flags),
        String::new,
        &note,
        None,
    );
    outcome.finish()
}

#[inline(never)]
unsafe fn recvfrom_socket(
    transfer: Transfer,
    buf: *mut c_void,
    addr: *mut sockaddr,
    addr_len: *mut socklen_t,
) -> ssize_t {
    let flags = transfer.flags;
    let room = if addr_len.is_null() { 0 } else { *addr_len };
    let (faulted, outcome) = transfer.run(Call::Receive, |len| {
        real::recvfrom(transfer.fd, buf, len, flags, addr, addr_len)
    });
    transfer.trace(
        &faulted,
        &outcome,
        |n| std::slice::from_raw_parts(buf as *const u8, n).to_vec(),
        || transfer.len.to_string(),
        || flags_arg(flags),
        || match written_address(addr, addr_len, room) {
            Some(from) if !from.is_empty() => format!(", from {from}"),
            _ => String::new(),
        },
        "",
        None,
    );
    outcome.finish()
}

#[no_mangle]
pub unsafe extern "C" fn recvfrom(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    addr_len: *mut socklen_t,
) -> ssize_t {
    match watched(fd) {
        Some(kind) => recvfrom_on_socket(kind, fd, buf, len, flags, addr, addr_len),
        None => real::recvfrom(fd, buf, len, flags, addr, addr_len),
    }
}

/// recvfrom on a socket: out of line, so that other descriptors pay only for the check.
#[inline(never)]
unsafe fn recvfrom_on_socket(
    kind: Kind,
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    addr_len: *mut socklen_t,
) -> ssize_t {
    recvfrom_socket(
        Transfer::new("recvfrom", fd, kind, len, flags),
        buf,
        addr,
        addr_len,
    )
}

#[no_mangle]
pub unsafe extern "C" fn __recvfrom_chk(
    fd: c_int,
    buf: *mut c_void,
    len: size_t,
    room: size_t,
    flags: c_int,
    addr: *mut sockaddr,
    addr_len: *mut socklen_t,
) -> ssize_t {
    match watched(fd) {
        Some(kind) if len <= room => recvfrom_socket(
            Transfer::new("recvfrom", fd, kind, len, flags),
            buf,
            addr,
            addr_len,
        ),
        _ => real::__recvfrom_chk(fd, buf, len, room, flags, addr, addr_len),
    }
}

#[no_mangle]
pub unsafe extern "C" fn sendto(
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
    addr: *const sockaddr,
    addr_len: socklen_t,
) -> ssize_t {
    match own_socket(fd) {
        Some(kind) if !quiet() => sendto_on_socket(kind, fd, buf, len, flags, addr, addr_len),
        Some(_) => send_quietly(flags & libc::MSG_NOSIGNAL != 0, |add| {
            real::sendto(fd, buf, len, flags | nosignal(add), addr, addr_len)
        }),
        None => real::sendto(fd, buf, len, flags, addr, addr_len),
    }
}

/// sendto on a socket: out of line, so that other descriptors pay only for the check.
#[inline(never)]
unsafe fn sendto_on_socket(
    kind: Kind,
    fd: c_int,
    buf: *const c_void,
    len: size_t,
    flags: c_int,
    addr: *const sockaddr,
    addr_len: socklen_t,
) -> ssize_t {
    let transfer = Transfer::new("sendto", fd, kind, len, flags);
    let asked = flags & libc::MSG_NOSIGNAL != 0;
    let (faulted, outcome, note) = send_side(&transfer, asked, |len, add| {
        let extra = nosignal(add);
        real::sendto(fd, buf, len, flags | extra, addr, addr_len)
    });
    let to = address(addr, addr_len);
    let rest = || match &to {
        Some(to) => format!("{}, {to}", flags_arg(flags)),
        None if addr.is_null() => format!("{}, NULL", flags_arg(flags)),
        None => format!("{}, ?", flags_arg(flags)),
    };
    transfer.trace(
        &faulted,
        &outcome,
        |n| std::slice::from_raw_parts(buf as *const u8, n).to_vec(),
        || len.to_string(),
        rest,
        String::new,
        &note,
        to.as_ref(),
    );
    outcome.finish()
}

/// The total length of an iovec array (None for a count the kernel refuses).
unsafe fn total(iov: *const iovec, count: c_int) -> Option<usize> {
    if iov.is_null() || !(0..=libc::UIO_MAXIOV).contains(&count) {
        return None;
    }
    Some((0..count as usize).map(|i| (*iov.add(i)).iov_len).sum())
}

/// The first entries of `iov` cut so that they hold at most `limit` bytes.
unsafe fn trimmed(iov: *const iovec, count: usize, limit: usize) -> Vec<iovec> {
    let mut kept = Vec::new();
    let mut left = limit;
    for index in 0..count {
        if left == 0 {
            break;
        }
        let mut entry = *iov.add(index);
        entry.iov_len = entry.iov_len.min(left);
        left -= entry.iov_len;
        kept.push(entry);
    }
    kept
}

/// `8192 in 2 buffers` for a vectored call.
fn vector_len(len: usize, count: usize) -> String {
    format!(
        "{len} in {count} buffer{}",
        if count == 1 { "" } else { "s" }
    )
}

#[no_mangle]
pub unsafe extern "C" fn readv(fd: c_int, iov: *const iovec, count: c_int) -> ssize_t {
    match watched(fd) {
        Some(kind) => readv_on_socket(kind, fd, iov, count),
        None => real::readv(fd, iov, count),
    }
}

#[inline(never)]
unsafe fn readv_on_socket(kind: Kind, fd: c_int, iov: *const iovec, count: c_int) -> ssize_t {
    let Some(len) = total(iov, count) else {
        return real::readv(fd, iov, count);
    };
    let transfer = Transfer::new("readv", fd, kind, len, 0);
    let (faulted, outcome) = transfer.run(Call::Receive, |allowed| {
        if allowed == len {
            real::readv(fd, iov, count)
        } else {
            let cut = trimmed(iov, count as usize, allowed);
            real::readv(fd, cut.as_ptr(), cut.len() as c_int)
        }
    });
    let limit = config().data_bytes;
    transfer.trace(
        &faulted,
        &outcome,
        |n| show::gather(iov, count as usize, n, limit + 1),
        || vector_len(len, count as usize),
        String::new,
        String::new,
        "",
        None,
    );
    outcome.finish()
}

#[no_mangle]
pub unsafe extern "C" fn writev(fd: c_int, iov: *const iovec, count: c_int) -> ssize_t {
    match own_socket(fd) {
        Some(kind) if !quiet() => writev_on_socket(kind, fd, iov, count),
        Some(_) => send_quietly(false, |add| writev_socket(fd, iov, count, add)),
        None => real::writev(fd, iov, count),
    }
}

#[inline(never)]
unsafe fn writev_on_socket(kind: Kind, fd: c_int, iov: *const iovec, count: c_int) -> ssize_t {
    let Some(len) = total(iov, count) else {
        return real::writev(fd, iov, count);
    };
    let transfer = Transfer::new("writev", fd, kind, len, 0);
    let (faulted, outcome, note) = send_side(&transfer, false, |allowed, add| {
        let cut;
        let (iov, count) = if allowed == len {
            (iov, count as usize)
        } else {
            cut = trimmed(iov, count as usize, allowed);
            (cut.as_ptr(), cut.len())
        };
        writev_socket(fd, iov, count as c_int, add)
    });
    let limit = config().data_bytes;
    transfer.trace(
        &faulted,
        &outcome,
        |n| show::gather(iov, count as usize, n, limit + 1),
        || vector_len(len, count as usize),
        String::new,
        String::new,
        &note,
        None,
    );
    outcome.finish()
}

/// Descriptors received with SCM_RIGHTS have numbers the table may know from before.
unsafe fn forget_received_descriptors(msg: *const msghdr) {
    let mut header = libc::CMSG_FIRSTHDR(msg);
    while !header.is_null() {
        if (*header).cmsg_level == libc::SOL_SOCKET && (*header).cmsg_type == libc::SCM_RIGHTS {
            let data = libc::CMSG_DATA(header) as *const c_int;
            let bytes = (*header).cmsg_len as usize - (data as usize - header as usize);
            for index in 0..bytes / std::mem::size_of::<c_int>() {
                fds::forget(std::ptr::read_unaligned(data.add(index)));
            }
        }
        header = libc::CMSG_NXTHDR(msg, header);
    }
}

/// The bytes a msghdr's buffers hold (None: no msghdr, or an impossible one).
unsafe fn message_len(msg: *const msghdr) -> Option<usize> {
    let msg = msg.as_ref()?;
    total(msg.msg_iov, c_int::try_from(msg.msg_iovlen).ok()?)
}

#[no_mangle]
pub unsafe extern "C" fn recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
    match watched(fd) {
        Some(kind) => recvmsg_on_socket(kind, fd, msg, flags),
        None => {
            let ret = real::recvmsg(fd, msg, flags);
            if ret >= 0 && !msg.is_null() {
                let saved = crate::errno::get();
                forget_received_descriptors(msg);
                crate::errno::set(saved);
            }
            ret
        }
    }
}

#[inline(never)]
unsafe fn recvmsg_on_socket(kind: Kind, fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t {
    let Some(len) = message_len(msg) else {
        return real::recvmsg(fd, msg, flags);
    };
    let transfer = Transfer::new("recvmsg", fd, kind, len, flags);
    let count = (*msg).msg_iovlen;
    let (faulted, outcome) = transfer.run(Call::Receive, |allowed| {
        if allowed == len {
            return real::recvmsg(fd, msg, flags);
        }
        let cut = trimmed((*msg).msg_iov, count, allowed);
        let mut copy = *msg;
        copy.msg_iov = cut.as_ptr() as *mut iovec;
        copy.msg_iovlen = cut.len();
        let ret = real::recvmsg(fd, &mut copy, flags);
        (*msg).msg_namelen = copy.msg_namelen;
        (*msg).msg_controllen = copy.msg_controllen;
        (*msg).msg_flags = copy.msg_flags;
        ret
    });
    if outcome.ret >= 0 {
        forget_received_descriptors(msg);
    }
    let limit = config().data_bytes;
    transfer.trace(
        &faulted,
        &outcome,
        |n| show::gather((*msg).msg_iov, count, n, limit + 1),
        || vector_len(len, count),
        || flags_arg(flags),
        || match address((*msg).msg_name as *const sockaddr, (*msg).msg_namelen) {
            Some(from) if !from.is_empty() => format!(", from {from}"),
            _ => String::new(),
        },
        "",
        None,
    );
    outcome.finish()
}

#[no_mangle]
pub unsafe extern "C" fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
    match own_socket(fd) {
        Some(kind) if !quiet() => sendmsg_on_socket(kind, fd, msg, flags),
        Some(_) => send_quietly(flags & libc::MSG_NOSIGNAL != 0, |add| {
            real::sendmsg(fd, msg, flags | nosignal(add))
        }),
        None => real::sendmsg(fd, msg, flags),
    }
}

#[inline(never)]
unsafe fn sendmsg_on_socket(kind: Kind, fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t {
    let Some(len) = message_len(msg) else {
        return real::sendmsg(fd, msg, flags);
    };
    let transfer = Transfer::new("sendmsg", fd, kind, len, flags);
    let count = (*msg).msg_iovlen;
    let asked = flags & libc::MSG_NOSIGNAL != 0;
    let (faulted, outcome, note) = send_side(&transfer, asked, |allowed, add| {
        let extra = nosignal(add);
        if allowed == len {
            return real::sendmsg(fd, msg, flags | extra);
        }
        let cut = trimmed((*msg).msg_iov, count, allowed);
        let mut copy = *msg;
        copy.msg_iov = cut.as_ptr() as *mut iovec;
        copy.msg_iovlen = cut.len();
        real::sendmsg(fd, &copy, flags | extra)
    });
    let to = address((*msg).msg_name as *const sockaddr, (*msg).msg_namelen);
    let rest = || match &to {
        Some(to) => format!("{}, {to}", flags_arg(flags)),
        None => flags_arg(flags),
    };
    let limit = config().data_bytes;
    transfer.trace(
        &faulted,
        &outcome,
        |n| show::gather((*msg).msg_iov, count, n, limit + 1),
        || vector_len(len, count),
        rest,
        String::new,
        &note,
        to.as_ref(),
    );
    outcome.finish()
}
