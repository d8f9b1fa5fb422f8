"""Loads libprise and declares every function of include/prise.h for ctypes.

The library is found, in order: the PRISE_LIBRARY environment variable (a path), a copy
inside this package directory, the repository's target/release/, then
ctypes.util.find_library("prise") (a `make install`).
"""

import ctypes
import ctypes.util
import os
from ctypes import (POINTER, c_char, c_char_p, c_int, c_size_t, c_ssize_t, c_uint32,
                    c_void_p)

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


class hostent(ctypes.Structure):
    _fields_ = [
        ("h_name", c_char_p),
        ("h_aliases", POINTER(c_char_p)),
        ("h_addrtype", c_int),
        ("h_length", c_int),
        ("h_addr_list", POINTER(POINTER(c_char))),
    ]


HANDLER = ctypes.CFUNCTYPE(c_int, c_int, c_void_p)


def _candidates():
    env = os.environ.get("PRISE_LIBRARY")
    if env:
        yield env
    for name in ("libprise.so", "libprise.so.0"):
        yield os.path.join(_HERE, name)
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
            return ctypes.CDLL(path, use_errno=True)
        except OSError as error:
            tried.append("%s (%s)" % (path, error))
    raise ImportError(
        "prise: the C library libprise.so was not found. Looked at: %s, and "
        "ctypes.util.find_library('prise'). Build it with `make` at the repository's "
        "root (or `make install`), or set PRISE_LIBRARY to its path."
        % ", ".join(tried or ["PRISE_LIBRARY (unset)"]))


lib = _load()

# name: (restype, argtypes) for every function of prise.h, in the header's order.
SIGNATURES = {
    "prise_last_error": (c_char_p, []),
    "prise_last_gai_error": (c_int, []),
    "prise_version": (c_char_p, []),
    "prise_socket": (c_int, [c_int, c_int, c_int]),
    "prise_bind": (c_int, [c_int, c_void_p, socklen_t]),
    "prise_listen": (c_int, [c_int, c_int]),
    "prise_accept": (c_int, [c_int, c_void_p, POINTER(socklen_t)]),
    "prise_connect": (c_int, [c_int, c_void_p, socklen_t]),
    "prise_read": (c_ssize_t, [c_int, c_void_p, c_size_t]),
    "prise_write": (c_ssize_t, [c_int, c_void_p, c_size_t]),
    "prise_send": (c_ssize_t, [c_int, c_void_p, c_size_t, c_int]),
    "prise_recv": (c_ssize_t, [c_int, c_void_p, c_size_t, c_int]),
    "prise_sendto": (c_ssize_t, [c_int, c_void_p, c_size_t, c_int, c_void_p, socklen_t]),
    "prise_recvfrom": (c_ssize_t, [c_int, c_void_p, c_size_t, c_int, c_void_p, POINTER(socklen_t)]),
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
    "prise_tcp_listen": (c_int, [c_char_p, c_char_p, c_int]),
    "prise_udp_bind": (c_int, [c_char_p, c_char_p]),
    "prise_udp_connect": (c_int, [c_char_p, c_char_p]),
    "prise_unix_listen": (c_int, [c_char_p, c_int]),
    "prise_unix_connect": (c_int, [c_char_p, c_int]),
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
    "getAddrInfo": (POINTER(addrinfo), [c_char_p, c_char_p, c_int]),
    "getNameInfo": (c_void_p, [c_void_p]),
    "creerSock": (c_void_p, [c_char_p, c_char_p, c_int, POINTER(c_int)]),
    "bindedSocket": (c_int, [c_char_p, c_char_p, c_int, c_void_p]),
    "creerSockAddr": (c_void_p, [c_char_p, c_char_p, c_int]),
    "writes": (c_int, [c_int, c_void_p, c_int]),
    "reads": (c_int, [c_int, c_void_p, c_int]),
}

for _name, (_restype, _argtypes) in SIGNATURES.items():
    _function = getattr(lib, _name)
    _function.restype = _restype
    _function.argtypes = _argtypes

# The data path (send, sendall, recv, recv_into) calls these without argtypes: ctypes'
# per-argument conversion costs more than the system call's own user-space work. Their
# callers pass exactly (int fd, pointer, c_size_t length, int flags).
fast_send = lib["prise_send"]
fast_recv = lib["prise_recv"]
fast_write_all = lib["prise_write_all"]
for _function in (fast_send, fast_recv, fast_write_all):
    _function.restype = c_ssize_t

# free() for getNameInfo's malloc'ed text.
libc = ctypes.CDLL(None, use_errno=True)
libc.free.argtypes = [c_void_p]
libc.free.restype = None
