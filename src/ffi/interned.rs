//! The process-lifetime addresses handed out by creerSock/creerSockAddr, one per distinct
//! IPv4 address and port: repeated calls return the same pointer instead of leaking a new
//! addrinfo each time as the course's helper does.
//!
//! The table has no lock: fork() copies memory but not the other threads, so a lock one
//! of them held at the fork would stay held in the child for ever (course programs fork
//! servers from threaded code). Each bucket is a list that only grows, at its head, by a
//! compare-and-swap: a child sees every insertion whole or not at all.

use std::cell::UnsafeCell;
use std::mem::size_of;
use std::sync::atomic::{AtomicPtr, Ordering};

use libc::sockaddr_in;
use nix::errno::Errno;

use crate::addr::SockAddr;
use crate::error::{Error, Result};

const BUCKETS: usize = 256;

struct Entry {
    key: (u32, u16),
    /// Handed to C, which may write to it (it is not const in the course's prototypes).
    addr: UnsafeCell<sockaddr_in>,
    next: *mut Entry,
}

static TABLE: [AtomicPtr<Entry>; BUCKETS] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; BUCKETS];

fn bucket(key: (u32, u16)) -> &'static AtomicPtr<Entry> {
    let mixed = (u64::from(key.0) << 16 | u64::from(key.1)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    &TABLE[(mixed >> 56) as usize % BUCKETS]
}

/// The entry for `key` in the list starting at `head`.
fn find(mut node: *mut Entry, key: (u32, u16)) -> Option<*mut sockaddr_in> {
    // SAFETY: entries are published whole (Release) and never freed nor unlinked.
    while let Some(entry) = unsafe { node.as_ref() } {
        if entry.key == key {
            return Some(entry.addr.get());
        }
        node = entry.next;
    }
    None
}

/// The address's process-lifetime copy, made on first use.
pub(crate) fn interned(addr: &SockAddr) -> Result<*mut sockaddr_in> {
    let sin = addr.to_sockaddr_in().ok_or_else(|| {
        Error::with_message(
            Errno::EAFNOSUPPORT,
            format!("{addr} is not an IPv4 address"),
        )
    })?;
    let key = (sin.sin_addr.s_addr, sin.sin_port);
    let list = bucket(key);
    let mut fresh: Option<Box<Entry>> = None;
    let ptr = loop {
        let head = list.load(Ordering::Acquire);
        if let Some(found) = find(head, key) {
            break found;
        }
        let mut entry = fresh.take().unwrap_or_else(|| {
            Box::new(Entry {
                key,
                addr: UnsafeCell::new(sin),
                next: std::ptr::null_mut(),
            })
        });
        entry.next = head;
        let raw = Box::into_raw(entry);
        match list.compare_exchange(head, raw, Ordering::AcqRel, Ordering::Acquire) {
            // SAFETY: raw was just published and lives for the rest of the process.
            Ok(_) => break unsafe { (*raw).addr.get() },
            // Another thread added to this list meanwhile: look again.
            // SAFETY: raw was not published; it is ours again.
            Err(_) => fresh = Some(unsafe { Box::from_raw(raw) }),
        }
    };
    // SAFETY: ptr lives for the whole process. A caller may have written to it; give
    // back the true address (written only when it differs, so a reader of an unmodified
    // entry never races with a write).
    unsafe {
        let current = std::slice::from_raw_parts(ptr as *const u8, size_of::<sockaddr_in>());
        let true_bytes = std::slice::from_raw_parts(
            &sin as *const sockaddr_in as *const u8,
            size_of::<sockaddr_in>(),
        );
        if current != true_bytes {
            *ptr = sin;
        }
    }
    Ok(ptr)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(text: &str) -> SockAddr {
        SockAddr::from(text.parse::<std::net::SocketAddr>().unwrap())
    }

    #[test]
    fn one_pointer_per_address_from_every_thread() {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(|| {
                    (0..2000u16)
                        .map(|port| interned(&v4(&format!("127.0.0.3:{port}"))).unwrap() as usize)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let results: Vec<Vec<usize>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert!(results.iter().all(|r| *r == results[0]));
        let mut distinct = results[0].clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 2000);
        let ptr = interned(&v4("127.0.0.3:7")).unwrap();
        assert_eq!(u16::from_be(unsafe { (*ptr).sin_port }), 7);
        assert_eq!(
            interned(&v4("[::1]:7")).unwrap_err().errno(),
            Errno::EAFNOSUPPORT
        );
    }
}
