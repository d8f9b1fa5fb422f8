//! Whole-buffer I/O: read until n bytes or end of file, write until everything is out,
//! retrying EINTR and partial transfers, never dying of SIGPIPE.

use std::os::fd::RawFd;

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::socket::{self, write_once, Writer};

/// Writes one line for a person on stderr (a course function's failure, a PRISE_TRACE
/// line), in one write so that the lines of several threads do not mix. When stderr
/// cannot take it (a full disk, a pipe nobody reads, a closed descriptor) the line is
/// lost and nothing else: no SIGPIPE, no panic, errno as it was.
pub fn print_stderr(line: &str) {
    let saved = Errno::last();
    if stderr_is_for_people() {
        let _ = write_all(libc::STDERR_FILENO, line.as_bytes());
    }
    saved.set();
}

/// What descriptor 2 was when the library was loaded: 0 closed, 1 a socket, 2 other.
static STDERR_AT_LOAD: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(2);

/// Runs when the library is loaded, before main.
extern "C" fn remember_stderr() {
    let kind = match socket::is_socket(libc::STDERR_FILENO) {
        None => 0,
        Some(true) => 1,
        Some(false) => 2,
    };
    STDERR_AT_LOAD.store(kind, std::sync::atomic::Ordering::Relaxed);
}

#[used]
#[link_section = ".init_array"]
static REMEMBER_STDERR: extern "C" fn() = remember_stderr;

/// Whether a line for a person may go to descriptor 2. A program started with stderr
/// closed (`2>&-`) gets its first socket as descriptor 2: a line written there would
/// reach its peer as data. So a socket at 2 takes lines only when stderr was a socket
/// from the start (a service manager's journal stream).
fn stderr_is_for_people() -> bool {
    match socket::is_socket(libc::STDERR_FILENO) {
        None => false,
        Some(false) => true,
        Some(true) => STDERR_AT_LOAD.load(std::sync::atomic::Ordering::Relaxed) == 1,
    }
}

/// Writes all of `buf`, looping over partial writes and EINTR. Returns `buf.len()`.
/// On failure the sentence says how much had been written.
pub fn write_all(fd: RawFd, buf: &[u8]) -> Result<usize> {
    let mut writer = Writer::Socket;
    let mut done = 0;
    while done < buf.len() {
        match write_once(fd, &buf[done..], &mut writer) {
            Ok(n) => done += n,
            Err(e) if e.errno() == Errno::EINTR => continue,
            Err(e) => return Err(partial(e, done, buf.len(), "written")),
        }
    }
    Ok(done)
}

/// Reads until `buf` is full or end of file, looping over partial reads and EINTR.
/// Returns the count read: less than `buf.len()` only at end of file.
pub fn read_full(fd: RawFd, buf: &mut [u8]) -> Result<usize> {
    let total = buf.len();
    let mut done = 0;
    while done < total {
        match socket::read(fd, &mut buf[done..]) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.errno() == Errno::EINTR => continue,
            Err(e) => return Err(partial(e, done, total, "read")),
        }
    }
    Ok(done)
}

/// Says how far a whole-buffer transfer got before it failed.
fn partial(error: Error, done: usize, total: usize, verb: &str) -> Error {
    if done == 0 {
        return error;
    }
    let message = format!("{} (after {done} of {total} bytes {verb})", error.message());
    Error::with_message(error.errno(), message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    fn socketpair() -> (RawFd, RawFd) {
        let mut fds = [0; 2];
        assert_eq!(
            unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM, 0, fds.as_mut_ptr()) },
            0
        );
        (fds[0], fds[1])
    }

    #[test]
    fn whole_buffers_cross_a_socketpair() {
        let (a, b) = socketpair();
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let sent = data.clone();
        let writer = std::thread::spawn(move || {
            let n = write_all(a, &sent).unwrap();
            unsafe { libc::close(a) };
            n
        });
        let mut got = vec![0u8; data.len() + 10];
        let n = read_full(b, &mut got).unwrap();
        assert_eq!(writer.join().unwrap(), data.len());
        assert_eq!(n, data.len(), "stops at end of file");
        assert_eq!(&got[..n], &data[..]);
        unsafe { libc::close(b) };
    }

    #[test]
    fn closed_peer_is_epipe_not_sigpipe() {
        let (a, b) = socketpair();
        unsafe { libc::close(b) };
        let err = write_all(a, b"hello").unwrap_err();
        assert_eq!(err.errno(), Errno::EPIPE);
        unsafe { libc::close(a) };

        // A pipe: the fallback path must hold SIGPIPE back too.
        let (r, w) = {
            let mut fds = [0; 2];
            assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
            unsafe {
                use std::os::fd::{FromRawFd, OwnedFd};
                (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1]))
            }
        };
        drop(r);
        let err = write_all(w.as_raw_fd(), b"hello").unwrap_err();
        assert_eq!(err.errno(), Errno::EPIPE);
    }

    #[test]
    fn files_are_written_through_the_fallback() {
        let path = std::env::temp_dir().join(format!("prise-io-{}", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        assert_eq!(write_all(file.as_raw_fd(), b"abc").unwrap(), 3);
        drop(file);
        assert_eq!(std::fs::read(&path).unwrap(), b"abc");
        std::fs::remove_file(path).unwrap();
    }
}
