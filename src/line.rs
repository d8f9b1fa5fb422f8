//! Lines and timeouts: read_line (reentrant, never reads past the newline, never loses
//! a partial line) and the socket timeouts.

use std::os::fd::{OwnedFd, RawFd};
use std::time::{Duration, Instant};

use nix::errno::Errno;

use crate::error::{Error, Result};
use crate::socket;

/// Reads one line (through '\n', or until `buf` has one byte left, or end of file) and
/// NUL-terminates it; `buf` holds at least 2 bytes. Nothing after the newline is
/// consumed. On a stream socket nothing is consumed until the line is whole: a timeout
/// or O_NONBLOCK leaves a partial line queued (EAGAIN) for the next call. On a datagram
/// socket one datagram is one line. Elsewhere (pipes, files) bytes are read one at a
/// time, and when a non-blocking descriptor runs dry mid-line the part read is returned.
pub fn read_line(fd: RawFd, buf: &mut [u8]) -> Result<usize> {
    if buf.len() < 2 {
        return Err(Error::with_message(
            Errno::EINVAL,
            format!(
                "read_line needs a buffer of at least 2 bytes (a byte and the NUL), not {}",
                buf.len()
            ),
        ));
    }
    let room = buf.len() - 1;
    let n = match line_from_socket(fd, &mut buf[..room]) {
        Err(e) if e.errno() == Errno::ENOTSOCK => line_byte_by_byte(fd, &mut buf[..room])?,
        other => other?,
    };
    buf[n] = 0;
    Ok(n)
}

/// recv(2) for read_line, retrying EINTR; `flags` MSG_PEEK looks without taking.
fn recv_line_bytes(fd: RawFd, buf: &mut [u8], flags: libc::c_int) -> Result<usize> {
    loop {
        match socket::recv(fd, buf, flags) {
            Err(e) if e.errno() == Errno::EINTR => continue,
            Err(e) => return Err(socket::os_error_of(e.errno(), "read_line", fd, None)),
            done => return done,
        }
    }
}

/// See [`read_line`]: peeks, and takes the bytes only once the line is whole (or fills
/// `buf`, or the stream ends).
fn line_from_socket(fd: RawFd, buf: &mut [u8]) -> Result<usize> {
    let mut done = 0;
    let mut datagram = None;
    let mut time_limit = None;
    let mut arrivals: Option<Arrivals> = None;
    let mut peer_done = false;
    loop {
        let rest = &mut buf[done..];
        let peeked = match recv_line_bytes(fd, rest, libc::MSG_PEEK) {
            Ok(peeked) => peeked,
            // Part of a line was taken (a socket that waits for ever) and then the peer
            // failed: what was taken is returned, without its '\n'; the next call gets
            // the failure. Nothing received is lost.
            Err(_) if done > 0 => return Ok(done),
            Err(error) => return Err(error),
        };
        let newline = rest[..peeked].iter().position(|b| *b == b'\n');
        // The newline is the last byte queued: a stream and a datagram read the same.
        let ends_there = peeked < rest.len() && newline.is_some_and(|i| i + 1 == peeked);
        if ends_there {
            return Ok(done + recv_line_bytes(fd, &mut rest[..peeked], 0)?);
        }
        if *datagram.get_or_insert(is_datagram(fd)?) {
            // One datagram, one line: cut to the buffer, an empty one is 0.
            return recv_line_bytes(fd, rest, 0);
        }
        let wanted = match newline {
            Some(i) => i + 1,
            // A full buffer, or the end of the stream (no more is coming).
            None if peeked == rest.len() || peeked == 0 || peer_done => peeked,
            None => {
                // Part of a line. A socket that waits for ever may take it now; one that
                // can time out keeps it queued and waits for the rest.
                let limit = match time_limit {
                    Some(limit) => limit,
                    None => *time_limit.insert(read_time_limit(fd)?),
                };
                let Some(limit) = limit else {
                    done += recv_line_bytes(fd, &mut rest[..peeked], 0)?;
                    continue;
                };
                let waiting = match &mut arrivals {
                    Some(waiting) => waiting,
                    None => arrivals.insert(Arrivals::watch(fd, limit)?),
                };
                match waiting.next()? {
                    Arrival::Data => continue,
                    // Whatever came before the end is queued now: look once more.
                    Arrival::Closed => {
                        peer_done = true;
                        continue;
                    }
                    Arrival::TimedOut => {
                        return Err(Error::new(
                            Errno::EAGAIN,
                            format!("read_line on descriptor {fd}"),
                        )
                        .hint(
                            "no whole line before the timeout, or the socket is non-blocking: \
                             the part received stays queued for the next call",
                        ))
                    }
                }
            }
        };
        return match recv_line_bytes(fd, &mut rest[..wanted], 0) {
            Ok(taken) => Ok(done + taken),
            Err(_) if done > 0 => Ok(done),
            Err(error) => Err(error),
        };
    }
}

/// See [`read_line`]: for descriptors that cannot be peeked.
fn line_byte_by_byte(fd: RawFd, buf: &mut [u8]) -> Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match socket::read(fd, &mut buf[done..done + 1]) {
            Ok(0) => break,
            Ok(_) => {
                done += 1;
                if buf[done - 1] == b'\n' {
                    break;
                }
            }
            Err(e) if e.errno() == Errno::EINTR => continue,
            // What was read stays the caller's: the failure comes again on the next call.
            Err(_) if done > 0 => break,
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

fn is_datagram(fd: RawFd) -> Result<bool> {
    Ok(socket::get_int_option(fd, libc::SOL_SOCKET, libc::SO_TYPE)? != libc::SOCK_STREAM)
}

/// How long a read on `fd` may wait: None for ever, zero when it is non-blocking,
/// otherwise its receive timeout.
fn read_time_limit(fd: RawFd) -> Result<Option<Duration>> {
    if socket::status_flags(fd)? & libc::O_NONBLOCK != 0 {
        return Ok(Some(Duration::ZERO));
    }
    let timeout: libc::timeval = socket::get_option(fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO)?;
    let limit = Duration::new(
        u64::try_from(timeout.tv_sec).unwrap_or(0),
        u32::try_from(timeout.tv_usec).unwrap_or(0) * 1000,
    );
    Ok((!limit.is_zero()).then_some(limit))
}

/// Waits for more data on a socket that already has some queued. poll would report the
/// queued bytes at once, again and again; epoll in edge-triggered mode wakes once per
/// arrival (and once at the start, for what is already there).
struct Arrivals {
    epoll: OwnedFd,
    deadline: Instant,
}

enum Arrival {
    Data,
    Closed,
    TimedOut,
}

impl Arrivals {
    fn watch(fd: RawFd, limit: Duration) -> Result<Arrivals> {
        let events = (libc::EPOLLIN | libc::EPOLLRDHUP | libc::EPOLLET) as u32;
        Ok(Arrivals {
            epoll: socket::epoll_watching(fd, events)?,
            deadline: Instant::now() + limit,
        })
    }

    fn next(&mut self) -> Result<Arrival> {
        let gone = (libc::EPOLLRDHUP | libc::EPOLLHUP | libc::EPOLLERR) as u32;
        loop {
            let millis = socket::millis_until(self.deadline);
            match socket::epoll_wait_one(&self.epoll, millis) {
                Ok(Some(events)) if events & gone != 0 => return Ok(Arrival::Closed),
                Ok(Some(_)) => return Ok(Arrival::Data),
                Ok(None) if Instant::now() >= self.deadline => return Ok(Arrival::TimedOut),
                Ok(None) => continue,
                Err(e) if e.errno() == Errno::EINTR => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// Receive and send timeouts; 0 means none. An expired wait is EAGAIN.
pub fn set_timeout(fd: RawFd, millis: libc::c_int) -> Result<()> {
    if millis < 0 {
        return Err(Error::with_message(
            Errno::EINVAL,
            format!("timeout {millis} ms is negative"),
        ));
    }
    let tv = libc::timeval {
        tv_sec: libc::time_t::from(millis / 1000),
        tv_usec: libc::suseconds_t::from((millis % 1000) * 1000),
    };
    // SAFETY: timeval is plain data; its bytes are what setsockopt expects.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            &tv as *const libc::timeval as *const u8,
            std::mem::size_of::<libc::timeval>(),
        )
    };
    socket::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVTIMEO, bytes)?;
    socket::setsockopt(fd, libc::SOL_SOCKET, libc::SO_SNDTIMEO, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socket::socketpair;
    use std::os::fd::AsRawFd;

    #[test]
    fn partial_line_stays_queued_under_a_timeout() {
        let (a, b) = socketpair(libc::SOCK_STREAM);
        set_timeout(b.as_raw_fd(), 50).unwrap();
        let mut line = [0u8; 16];
        socket::write(a.as_raw_fd(), b"par").unwrap();
        let err = read_line(b.as_raw_fd(), &mut line).unwrap_err();
        assert_eq!(err.errno(), Errno::EAGAIN);
        assert!(err.message().contains("stays queued"), "{err}");
        socket::write(a.as_raw_fd(), b"tial\n").unwrap();
        assert_eq!(read_line(b.as_raw_fd(), &mut line).unwrap(), 8);
        assert_eq!(&line[..9], b"partial\n\0");
        assert_eq!(
            read_line(b.as_raw_fd(), &mut line[..1])
                .unwrap_err()
                .errno(),
            Errno::EINVAL
        );
    }

    #[test]
    fn the_rest_of_a_line_and_the_end_arriving_together() {
        let (a, b) = socketpair(libc::SOCK_STREAM);
        set_timeout(b.as_raw_fd(), 5000).unwrap();
        socket::write(a.as_raw_fd(), b"abc").unwrap();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            socket::write(a.as_raw_fd(), b"def\nrest").unwrap();
            socket::shutdown(a.as_raw_fd(), libc::SHUT_WR).unwrap();
            a
        });
        let mut line = [0u8; 16];
        assert_eq!(read_line(b.as_raw_fd(), &mut line).unwrap(), 7);
        assert_eq!(&line[..8], b"abcdef\n\0");
        drop(writer.join().unwrap());
        assert_eq!(read_line(b.as_raw_fd(), &mut line).unwrap(), 4);
        assert_eq!(read_line(b.as_raw_fd(), &mut line).unwrap(), 0);
    }

    #[test]
    fn one_datagram_is_one_line() {
        let (a, b) = socketpair(libc::SOCK_DGRAM);
        socket::send(a.as_raw_fd(), b"x\ny", 0).unwrap();
        socket::send(a.as_raw_fd(), b"", 0).unwrap();
        let mut line = [0u8; 16];
        assert_eq!(read_line(b.as_raw_fd(), &mut line).unwrap(), 3);
        assert_eq!(&line[..4], b"x\ny\0");
        assert_eq!(read_line(b.as_raw_fd(), &mut line).unwrap(), 0);
    }
}
