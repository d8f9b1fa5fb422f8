//! Property-based fuzzing on stable Rust (cargo-fuzz needs a nightly toolchain this
//! machine does not have): random inputs to every string- and address-taking function
//! through the C ABI. Properties: nothing panics (a stopped panic would show as EIO),
//! every failure is -1/NULL/EAI_* with a sentence, text outputs fit their buffers.
//! Runs for PRISE_FUZZ_SECONDS (default 2; `make fuzz` gives 60). No input reaches DNS:
//! resolution is asked with AI_NUMERICHOST or for fixed numeric hosts.

use std::ffi::{c_char, CStr, CString};
use std::time::{Duration, Instant};

use prise::ffi::course::{creerSockAddr, getAddrInfo, writes};
use prise::ffi::high_level::{
    prise_addr_format, prise_listen_fd_named, prise_set_keepalive, prise_tcp_connect_opts,
    prise_unix_connect, PriseConnectOptions,
};
use prise::ffi::info::prise_last_error;
use prise::ffi::resolution::{prise_freeaddrinfo, prise_getaddrinfo, prise_getnameinfo};

/// xorshift64*: reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    /// Bytes biased toward what parsers care about: digits, signs, brackets, colons.
    fn text(&mut self, max: usize) -> Vec<u8> {
        const ALPHABET: &[u8] = b"0123456789:.[]%-+@/abcdefxyz \t\x01\xff";
        let len = match self.below(10) {
            0 => 0,
            1 => 4096,
            _ => self.below(max + 1),
        };
        (0..len)
            .map(|_| {
                if self.below(8) == 0 {
                    (self.next() as u8).max(1)
                } else {
                    ALPHABET[self.below(ALPHABET.len())]
                }
            })
            .collect()
    }
}

fn last_error() -> String {
    unsafe { CStr::from_ptr(prise_last_error()) }
        .to_string_lossy()
        .into_owned()
}

fn no_panic() {
    let errno = nix::errno::Errno::last();
    let message = last_error();
    assert!(
        !(errno == nix::errno::Errno::EIO && message.contains("panic")),
        "a panic was stopped: {message}"
    );
}

#[test]
fn fuzz_the_string_and_address_functions() {
    let seconds: u64 = std::env::var("PRISE_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let seed = std::env::var("PRISE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("fuzz seed {seed} (PRISE_FUZZ_SEED={seed} replays it), {seconds} s");
    std::env::set_var("PRISE_QUIET", "1");
    let mut rng = Rng(seed);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut cases = 0u64;
    while Instant::now() < deadline {
        for _ in 0..64 {
            cases += 1;
            let host = CString::new(
                rng.text(60)
                    .into_iter()
                    .filter(|b| *b != 0)
                    .collect::<Vec<_>>(),
            )
            .unwrap();
            let service = CString::new(
                rng.text(12)
                    .into_iter()
                    .filter(|b| *b != 0)
                    .collect::<Vec<_>>(),
            )
            .unwrap();

            // Resolution without DNS: AI_NUMERICHOST.
            let mut hints: libc::addrinfo = unsafe { std::mem::zeroed() };
            hints.ai_flags = libc::AI_NUMERICHOST | libc::AI_NUMERICSERV;
            hints.ai_family = [libc::AF_UNSPEC, libc::AF_INET, libc::AF_INET6][rng.below(3)];
            let mut res = std::ptr::null_mut();
            let code = prise_getaddrinfo(host.as_ptr(), service.as_ptr(), &hints, &mut res);
            if code == 0 {
                assert!(!res.is_null());
                // Every address found formats, and getnameinfo takes it back.
                let ai = unsafe { &*res };
                let mut text = [0 as c_char; 128];
                let n = prise_addr_format(ai.ai_addr, ai.ai_addrlen, text.as_mut_ptr(), text.len());
                assert!(n > 0 && (n as usize) < text.len());
                let mut h = [0 as c_char; 64];
                let mut s = [0 as c_char; 16];
                let rc = prise_getnameinfo(
                    ai.ai_addr,
                    ai.ai_addrlen,
                    h.as_mut_ptr(),
                    64,
                    s.as_mut_ptr(),
                    16,
                    libc::NI_NUMERICHOST | libc::NI_NUMERICSERV,
                );
                assert_eq!(rc, 0, "{}", last_error());
                prise_freeaddrinfo(res);
            } else {
                assert!(res.is_null());
                assert!(!last_error().is_empty());
                no_panic();
            }

            // The course functions, with numeric hosts and fuzzed ports.
            let fixed = [c"127.0.0.1".as_ptr(), c"0.0.0.0".as_ptr(), std::ptr::null()];
            let course_host = fixed[rng.below(fixed.len())];
            let list = getAddrInfo(course_host, service.as_ptr(), libc::SOCK_STREAM);
            if list.is_null() {
                assert!(!last_error().is_empty());
                no_panic();
            } else {
                unsafe { libc::freeaddrinfo(list) };
            }
            let addr = creerSockAddr(
                course_host as *mut c_char,
                service.as_ptr() as *mut c_char,
                libc::SOCK_DGRAM,
            );
            if addr.is_null() {
                no_panic();
            }

            // Random bytes as a sockaddr, random room to format it into.
            let raw: Vec<u8> = (0..rng.below(140)).map(|_| rng.next() as u8).collect();
            let mut text = vec![0 as c_char; rng.below(80)];
            let ptr = if text.is_empty() {
                std::ptr::null_mut()
            } else {
                text.as_mut_ptr()
            };
            let n = prise_addr_format(
                raw.as_ptr().cast(),
                raw.len() as libc::socklen_t,
                ptr,
                text.len(),
            );
            if n >= 0 {
                assert!((n as usize) < text.len());
                let written = unsafe { CStr::from_ptr(text.as_ptr()) };
                assert_eq!(written.to_bytes().len(), n as usize);
            } else {
                no_panic();
            }

            // Unix paths: nothing is there, so every connect fails; it must say why.
            let path = CString::new(
                rng.text(300)
                    .into_iter()
                    .filter(|b| *b != 0)
                    .collect::<Vec<_>>(),
            )
            .unwrap();
            let fd = prise_unix_connect(path.as_ptr(), libc::SOCK_STREAM);
            if fd >= 0 {
                unsafe { libc::close(fd) };
            } else {
                assert!(!last_error().is_empty());
                no_panic();
            }

            // Socket activation's names: none were passed to this process.
            assert_eq!(prise_listen_fd_named(host.as_ptr()), -1);
            assert!(!last_error().is_empty());
            no_panic();

            // Connect options of every kind, to loopback (a timeout of 100 ms at most, so
            // that a port whose listener never answers cannot hold the fuzzer).
            let wild = |rng: &mut Rng| match rng.below(4) {
                0 => 0,
                1 => rng.next() as i32,
                _ => (rng.next() % 100) as i32 - 10,
            };
            let options = PriseConnectOptions {
                timeout_ms: wild(&mut rng),
                attempt_delay_ms: wild(&mut rng),
            };
            let options = PriseConnectOptions {
                timeout_ms: match options.timeout_ms {
                    0 | 101.. => 100, // 0 would be the kernel's two minutes
                    other => other,
                },
                ..options
            };
            let fd = prise_tcp_connect_opts(c"127.0.0.1".as_ptr(), service.as_ptr(), &options);
            if fd >= 0 {
                unsafe { libc::close(fd) };
            } else {
                assert!(!last_error().is_empty());
                no_panic();
            }
            let ints: Vec<i32> = (0..3).map(|_| wild(&mut rng)).collect();
            let _ = prise_set_keepalive(-1, ints[0], ints[1], ints[2]);
            no_panic();

            // writes with a fuzzed length on a bad descriptor: an error, never a crash.
            let len = (rng.next() as i32) % 64;
            let mut buf = [0u8; 64];
            let _ = writes(-1, buf.as_mut_ptr().cast(), len);
            no_panic();
        }
    }
    println!("fuzz: {cases} cases, no panic, every failure explained");
}
