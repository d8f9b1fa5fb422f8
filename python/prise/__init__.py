"""prise: BSD sockets through the prise C library, as Python's socket module offers them.

    import prise
    with prise.create_server(("127.0.0.1", 0)) as server:
        with prise.create_connection(server.getsockname(), timeout=5) as client:
            conn, peer = server.accept()
            client.sendall(b"hello")
            print(conn.recv(5))

prise.Socket has socket.socket's methods, attributes and semantics (timeouts, makefile,
sendmsg/recvmsg, ...), so code written for socket objects runs on it unchanged; every
system call goes through prise. Failures raise OSError(errno, sentence) with prise's
sentence (so ConnectionRefusedError, TimeoutError, ... as Python picks them), resolution
failures socket.gaierror, argument mistakes TypeError/ValueError/OverflowError before any
C call. prise's own helpers (tcp_connect, tcp_listen, unix_listen, ... where a Unix name
'@name' is abstract), the course's API and PRISE_TRACE stay.
"""

import ctypes
import errno as _errno
import sys as _sys
import socket as _socket
from time import monotonic as _monotonic

from . import _address, _lib
from ._address import check_host, check_port, family_of, from_sockaddr, parse_address, to_sockaddr
from ._lib import last_error, lib

_SIZE_MAX = ctypes.c_size_t(-1).value
from ._sockets import (_INT_MAX, _errno_since, _failures_read, _index, Socket, _c_int, _readable,
                       _resolve, _with_prise)

__all__ = [
    "Socket", "create_connection", "create_server", "socketpair", "fromfd",
    "has_dualstack_ipv6", "send_fds", "recv_fds", "getdefaulttimeout",
    "setdefaulttimeout", "has_ipv6", "gethostname", "getfqdn", "error", "timeout", "herror",
    "gaierror",
    "tcp_connect", "tcp_listen", "udp_bind", "udp_connect", "unix_listen",
    "unix_connect", "listen_fds", "listen_fd_named", "serve_events", "Connection",
    "getaddrinfo", "gethostbyname", "getnameinfo", "last_error", "parse_address",
    "format_address",
    "version", "bindedSocket", "creerSock", "getNameInfo", "reads", "writes", "LIBRARY",
    "AddressFamily", "SocketKind", "MsgFlag", "AddressInfo", "CMSG_LEN", "CMSG_SPACE",
]

# The constants a socket user needs, the same objects as socket's (AF_INET is
# socket.AddressFamily.AF_INET, ...), and the enums they belong to.
for _name in dir(_socket):
    if _name.isupper() and _name.replace("_", "").isalnum() and isinstance(getattr(_socket, _name), int):
        globals()[_name] = getattr(_socket, _name)
        __all__.append(_name)
AddressFamily, SocketKind = _socket.AddressFamily, _socket.SocketKind
MsgFlag, AddressInfo = _socket.MsgFlag, _socket.AddressInfo
CMSG_LEN, CMSG_SPACE = _socket.CMSG_LEN, _socket.CMSG_SPACE

# One default timeout and one set of exceptions for socket and prise sockets alike.
getdefaulttimeout, setdefaulttimeout = _socket.getdefaulttimeout, _socket.setdefaulttimeout
# socket.timeout is TimeoutError from Python 3.10 on, a class of its own before.
error, timeout, herror, gaierror = OSError, _socket.timeout, _socket.herror, _socket.gaierror
has_ipv6 = _socket.has_ipv6
# socket's own: they make no socket.
gethostname, getfqdn = _socket.gethostname, _socket.getfqdn
# These take a socket object and call its sendmsg/recvmsg: prise sockets as they are
# (Python 3.9 and later have them).
if hasattr(_socket, "send_fds"):
    send_fds, recv_fds = _socket.send_fds, _socket.recv_fds
else:
    __all__.remove("send_fds")
    __all__.remove("recv_fds")

LIBRARY = lib._name


def version():
    """The version of the loaded C library, "MAJOR.MINOR.PATCH"."""
    return lib.prise_version().decode()


_error = _lib.error


def _check(result):
    if result < 0:
        raise _error()
    return result


def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    """The 5-tuples of socket.getaddrinfo: (family, type, proto, canonname, sockaddr)."""
    host_b = check_host(host, allow_none=True)
    port_b = None if port is None else check_port(port)
    hints = _lib.addrinfo(ai_flags=_c_int(flags, "flags"), ai_family=_c_int(family, "family"),
                          ai_socktype=_c_int(type, "type"), ai_protocol=_c_int(proto, "proto"))
    result = ctypes.POINTER(_lib.addrinfo)()
    code = lib.prise_getaddrinfo(host_b, port_b, ctypes.byref(hints), ctypes.byref(result))
    if code != 0:
        if code == _socket.EAI_SYSTEM:
            raise OSError(_lib.last_errno(), last_error())
        raise _socket.gaierror(code, last_error())
    entries = []
    try:
        node = result
        while node:
            entry = node.contents
            raw = ctypes.string_at(entry.ai_addr, entry.ai_addrlen)
            entries.append((_socket.AddressFamily(entry.ai_family),
                            _socket.SocketKind(entry.ai_socktype), entry.ai_protocol,
                            (entry.ai_canonname or b"").decode(), from_sockaddr(raw)))
            node = entry.ai_next
    finally:
        lib.prise_freeaddrinfo(result)
    return entries


def format_address(address):
    """The text prise writes for an address as socket takes it (("127.0.0.1", 80):
    "127.0.0.1:80"; ("::1", 80): "[::1]:80"; "/path": "unix:/path"; b"\\0name":
    "unix:@name"), names resolved first: what parse_address reads back."""
    return _address.format_address(address, _resolve)


# socket's own module functions, making prise sockets (see _sockets._with_prise).
create_connection = _with_prise(_socket.create_connection)
create_server = _with_prise(_socket.create_server)
has_dualstack_ipv6 = _with_prise(_socket.has_dualstack_ipv6)
socketpair = _with_prise(_socket.socketpair)
fromfd = _with_prise(_socket.fromfd)


def _adopt(fd):
    """The Socket of a descriptor a prise helper created."""
    return Socket(fileno=fd)


def _milliseconds(seconds, what):
    """A positive number of seconds as whole milliseconds for a C int (at least 1):
    TypeError, ValueError or OverflowError as socket's timeouts, never a silent wrap."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise TypeError("%s must be a number of seconds, not %s" % (what, type(seconds).__name__))
    if not seconds > 0:  # also NaN
        raise ValueError("%s must be positive seconds, not %r" % (what, seconds))
    millis = max(1, int(min(seconds, 1e12) * 1000))
    if millis > _INT_MAX:
        raise OverflowError("%s %r s does not fit a C int of milliseconds" % (what, seconds))
    return millis


def tcp_connect(host, port, timeout=None):
    """A TCP connection to host:port, racing its addresses, IPv6 and IPv4 (Happy
    Eyeballs, as prise_tcp_connect). timeout: seconds for each attempt (None: the
    system's). A signal's handler runs while it waits (Ctrl-C raises
    KeyboardInterrupt); if the handler returns, the connection is tried again with
    the time left (PEP 475)."""
    host_b, port_b = check_host(host), check_port(port)
    deadline = None if timeout is None else _monotonic() + _milliseconds(timeout, "timeout") / 1000
    while True:
        mark = _failures_read[0]  # a signal's handler may fail a prise call of its own
        if deadline is None:
            fd = lib.prise_tcp_connect(host_b, port_b)
        else:
            left = deadline - _monotonic()
            millis = max(1, int(left * 1000))
            fd = -1 if left <= 0 else lib.prise_tcp_connect_timeout(host_b, port_b, millis)
            if left <= 0:
                raise _socket.timeout(_errno.ETIMEDOUT, "tcp_connect %s:%s: timed out" % (host, port))
        if fd >= 0:
            return _adopt(fd)
        if _errno_since(mark) == _errno.EINTR:
            _run_signal_handlers()
            continue
        error = _error()
        if error.errno == _errno.ETIMEDOUT:
            raise _socket.timeout(error.errno, error.strerror)
        raise error


def _run_signal_handlers():
    """Runs the Python handlers of the signals that came while C code waited, as
    socket's calls do on EINTR; their exception (KeyboardInterrupt for Ctrl-C) is
    raised here (ctypes.pythonapi raises what the C API left set)."""
    ctypes.pythonapi.PyErr_CheckSignals()


def tcp_listen(host=None, port=0, backlog=128):
    """A listening TCP socket; host None: dual stack (IPv4 and IPv6 clients)."""
    return _adopt(_check(lib.prise_tcp_listen(check_host(host, allow_none=True),
                                              check_port(port), _c_int(backlog, "backlog"))))


def udp_bind(host=None, port=0):
    """A UDP socket bound to host:port; host None: dual stack."""
    return _adopt(_check(lib.prise_udp_bind(check_host(host, allow_none=True),
                                                   check_port(port))))


def udp_connect(host, port):
    """A UDP socket connected to host:port."""
    return _adopt(_check(lib.prise_udp_connect(check_host(host), check_port(port))))


def listen_fds():
    """Socket activation: how many sockets the service manager passed (descriptors
    3, 4, ...); tcp_listen, unix_listen and udp_bind return them for their address."""
    return _check(lib.prise_listen_fds())


def listen_fd_named(name):
    """Socket activation: the passed socket named name in LISTEN_FDNAMES, once."""
    if not isinstance(name, str):
        raise TypeError("name must be a str, not %s" % type(name).__name__)
    if "\0" in name:
        raise ValueError("name contains a NUL character")
    return _adopt(_check(lib.prise_listen_fd_named(name.encode())))


class Connection:
    """A client of serve_events, valid until on_close returns; use it from the callbacks
    only. Attributes may be set on it freely (per-client state). Once its on_close has
    returned (or serve_events has), every method raises OSError(EBADF), as a closed
    socket's do: the C connection it named is freed."""

    def __init__(self, pointer):
        self._pointer = pointer

    def _live(self):
        if self._pointer is None:
            raise OSError(_errno.EBADF, "connection closed: used after its on_close returned")
        return self._pointer

    def send(self, data):
        """Sends data: now as far as the socket takes it, the rest queued by prise."""
        pointer, size = _readable(data)
        _check(lib.prise_conn_send(self._live(), pointer, size))

    def close(self):
        """Closes once the queued output is written."""
        _check(lib.prise_conn_close(self._live()))

    def fileno(self):
        """The client's descriptor (prise's: do not close it)."""
        return _check(lib.prise_conn_fd(self._live()))


def _count_option(value, what, maximum):
    """A serve_events count or size: an int from 0 to maximum (TypeError, ValueError,
    OverflowError otherwise, never a silent wrap)."""
    number = _index(value)
    if number < 0:
        raise ValueError("%s must be 0 (the default) or more, not %d" % (what, number))
    if number > maximum:
        raise OverflowError("%s %d is above %d" % (what, number, maximum))
    return number


def _used(result, size):
    """How many bytes on_data used: None is all of them; else an int from 0 to size."""
    if result is None:
        return size
    if isinstance(result, bool) or not isinstance(result, int):
        raise TypeError("on_data must return an int (bytes used) or None, not %s"
                        % type(result).__name__)
    if not 0 <= result <= size:
        raise ValueError("on_data returned %d: give 0 to %d (the bytes it was given)"
                         % (result, size))
    return result


def serve_events(listener, on_data, on_close=None, on_open=None, idle_timeout=None,
                 max_connections=0, input_limit=0, output_limit=0, keep_signals=False):
    """Serves every client of the listening socket from this thread (epoll), until the
    socket is shut down or, unless keep_signals, SIGTERM/SIGINT arrives.

    on_data(conn, data) is called with the bytes not used yet and returns how many it
    used (None: all; an int from 0 to len(data), else TypeError/ValueError as below);
    on_open(conn) (a true result closes the client at once) and on_close(conn, reason)
    (reason 0 or an errno; called once for every connection, also when the server stops)
    are optional. A Connection is valid until its on_close returns. An exception in a
    callback stops the server (every client then gets on_close) and is raised here.
    The other arguments are prise_events_options': idle_timeout in seconds (None:
    never), the others counts and sizes (0: the default).

    Signals: the serving thread blocks SIGTERM and SIGINT and reads them itself, so a
    Python handler for them does not run while it serves; with keep_signals=True they
    stay Python's, but their handlers run only when a callback runs (Ctrl-C waits for
    the next client's bytes). Block them in the program's other threads too
    (signal.pthread_sigmask), or the kernel may deliver SIGTERM to one of them, whose
    default action ends the process.
    """
    options = _lib.events_options(
        on_open=_lib.ON_OPEN(),
        idle_timeout_ms=0 if idle_timeout is None else _milliseconds(idle_timeout, "idle_timeout"),
        max_connections=_count_option(max_connections, "max_connections", _INT_MAX),
        input_limit=_count_option(input_limit, "input_limit", _SIZE_MAX),
        output_limit=_count_option(output_limit, "output_limit", _SIZE_MAX),
        keep_signals=int(bool(keep_signals)))
    connections = {}
    failure = []

    def fail(error):
        if not failure:
            failure.append(error)
            try:
                listener.shutdown(SHUT_RDWR)  # the server stops; every client gets on_close
            except OSError:
                pass  # already shut down or closed: the server stops all the same

    def connection(pointer):
        if pointer not in connections:
            connections[pointer] = Connection(pointer)
        return connections[pointer]

    def shielded(default, callback):
        """The C callback: any exception, also one a signal's handler raises (Ctrl-C
        with keep_signals) between the user's calls, stops the server instead of being
        printed and lost by ctypes."""
        def call(*args):
            try:
                return callback(*args)
            except BaseException as error:  # noqa: B902 - raised again by serve_events
                fail(error)
                return default
        return call

    def data_callback(pointer, data, size, _ctx):
        if failure:
            return -1
        return _used(on_data(connection(pointer), ctypes.string_at(data, size)), size)

    def close_callback(pointer, reason, _ctx):
        conn = connections.pop(pointer, None) or Connection(pointer)
        try:
            if on_close is not None:  # after a failure too: once per connection
                on_close(conn, reason)
        finally:
            conn._pointer = None  # freed once this returns

    def open_callback(pointer, _ctx):
        if failure:
            return 1
        return 1 if on_open(connection(pointer)) else 0

    calls = [shielded(-1, data_callback), shielded(None, close_callback)]
    if on_open is not None:
        calls.append(shielded(1, open_callback))
        options.on_open = _lib.ON_OPEN(calls[2])
    callbacks = (_lib.ON_DATA(calls[0]), _lib.ON_CLOSE(calls[1]))

    # From Python 3.11 a pending signal's handler runs as a function is entered, before
    # call's try: ctypes would print its exception (Ctrl-C) and lose it. Caught here.
    previous_hook = _sys.unraisablehook

    def unraisable(report):
        if report.object in calls and report.exc_value is not None:
            fail(report.exc_value)
        else:
            previous_hook(report)

    _sys.unraisablehook = unraisable
    try:
        result = lib.prise_serve_events(listener.fileno(), callbacks[0], callbacks[1], None,
                                        ctypes.byref(options))
    finally:
        _sys.unraisablehook = previous_hook
        for conn in connections.values():
            conn._pointer = None
    if failure:
        raise failure[0]
    _check(result)


def _unix_path(path):
    if isinstance(path, str):
        path = path.encode()
    if not isinstance(path, bytes):
        raise TypeError("path must be str or bytes, not %s" % type(path).__name__)
    if path.startswith(b"\0"):
        path = b"@" + path[1:]
    if not path or b"\0" in path:
        raise ValueError("path must be non-empty and contain no NUL")
    return path


def unix_listen(path, type=SOCK_STREAM):
    """A Unix-domain server socket ('@name' or '\\0name': abstract namespace)."""
    return _adopt(_check(lib.prise_unix_listen(_unix_path(path), _c_int(type, "type"))))


def unix_connect(path, type=SOCK_STREAM):
    """A Unix-domain client socket (datagram clients are auto-bound for replies)."""
    return _adopt(_check(lib.prise_unix_connect(_unix_path(path), _c_int(type, "type"))))


def gethostbyname(name):
    """The first IPv4 address of name, as a dotted string."""
    entry = lib.prise_gethostbyname(check_host(name))
    if not entry:
        raise _socket.gaierror(lib.prise_last_gai_error() or _socket.EAI_NONAME, last_error())
    first = entry.contents.h_addr_list[0]
    return _socket.inet_ntop(AF_INET, ctypes.string_at(first, 4))


def getnameinfo(address, flags=0):
    """(host, port) names of an (host, port[, flow, scope]) address."""
    if not isinstance(address, tuple) or len(address) < 2:
        raise TypeError("getnameinfo() argument 1 must be a tuple")
    flags = _c_int(flags, "flags")
    raw = to_sockaddr(family_of(address), address, _resolve)
    host = ctypes.create_string_buffer(1025)
    serv = ctypes.create_string_buffer(32)
    code = lib.prise_getnameinfo(raw, len(raw), host, 1025, serv, 32, flags)
    if code != 0:
        raise _socket.gaierror(code, last_error())
    return host.value.decode(), serv.value.decode()


# The course's helper API, under its course names.

def _course_host(host):
    return check_host(host, allow_none=True)


def bindedSocket(host, port, type=SOCK_STREAM):
    """Creates, sets SO_REUSEADDR, binds (IPv4); returns the descriptor (an int)."""
    port_b = None if port is None else check_port(port)
    fd = lib.bindedSocket(_course_host(host), port_b, _c_int(type, "type"), None)
    if fd < 0:
        raise _error()
    return fd


def creerSock(host, port, type=SOCK_STREAM):
    """Resolves host/port (IPv4) and makes an unbound socket; returns (fd, (host, port))."""
    port_b = None if port is None else check_port(port)
    fd = ctypes.c_int(-1)
    address = lib.creerSock(_course_host(host), port_b, _c_int(type, "type"), ctypes.byref(fd))
    if not address:
        raise _error()
    return fd.value, from_sockaddr(ctypes.string_at(address, 16))


def getNameInfo(address):
    """The course's "ADDRESS host:port" text of an IPv4 (host, port) address."""
    raw = to_sockaddr(AF_INET, address, _resolve)
    text = lib.getNameInfo(raw)
    if not text:
        raise _error()
    try:
        return ctypes.string_at(text).decode()
    finally:
        _lib.libc.free(text)


def reads(fd, n):
    """Reads n bytes (fewer only at end of file); returns them."""
    fd, n = _c_int(fd, "fd"), _c_int(n, "n")
    if n < 0:
        raise ValueError("n must not be negative")
    buffer = (ctypes.c_char * n)()
    got = lib.reads(fd, buffer, n)
    if got < 0:
        raise _error()
    return buffer[:got]


def writes(fd, data):
    """Writes all of data; returns the count (never SIGPIPE)."""
    fd = _c_int(fd, "fd")
    pointer, size = _readable(data)
    if size > 0x7FFFFFFF:
        raise ValueError("writes takes at most 2 GiB at once")
    written = lib.writes(fd, pointer, size)
    if written < 0:
        raise _error()
    return written
