//! Unix-domain sockets: servers that never destroy what is at their path, clients, the
//! abstract namespace (`@name`).

use std::ffi::CStr;
use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno;

use crate::activation;
use crate::addr::SockAddr;
use crate::error::{shown, Error, Result};
use crate::socket;

fn check_unix_type(socktype: libc::c_int) -> Result<()> {
    if socktype != libc::SOCK_STREAM && socktype != libc::SOCK_DGRAM {
        return Err(Error::with_message(
            Errno::EINVAL,
            format!("Unix socket type {socktype}: use SOCK_STREAM or SOCK_DGRAM"),
        ));
    }
    Ok(())
}

fn unix_path_addr(path: &CStr) -> Result<SockAddr> {
    if path.is_empty() {
        return Err(Error::with_message(
            Errno::EINVAL,
            "the Unix socket path is empty",
        ));
    }
    SockAddr::unix(path.to_bytes()).map_err(|e| {
        Error::with_message(
            e.errno(),
            format!(
                "Unix socket \"{}\": {}",
                shown(path.to_bytes()),
                e.message()
            ),
        )
    })
}

/// A Unix-domain server socket: the one a service manager passed for `path` (socket
/// activation), else a new one. Only a socket file whose server is gone is replaced;
/// anything else at the path (a file, a FIFO, a link, a directory, a live server's
/// socket) is left as it is: EADDRINUSE, saying what is there.
pub fn unix_listen(path: &CStr, socktype: libc::c_int) -> Result<OwnedFd> {
    check_unix_type(socktype)?;
    let addr = unix_path_addr(path)?;
    if let Some(inherited) = activation::take_bound(socktype, |bound| {
        bound.unix_path().as_deref() == Some(path.to_bytes())
    }) {
        return Ok(inherited);
    }
    let fd = socket::new_socket(libc::AF_UNIX, socktype, 0)?;
    if let Err(error) = socket::bind(fd.as_raw_fd(), &addr) {
        let is_file = !path.to_bytes().starts_with(b"@");
        if error.errno() != Errno::EADDRINUSE || !is_file {
            return Err(error);
        }
        remove_stale_socket(path, &addr, socktype, error)?;
        socket::bind(fd.as_raw_fd(), &addr)?;
    }
    if socktype == libc::SOCK_STREAM {
        socket::listen(fd.as_raw_fd(), libc::SOMAXCONN)?;
    }
    Ok(fd)
}

/// lstat(2): what is at `path` itself (a link is not followed).
fn lstat(path: &CStr) -> std::result::Result<libc::stat, Errno> {
    // SAFETY: stat is plain data; lstat fills it; path is NUL-terminated.
    unsafe {
        let mut st: libc::stat = std::mem::zeroed();
        if libc::lstat(path.as_ptr(), &mut st) < 0 {
            return Err(Errno::last());
        }
        Ok(st)
    }
}

fn file_kind(mode: libc::mode_t) -> &'static str {
    match mode & libc::S_IFMT {
        libc::S_IFREG => "a regular file",
        libc::S_IFDIR => "a directory",
        libc::S_IFIFO => "a FIFO (named pipe)",
        libc::S_IFLNK => "a symbolic link",
        libc::S_IFCHR => "a character device",
        libc::S_IFBLK => "a block device",
        libc::S_IFSOCK => "a socket",
        _ => "a file of an unknown kind",
    }
}

/// Removes the socket file at `path` when no server answers there any more; anything
/// else is `in_use`, the failed bind, with what is there in words.
fn remove_stale_socket(
    path: &CStr,
    addr: &SockAddr,
    socktype: libc::c_int,
    in_use: Error,
) -> Result<()> {
    let refused =
        |why: String| Error::new(Errno::EADDRINUSE, format!("listen on {addr}")).hint(why);
    let found = match lstat(path) {
        Ok(st) => st,
        Err(Errno::ENOENT) => return Ok(()), // gone meanwhile: bind again
        Err(_) => return Err(in_use),
    };
    if found.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        return Err(refused(format!(
            "{} is there, not a socket: only the socket file of a server that has stopped is \
             replaced",
            file_kind(found.st_mode)
        )));
    }
    if is_live(addr, socktype)? {
        return Err(refused(
            "a server is running there: stop it or choose another path".into(),
        ));
    }
    // Unlink only the socket just probed, not something put there since.
    match lstat(path) {
        Ok(now) if now.st_dev == found.st_dev && now.st_ino == found.st_ino => {
            // SAFETY: path is NUL-terminated.
            unsafe { libc::unlink(path.as_ptr()) };
            Ok(())
        }
        Err(Errno::ENOENT) => Ok(()),
        _ => Err(in_use),
    }
}

/// Whether a server still answers at a Unix address. The probe does not block: a live
/// server whose backlog is full answers EAGAIN, which means alive.
fn is_live(addr: &SockAddr, socktype: libc::c_int) -> Result<bool> {
    let probe = socket::new_socket(libc::AF_UNIX, socktype | libc::SOCK_NONBLOCK, 0)?;
    Ok(match socket::connect(probe.as_raw_fd(), addr) {
        Ok(()) => true,
        Err(e) => !matches!(e.errno(), Errno::ECONNREFUSED | Errno::ENOENT),
    })
}

/// A Unix-domain client socket; a datagram client is auto-bound to an abstract address
/// so that the server can reply to it.
pub fn unix_connect(path: &CStr, socktype: libc::c_int) -> Result<OwnedFd> {
    check_unix_type(socktype)?;
    let addr = unix_path_addr(path)?;
    let fd = socket::new_socket(libc::AF_UNIX, socktype, 0)?;
    if socktype == libc::SOCK_DGRAM {
        socket::bind(fd.as_raw_fd(), &SockAddr::unix(b"")?)?; // autobind
    }
    socket::connect(fd.as_raw_fd(), &addr).map_err(|e| match e.errno() {
        Errno::ENOENT | Errno::ECONNREFUSED => e.hint("is the server running?"),
        _ => e,
    })?;
    Ok(fd)
}
