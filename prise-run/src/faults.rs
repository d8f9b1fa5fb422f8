//! The fault decisions: the n-th decision of a process is a fixed function of the seed
//! and n, so a run with the same seed, the same program and the same input gets the
//! same faults. A forked child goes on with a sequence of its own, derived from the
//! parent's position. (Threads draw from one sequence: their order decides who gets
//! which fault.)

use std::sync::atomic::{AtomicU64, Ordering};

use crate::config;

/// How many decisions this process has drawn.
static DRAWN: AtomicU64 = AtomicU64::new(0);
/// Mixed into every decision; a forked child changes it.
static STREAM: AtomicU64 = AtomicU64::new(0);

/// splitmix64's finaliser: a good 64-bit mix of a counter.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn draw() -> u64 {
    let n = DRAWN.fetch_add(1, Ordering::Relaxed);
    let stream = STREAM.load(Ordering::Relaxed);
    mix(config()
        .seed
        .wrapping_add(stream)
        .wrapping_add(n.wrapping_mul(0x9e37_79b9_7f4a_7c15)))
}

/// True with probability `p` (no draw when `p` is 0, so faults that are off do not
/// shift the others).
pub fn happens(p: f64) -> bool {
    if p <= 0.0 {
        return false;
    }
    // The top 53 bits as a number in [0, 1).
    ((draw() >> 11) as f64 / (1u64 << 53) as f64) < p
}

/// A length from 1 to `len - 1` (`len` is at least 2): how much a partial transfer
/// moves.
pub fn part_of(len: usize) -> usize {
    1 + (draw() % (len as u64 - 1)) as usize
}

/// pthread_atfork, in the child: a sequence of its own.
pub fn after_fork_in_child() {
    let position = DRAWN.swap(0, Ordering::Relaxed);
    let stream = STREAM.load(Ordering::Relaxed);
    STREAM.store(
        mix(stream ^ mix(position ^ 0x0063_6869_6c64)),
        Ordering::Relaxed,
    );
}
