"""Loads libprise and declares every function of include/prise.h for ctypes.

The library is found, in order: the PRISE_LIBRARY environment variable (a path), the
copy `pip install` puts inside this package directory, the repository's target/release/
(a source checkout after `make`), then ctypes.util.find_library("prise") (a `make install`).
"""

import ctypes
import ctypes.util
import glob
import os
import socket
import threading
from ctypes import (POINTER, c_char, c_char_p, c_int, c_size_t, c_ssize_t, c_uint32,
                    c_ulong, c_ushort, c_void_p)

socklen_t = c_uint32
pid_t = c_int
uid_t = c_uint32
gid_t = c_uint32

_HERE = os.path.dirname(os.path.abspath(__file__))


class addrinfo(ctypes.Structure):
    pass


addrinfo._fields_ = [
    ("ai_flags", c_int),
    ("ai_family", c_int),
    ("ai_socktype", c_int),
    ("ai_protocol", c_int),
    ("ai_addrlen", socklen_t),
    ("ai_addr", c_void_p),
    ("ai_canonname", c_char_p),
    ("ai_next", POINTER(addrinfo)),
]


class sockaddr_storage(ctypes.Structure):
    """glibc's struct sockaddr_storage (128 bytes, _SS_SIZE): room for any address, the
    size prise_addr_parse and the kernel's address calls are given."""
    _fields_ = [("ss_family", c_ushort),
                ("ss_padding", c_char * (128 - ctypes.sizeof(c_ushort) - ctypes.sizeof(c_ulong))),
                ("ss_align", c_ulong)]


SOCKADDR_MAX = ctypes.sizeof(sockaddr_storage)


class iovec(ctypes.Structure):
    _fields_ = [("iov_base", c_void_p), ("iov_len", c_size_t)]


class msghdr(ctypes.Structure):
    _fields_ = [
        ("msg_name", c_void_p),
        ("msg_namelen", socklen_t),
        ("msg_iov", POINTER(iovec)),
        ("msg_iovlen", c_size_t),
        ("msg_control", c_void_p),
        ("msg_controllen", c_size_t),
        ("msg_flags", c_int),
    ]


class hostent(ctypes.Structure):
    _fields_ = [
        ("h_name", c_char_p),
        ("h_aliases", POINTER(c_char_p)),
        ("h_addrtype", c_int),
        ("h_length", c_int),
        ("h_addr_list", POINTER(POINTER(c_char))),
    ]


HANDLER = ctypes.CFUNCTYPE(c_int, c_int, c_void_p)


class connect_options(ctypes.Structure):
    _fields_ = [("timeout_ms", c_int), ("attempt_delay_ms", c_int)]


# prise_serve_events' callbacks; a connection is an opaque pointer, data a byte pointer.
ON_DATA = ctypes.CFUNCTYPE(c_ssize_t, c_void_p, POINTER(c_char), c_size_t, c_void_p)
ON_CLOSE = ctypes.CFUNCTYPE(None, c_void_p, c_int, c_void_p)
ON_OPEN = ctypes.CFUNCTYPE(c_int, c_void_p, c_void_p)


class events_options(ctypes.Structure):
    _fields_ = [
        ("on_open", ON_OPEN),
        ("idle_timeout_ms", c_int),
        ("max_connections", c_int),
        ("input_limit", c_size_t),
        ("output_limit", c_size_t),
        ("keep_signals", c_int),
    ]


def _candidates():
    env = os.environ.get("PRISE_LIBRARY")
    if env:
        # Chosen by the user: that library or an error, never another one instead.
        yield env
        return
    # setuptools-rust names the copy it installs like an extension module
    # (libprise.abi3.so); a copy made by hand is libprise.so.
    yield from sorted(glob.glob(os.path.join(glob.escape(_HERE), "libprise*.so*")))
    yield os.path.join(_HERE, "..", "..", "target", "release", "libprise.so")
    found = ctypes.util.find_library("prise")
    if found:
        yield found


def _load():
    tried = []
    for path in _candidates():
        if os.path.sep in path and not os.path.exists(path):
            tried.append(path + " (missing)")
            continue
        try:
            # No use_errno: ctypes would save errno around every call; prise keeps the
            # errno of each failure itself (prise_last_errno), read only after one.
            return ctypes.CDLL(path)
        except OSError as error:
            tried.append("%s (%s)" % (path, error))
    raise ImportError(
        "prise: the C library libprise.so was not found. Looked at: %s, and "
        "ctypes.util.find_library('prise'). Install the package with `pip install ./python`, "
        "or build the library with `make` at the repository's root (or `make install`), "
        "or set PRISE_LIBRARY to its path." % ", ".join(tried or ["PRISE_LIBRARY (unset)"]))


lib = _load()

# name: (restype, argtypes) for every function of prise.h, in the header's order.
SIGNATURES = {
    "prise_last_error": (c_char_p, []),
    "prise_last_gai_error": (c_int, []),
    "prise_last_errno": (c_int, []),
    "prise_version": (c_char_p, []),
    "prise_socket": (c_int, [c_int, c_int, c_int]),
    "prise_bind": (c_int, [c_int, c_void_p, socklen_t]),
    "prise_listen": (c_int, [c_int, c_int]),
    "prise_accept": (c_int, [c_int, c_void_p, POINTER(socklen_t)]),
    "prise_accept4": (c_int, [c_int, c_void_p, POINTER(socklen_t), c_int]),
    "prise_connect": (c_int, [c_int, c_void_p, socklen_t]),
    "prise_read": (c_ssize_t, [c_int, c_void_p, c_size_t]),
    "prise_write": (c_ssize_t, [c_int, c_void_p, c_size_t]),
    "prise_send": (c_ssize_t, [c_int, c_void_p, c_size_t, c_int]),
    "prise_recv": (c_ssize_t, [c_int, c_void_p, c_size_t, c_int]),
    "prise_sendto": (c_ssize_t, [c_int, c_void_p, c_size_t, c_int, c_void_p, socklen_t]),
    "prise_recvfrom": (c_ssize_t, [c_int, c_void_p, c_size_t, c_int, c_void_p, POINTER(socklen_t)]),
    "prise_sendmsg": (c_ssize_t, [c_int, POINTER(msghdr), c_int]),
    "prise_recvmsg": (c_ssize_t, [c_int, POINTER(msghdr), c_int]),
    "prise_shutdown": (c_int, [c_int, c_int]),
    "prise_close": (c_int, [c_int]),
    "prise_getsockname": (c_int, [c_int, c_void_p, POINTER(socklen_t)]),
    "prise_getpeername": (c_int, [c_int, c_void_p, POINTER(socklen_t)]),
    "prise_setsockopt": (c_int, [c_int, c_int, c_int, c_void_p, socklen_t]),
    "prise_getsockopt": (c_int, [c_int, c_int, c_int, c_void_p, POINTER(socklen_t)]),
    "prise_read_full": (c_ssize_t, [c_int, c_void_p, c_size_t]),
    "prise_write_all": (c_ssize_t, [c_int, c_void_p, c_size_t]),
    "prise_getaddrinfo": (c_int, [c_char_p, c_char_p, POINTER(addrinfo), POINTER(POINTER(addrinfo))]),
    "prise_freeaddrinfo": (None, [POINTER(addrinfo)]),
    "prise_getnameinfo": (c_int, [c_void_p, socklen_t, c_char_p, socklen_t, c_char_p, socklen_t, c_int]),
    "prise_gethostbyname": (POINTER(hostent), [c_char_p]),
    "prise_tcp_connect": (c_int, [c_char_p, c_char_p]),
    "prise_tcp_connect_timeout": (c_int, [c_char_p, c_char_p, c_int]),
    "prise_tcp_connect_opts": (c_int, [c_char_p, c_char_p, POINTER(connect_options)]),
    "prise_tcp_listen": (c_int, [c_char_p, c_char_p, c_int]),
    "prise_udp_bind": (c_int, [c_char_p, c_char_p]),
    "prise_udp_connect": (c_int, [c_char_p, c_char_p]),
    "prise_unix_listen": (c_int, [c_char_p, c_int]),
    "prise_unix_connect": (c_int, [c_char_p, c_int]),
    "prise_listen_fds": (c_int, []),
    "prise_listen_fd_named": (c_int, [c_char_p]),
    "prise_set_nodelay": (c_int, [c_int, c_int]),
    "prise_set_keepalive": (c_int, [c_int, c_int, c_int, c_int]),
    "prise_set_reuseport": (c_int, [c_int, c_int]),
    "prise_set_v6only": (c_int, [c_int, c_int]),
    "prise_read_line": (c_ssize_t, [c_int, c_void_p, c_size_t]),
    "prise_set_timeout": (c_int, [c_int, c_int]),
    "prise_addr_format": (c_int, [c_void_p, socklen_t, c_char_p, c_size_t]),
    "prise_addr_parse": (c_int, [c_char_p, c_void_p, POINTER(socklen_t)]),
    "prise_local_address": (c_int, [c_int, c_char_p, c_size_t]),
    "prise_peer_address": (c_int, [c_int, c_char_p, c_size_t]),
    "prise_send_fd": (c_int, [c_int, c_int]),
    "prise_recv_fd": (c_int, [c_int]),
    "prise_peer_cred": (c_int, [c_int, POINTER(pid_t), POINTER(uid_t), POINTER(gid_t)]),
    "prise_serve_fork": (c_int, [c_int, HANDLER, c_void_p]),
    "prise_serve_threads": (c_int, [c_int, HANDLER, c_void_p]),
    "prise_serve_events": (c_int, [c_int, ON_DATA, ON_CLOSE, c_void_p, POINTER(events_options)]),
    "prise_conn_send": (c_int, [c_void_p, c_void_p, c_size_t]),
    "prise_conn_close": (c_int, [c_void_p]),
    "prise_conn_fd": (c_int, [c_void_p]),
    "prise_conn_set_data": (c_int, [c_void_p, c_void_p]),
    "prise_conn_data": (c_void_p, [c_void_p]),
    "getAddrInfo": (POINTER(addrinfo), [c_char_p, c_char_p, c_int]),
    "getNameInfo": (c_void_p, [c_void_p]),
    "creerSock": (c_void_p, [c_char_p, c_char_p, c_int, POINTER(c_int)]),
    "bindedSocket": (c_int, [c_char_p, c_char_p, c_int, c_void_p]),
    "creerSockAddr": (c_void_p, [c_char_p, c_char_p, c_int]),
    "writes": (c_int, [c_int, c_void_p, c_int]),
    "reads": (c_int, [c_int, c_void_p, c_int]),
}

for _name, (_restype, _argtypes) in SIGNATURES.items():
    try:
        _function = getattr(lib, _name)
    except AttributeError:
        raise ImportError("prise: %s has no %s: it is not prise's C library, or an older "
                          "one (PRISE_LIBRARY chooses which is loaded)"
                          % (lib._name, _name)) from None
    _function.restype = _restype
    _function.argtypes = _argtypes



# prise keeps one errno and sentence per thread, for its last failure: a signal's handler
# that makes a failing prise call between a failure and its reading replaces them. Such
# a handler runs on the main thread and reads its failure through these functions, which
# count the failures read there: a call that failed compares the count taken before it
# (failures_read[0]) to know whether what prise keeps is still its own.
failures_read = [0]
_main_thread = threading.main_thread
_get_ident = threading.get_ident


def on_main_thread():
    return _get_ident() == _main_thread().ident


def _count_read():
    if on_main_thread():
        failures_read[0] += 1


def last_error():
    """This thread's sentence for the last failure in the C library."""
    _count_read()
    return lib.prise_last_error().decode(errors="replace")


def last_errno():
    """This thread's errno of the last failure in the C library."""
    _count_read()
    return lib.prise_last_errno()


def error():
    """The exception for the failure the last C call reported: socket.gaierror for a
    name-resolution failure, otherwise OSError(errno, sentence)."""
    code = last_errno()
    message = last_error()
    gai = lib.prise_last_gai_error()
    if gai != 0:
        return socket.gaierror(gai, message)
    return OSError(code, message)


# free() for getNameInfo's malloc'ed text.
libc = ctypes.CDLL(None)
libc.free.argtypes = [c_void_p]
libc.free.restype = None
