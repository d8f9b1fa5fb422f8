//! The C library's own functions, found with dlsym(RTLD_NEXT) past this library, once
//! each (all of them at load time; lazily for a call that comes before). Everything the
//! interposition library does on a descriptor goes through these, never through the
//! symbols it defines itself, so nothing it does can come back into it.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::atomic::{AtomicUsize, Ordering};

use libc::{
    addrinfo, epoll_event, fd_set, hostent, iovec, msghdr, nfds_t, pollfd, size_t, sockaddr,
    socklen_t, ssize_t, timeval,
};

/// The address of `name` in the objects loaded after this one.
#[cold]
fn resolve(name: &CStr, slot: &AtomicUsize) -> usize {
    // SAFETY: dlsym with a NUL-terminated name.
    let found = unsafe { libc::dlsym(libc::RTLD_NEXT, name.as_ptr()) } as usize;
    if found == 0 {
        crate::tracer::fatal(&format!(
            "the C library has no {}: this program cannot run under prise-run",
            name.to_string_lossy()
        ));
    }
    slot.store(found, Ordering::Relaxed);
    found
}

macro_rules! real_functions {
    ($( fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty; )*) => {
        /// The slots of the real functions, each resolved on first use.
        #[allow(non_upper_case_globals)]
        mod slots {
            use std::sync::atomic::AtomicUsize;
            $( pub static $name: AtomicUsize = AtomicUsize::new(0); )*
        }

        $(
            /// The C library's function of this name.
            ///
            /// # Safety
            /// As the C function: the arguments must be what it expects.
            #[inline(always)]
            #[allow(non_snake_case)]
            pub unsafe fn $name($($arg: $ty),*) -> $ret {
                let mut address = slots::$name.load(Ordering::Relaxed);
                if address == 0 {
                    let name = concat!(stringify!($name), "\0");
                    address = resolve(
                        CStr::from_bytes_with_nul_unchecked(name.as_bytes()),
                        &slots::$name,
                    );
                }
                let function: unsafe extern "C" fn($($ty),*) -> $ret =
                    std::mem::transmute(address);
                function($($arg),*)
            }
        )*

        /// Resolves every function now (from the library's constructor), so that no
        /// later call, from a signal handler for instance, has to call dlsym.
        pub fn resolve_all() {
            $(
                if slots::$name.load(Ordering::Relaxed) == 0 {
                    let name = concat!(stringify!($name), "\0");
                    // SAFETY: the literal ends with its NUL and has no other.
                    resolve(
                        unsafe { CStr::from_bytes_with_nul_unchecked(name.as_bytes()) },
                        &slots::$name,
                    );
                }
            )*
        }
    };
}

real_functions! {
    fn socket(domain: c_int, kind: c_int, protocol: c_int) -> c_int;
    fn socketpair(domain: c_int, kind: c_int, protocol: c_int, fds: *mut c_int) -> c_int;
    fn bind(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int;
    fn listen(fd: c_int, backlog: c_int) -> c_int;
    fn accept(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t) -> c_int;
    fn accept4(fd: c_int, addr: *mut sockaddr, len: *mut socklen_t, flags: c_int) -> c_int;
    fn connect(fd: c_int, addr: *const sockaddr, len: socklen_t) -> c_int;
    fn read(fd: c_int, buf: *mut c_void, count: size_t) -> ssize_t;
    fn write(fd: c_int, buf: *const c_void, count: size_t) -> ssize_t;
    fn readv(fd: c_int, iov: *const iovec, count: c_int) -> ssize_t;
    fn writev(fd: c_int, iov: *const iovec, count: c_int) -> ssize_t;
    fn recv(fd: c_int, buf: *mut c_void, len: size_t, flags: c_int) -> ssize_t;
    fn send(fd: c_int, buf: *const c_void, len: size_t, flags: c_int) -> ssize_t;
    fn recvfrom(
        fd: c_int,
        buf: *mut c_void,
        len: size_t,
        flags: c_int,
        addr: *mut sockaddr,
        addr_len: *mut socklen_t,
    ) -> ssize_t;
    fn sendto(
        fd: c_int,
        buf: *const c_void,
        len: size_t,
        flags: c_int,
        addr: *const sockaddr,
        addr_len: socklen_t,
    ) -> ssize_t;
    fn recvmsg(fd: c_int, msg: *mut msghdr, flags: c_int) -> ssize_t;
    fn sendmsg(fd: c_int, msg: *const msghdr, flags: c_int) -> ssize_t;
    fn __read_chk(fd: c_int, buf: *mut c_void, count: size_t, room: size_t) -> ssize_t;
    fn __recv_chk(fd: c_int, buf: *mut c_void, len: size_t, room: size_t, flags: c_int)
        -> ssize_t;
    fn __recvfrom_chk(
        fd: c_int,
        buf: *mut c_void,
        len: size_t,
        room: size_t,
        flags: c_int,
        addr: *mut sockaddr,
        addr_len: *mut socklen_t,
    ) -> ssize_t;
    fn shutdown(fd: c_int, how: c_int) -> c_int;
    fn close(fd: c_int) -> c_int;
    fn dup(fd: c_int) -> c_int;
    fn dup2(old: c_int, new: c_int) -> c_int;
    fn dup3(old: c_int, new: c_int, flags: c_int) -> c_int;
    fn setsockopt(
        fd: c_int,
        level: c_int,
        name: c_int,
        value: *const c_void,
        len: socklen_t,
    ) -> c_int;
    fn getsockopt(
        fd: c_int,
        level: c_int,
        name: c_int,
        value: *mut c_void,
        len: *mut socklen_t,
    ) -> c_int;
    fn getaddrinfo(
        host: *const c_char,
        service: *const c_char,
        hints: *const addrinfo,
        result: *mut *mut addrinfo,
    ) -> c_int;
    fn gethostbyname(name: *const c_char) -> *mut hostent;
    fn getnameinfo(
        addr: *const sockaddr,
        addr_len: socklen_t,
        host: *mut c_char,
        host_len: socklen_t,
        service: *mut c_char,
        service_len: socklen_t,
        flags: c_int,
    ) -> c_int;
    fn poll(fds: *mut pollfd, count: nfds_t, timeout: c_int) -> c_int;
    fn select(
        count: c_int,
        read: *mut fd_set,
        write: *mut fd_set,
        except: *mut fd_set,
        timeout: *mut timeval,
    ) -> c_int;
    fn epoll_ctl(epfd: c_int, op: c_int, fd: c_int, event: *mut epoll_event) -> c_int;
    fn epoll_wait(epfd: c_int, events: *mut epoll_event, max: c_int, timeout: c_int) -> c_int;
}
