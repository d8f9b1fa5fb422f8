//! What each descriptor is, remembered: a call on a file, pipe or terminal costs one
//! load from this table before the real call. A descriptor is looked at (fstat, and
//! SO_TYPE for a socket) the first time it is seen; creating a socket records it,
//! closing or replacing a descriptor forgets it. Descriptors inherited from the parent
//! or made by paths this library does not see are looked at on first use.

use std::sync::atomic::{AtomicU8, Ordering};

use crate::real;

/// What a descriptor is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Not a socket (or not open): never traced.
    Other,
    /// A stream socket (TCP, Unix stream): partial transfers and resets are possible.
    Stream,
    /// Any other socket (UDP, Unix datagram, seqpacket, raw).
    Datagram,
    /// An epoll instance watching at least one socket: epoll_wait on it is traced.
    EpollOfSockets,
}

impl Kind {
    pub fn is_socket(self) -> bool {
        matches!(self, Kind::Stream | Kind::Datagram)
    }

    fn code(self) -> u8 {
        match self {
            Kind::Other => OTHER,
            Kind::Stream => STREAM,
            Kind::Datagram => DATAGRAM,
            Kind::EpollOfSockets => EPOLL_OF_SOCKETS,
        }
    }

    /// The kind of a socket of type `socktype` (SOCK_NONBLOCK and SOCK_CLOEXEC ignored).
    pub fn of_socktype(socktype: libc::c_int) -> Kind {
        if socktype & 0xf == libc::SOCK_STREAM {
            Kind::Stream
        } else {
            Kind::Datagram
        }
    }
}

const UNKNOWN: u8 = 0;
const OTHER: u8 = 1;
const STREAM: u8 = 2;
const DATAGRAM: u8 = 3;
const EPOLL_OF_SOCKETS: u8 = 4;

/// Descriptors below this are remembered; larger ones are looked at on every call.
const REMEMBERED: usize = 1 << 16;

static KINDS: [AtomicU8; REMEMBERED] = [const { AtomicU8::new(UNKNOWN) }; REMEMBERED];

fn slot(fd: libc::c_int) -> Option<&'static AtomicU8> {
    usize::try_from(fd).ok().and_then(|index| KINDS.get(index))
}

/// The kind of `fd` when it is a socket: the common answer (not one) in one load.
#[inline(always)]
pub fn socket(fd: libc::c_int) -> Option<Kind> {
    match slot(fd).map(|s| s.load(Ordering::Relaxed)) {
        Some(STREAM) => Some(Kind::Stream),
        Some(DATAGRAM) => Some(Kind::Datagram),
        Some(OTHER | EPOLL_OF_SOCKETS) => None,
        _ => Some(kind(fd)).filter(|k| k.is_socket()),
    }
}

/// What `fd` is. errno is left as it was.
#[inline(always)]
pub fn kind(fd: libc::c_int) -> Kind {
    match known(fd) {
        Some(kind) => kind,
        None if fd < 0 => Kind::Other,
        None => look_at(fd),
    }
}

/// fstat, and the socket type for a socket; remembered unless the descriptor is not open.
#[cold]
fn look_at(fd: libc::c_int) -> Kind {
    let saved = crate::errno::get();
    // SAFETY: stat is plain data, written by fstat.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: stat is a valid out-pointer.
    if unsafe { libc::fstat(fd, &mut stat) } < 0 {
        crate::errno::set(saved);
        return Kind::Other; // not open: the real call says so
    }
    let kind = if stat.st_mode & libc::S_IFMT != libc::S_IFSOCK {
        Kind::Other
    } else {
        let mut socktype: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: socktype and len are valid out-pointers of the right size.
        let ret = unsafe {
            real::getsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_TYPE,
                (&mut socktype as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        if ret < 0 {
            Kind::Datagram
        } else {
            Kind::of_socktype(socktype)
        }
    };
    remember(fd, kind);
    crate::errno::set(saved);
    kind
}

/// What the table says about `fd`, without looking (None: not known).
pub fn known(fd: libc::c_int) -> Option<Kind> {
    match slot(fd)?.load(Ordering::Relaxed) {
        OTHER => Some(Kind::Other),
        STREAM => Some(Kind::Stream),
        DATAGRAM => Some(Kind::Datagram),
        EPOLL_OF_SOCKETS => Some(Kind::EpollOfSockets),
        _ => None,
    }
}

/// `fd` is now a descriptor of this kind.
pub fn remember(fd: libc::c_int, kind: Kind) {
    if let Some(slot) = slot(fd) {
        slot.store(kind.code(), Ordering::Relaxed);
    }
}

/// `fd` was closed or replaced: look at it again when next used.
pub fn forget(fd: libc::c_int) {
    if let Some(slot) = slot(fd) {
        slot.store(UNKNOWN, Ordering::Relaxed);
    }
}
