//! Descriptor passing and peer credentials over Unix-domain sockets (SCM_RIGHTS,
//! SO_PEERCRED).

use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

use crate::addr::family_name;
use crate::error::{Error, Result};
use crate::socket;

/// Refuses a socket that is not Unix-domain before `op`: only those carry descriptors
/// and credentials (a TCP socket would send the marker byte and drop the descriptor).
fn require_unix(sock: RawFd, op: &str) -> Result<()> {
    let domain = socket::get_int_option(sock, libc::SOL_SOCKET, libc::SO_DOMAIN)
        .map_err(|e| socket::os_error_of(e.errno(), op, sock, None))?;
    if domain != libc::AF_UNIX {
        return Err(Error::with_message(
            Errno::EINVAL,
            format!(
                "{op} on socket {sock}: it is an {} socket; only Unix-domain sockets (AF_UNIX) \
                 carry descriptors and credentials",
                family_name(domain)
            ),
        ));
    }
    Ok(())
}

/// Passes descriptor `fd` over the Unix socket `sock` (SCM_RIGHTS, with one byte).
pub fn send_fd(sock: RawFd, fd: RawFd) -> Result<()> {
    require_unix(sock, "send a descriptor")?;
    let mut marker = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: marker.as_mut_ptr().cast(),
        iov_len: marker.len(),
    };
    // SAFETY: CMSG_SPACE is arithmetic.
    let space = unsafe { libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) } as usize;
    let mut control = vec![0u64; space.div_ceil(8)]; // aligned as cmsghdr wants
                                                     // SAFETY: msghdr is plain data; all-zero is a valid start.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    message.msg_iov = &mut iov;
    message.msg_iovlen = 1;
    message.msg_control = control.as_mut_ptr().cast();
    message.msg_controllen = space;
    // SAFETY: the control buffer has room for one header and one descriptor, which
    // CMSG_FIRSTHDR/CMSG_DATA address within it.
    unsafe {
        let cmsg = libc::CMSG_FIRSTHDR(&message);
        (*cmsg).cmsg_level = libc::SOL_SOCKET;
        (*cmsg).cmsg_type = libc::SCM_RIGHTS;
        (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as usize;
        libc::CMSG_DATA(cmsg).cast::<RawFd>().write_unaligned(fd);
    }
    loop {
        // SAFETY: the message points at marker, iov and control, all alive here.
        match unsafe { socket::sendmsg(sock, &message, 0) } {
            Ok(_) => return Ok(()),
            Err(e) if e.errno() == Errno::EINTR => continue,
            Err(e) => {
                return Err(Error::new(
                    e.errno(),
                    format!("send descriptor {fd} over socket {sock}"),
                ))
            }
        }
    }
}

/// The kernel's SCM_PIDFD (absent from the libc crate).
const SCM_PIDFD: libc::c_int = 0x04;

/// The most descriptors one message can carry (the kernel's SCM_MAX_FD).
const SCM_MAX_FD: usize = 253;

/// Receives a descriptor sent with [`send_fd`] (close-on-exec). A message that carries
/// none, several, or control data the kernel had to cut is refused (EBADMSG; EMFILE when
/// this process had no descriptor left), and every descriptor it brought is closed.
pub fn recv_fd(sock: RawFd) -> Result<OwnedFd> {
    let what = || format!("receive a descriptor on socket {sock}");
    // A TCP socket would lose the byte taken for the marker: refused before anything.
    require_unix(sock, "receive a descriptor")?;
    // Room for every descriptor a message can bring, the sender's credentials
    // (SO_PASSCRED) and pidfd (SO_PASSPIDFD), so that the kernel never cuts the control data for lack of room.
    // SAFETY: CMSG_SPACE is arithmetic.
    let space = unsafe {
        libc::CMSG_SPACE((SCM_MAX_FD * std::mem::size_of::<RawFd>()) as u32)
            + libc::CMSG_SPACE(std::mem::size_of::<libc::ucred>() as u32)
            + libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32)
    } as usize;
    let mut control = vec![0u64; space.div_ceil(8)]; // aligned as cmsghdr wants
    let mut marker = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: marker.as_mut_ptr().cast(),
        iov_len: marker.len(),
    };
    // SAFETY: msghdr is plain data; all-zero is a valid start.
    let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
    let received = loop {
        message.msg_iov = &mut iov;
        message.msg_iovlen = 1;
        message.msg_control = control.as_mut_ptr().cast();
        message.msg_controllen = space;
        // SAFETY: the message points at live buffers of the lengths it gives.
        match unsafe { socket::recvmsg(sock, &mut message, libc::MSG_CMSG_CLOEXEC) } {
            Ok(n) => break n,
            Err(e) if e.errno() == Errno::EINTR => continue,
            Err(e) => return Err(Error::new(e.errno(), what())),
        }
    };
    // Owned at once: whatever happens below closes them.
    let (mut fds, _sender_pidfd) = installed_descriptors(&message);
    if received == 0 {
        return Err(Error::with_message(
            Errno::ECONNRESET,
            format!("{}: the peer closed the connection", what()),
        ));
    }
    if message.msg_flags & libc::MSG_CTRUNC != 0 {
        return Err(cut_control_data(sock, fds, what()));
    }
    match fds.len() {
        1 => Ok(fds.remove(0)),
        0 => Err(Error::with_message(
            Errno::EBADMSG,
            format!("{}: the message carried none", what()),
        )),
        n => Err(Error::with_message(
            Errno::EBADMSG,
            format!(
                "{}: the peer sent {n} descriptors in one message, where one is expected; \
                 all were closed",
                what()
            ),
        )),
    }
}

/// The descriptors SCM_RIGHTS installed in this process, owned.
/// The descriptors the message installed in this process, owned: those sent
/// (SCM_RIGHTS), and the sender's pidfd (SCM_PIDFD, with SO_PASSPIDFD on Linux 6.5+),
/// which is never the caller's and is closed with the rest.
fn installed_descriptors(message: &libc::msghdr) -> (Vec<OwnedFd>, Vec<OwnedFd>) {
    let mut fds = Vec::new();
    let mut pidfds = Vec::new();
    // SAFETY: the kernel filled msg_control up to msg_controllen with well-formed
    // control messages; CMSG_* walk them within that length.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(message);
        while !cmsg.is_null() {
            let kind = (*cmsg).cmsg_type;
            let into = match kind {
                libc::SCM_RIGHTS => Some(&mut fds),
                SCM_PIDFD => Some(&mut pidfds),
                _ => None,
            };
            if let Some(into) = into.filter(|_| (*cmsg).cmsg_level == libc::SOL_SOCKET) {
                let bytes = (*cmsg).cmsg_len as usize - libc::CMSG_LEN(0) as usize;
                let data = libc::CMSG_DATA(cmsg) as *const RawFd;
                for i in 0..bytes / std::mem::size_of::<RawFd>() {
                    into.push(OwnedFd::from_raw_fd(data.add(i).read_unaligned()));
                }
            }
            cmsg = libc::CMSG_NXTHDR(message, cmsg);
        }
    }
    (fds, pidfds)
}

/// The failure of a message whose control data the kernel cut (MSG_CTRUNC). With room
/// for everything reserved, that means a descriptor could not be installed: the process
/// is out of descriptors, as a probe made before closing the ones installed tells.
fn cut_control_data(sock: RawFd, installed: Vec<OwnedFd>, what: String) -> Error {
    // A probe descriptor, closed at once: can this process still make one?
    let out_of_descriptors = match socket::dup_cloexec(sock) {
        Ok(_probe) => None,
        Err(e) => Some(e.errno()).filter(|e| matches!(e, Errno::EMFILE | Errno::ENFILE)),
    };
    drop(installed);
    match out_of_descriptors {
        Some(errno) => Error::new(errno, what).hint(
            "this process has no descriptor left for the one sent: close some; it was \
             closed",
        ),
        None => Error::with_message(
            Errno::EBADMSG,
            format!("{what}: the kernel cut the control data (MSG_CTRUNC); every descriptor received was closed"),
        ),
    }
}

/// The process, user and group of the peer of a connected Unix socket (SO_PEERCRED).
pub fn peer_cred(sock: RawFd) -> Result<(libc::pid_t, libc::uid_t, libc::gid_t)> {
    let what = || format!("peer credentials of socket {sock}");
    require_unix(sock, "read the peer credentials")?;
    let no_peer = || {
        Error::new(Errno::ENOTCONN, what()).hint(
            "only a connected Unix stream socket (accepted, connected, or of a socketpair) \
             knows its peer",
        )
    };
    socket::getpeername(sock).map_err(|e| match e.errno() {
        Errno::ENOTCONN => no_peer(),
        _ => e,
    })?;
    let cred: libc::ucred = socket::get_option(sock, libc::SOL_SOCKET, libc::SO_PEERCRED)
        .map_err(|e| Error::new(e.errno(), what()))?;
    // The kernel records no peer for a datagram socket: pid 0 is nobody.
    if cred.pid == 0 {
        return Err(no_peer());
    }
    Ok((cred.pid, cred.uid, cred.gid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::socketpair;
    use std::os::fd::AsRawFd;

    #[test]
    fn descriptor_passing() {
        let (a, b) = socketpair(libc::SOCK_STREAM);
        send_fd(a.as_raw_fd(), 1).unwrap();
        let got = recv_fd(b.as_raw_fd()).unwrap();
        assert!(got.as_raw_fd() > 2);
        let (pid, _, _) = peer_cred(a.as_raw_fd()).unwrap();
        assert_eq!(pid, std::process::id() as libc::pid_t);
    }
}
