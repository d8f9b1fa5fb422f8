"""prise: BSD sockets through the prise C library, shaped like Python's socket module.

    import prise
    with prise.tcp_listen(None, 0) as server:          # dual stack, kernel-chosen port
        port = server.getsockname()[1]
        with prise.tcp_connect("localhost", port) as client:
            conn, peer = server.accept()
            client.sendall(b"hello")
            print(conn.recv(5))

Every failure raises OSError(errno, sentence) (so ConnectionRefusedError,
TimeoutError, FileNotFoundError, … as Python picks them), resolution failures
socket.gaierror, and argument mistakes TypeError/ValueError before any C call.
"""

import ctypes
import errno as _errno
import os
import socket as _socket
import struct

from . import _lib
from ._address import check_host, check_port, from_sockaddr, to_sockaddr
from ._lib import lib

__all__ = [
    "Socket", "tcp_connect", "tcp_listen", "udp_bind", "udp_connect", "unix_listen",
    "unix_connect", "getaddrinfo", "gethostbyname", "getnameinfo", "last_error",
    "version", "bindedSocket", "creerSock", "getNameInfo", "reads", "writes",
    "AF_INET", "AF_INET6", "AF_UNIX", "SOCK_STREAM", "SOCK_DGRAM", "SHUT_RD", "SHUT_WR",
    "SHUT_RDWR", "SOL_SOCKET", "SO_REUSEADDR", "LIBRARY",
]

AF_INET, AF_INET6, AF_UNIX = _socket.AF_INET, _socket.AF_INET6, _socket.AF_UNIX
SOCK_STREAM, SOCK_DGRAM = _socket.SOCK_STREAM, _socket.SOCK_DGRAM
SHUT_RD, SHUT_WR, SHUT_RDWR = _socket.SHUT_RD, _socket.SHUT_WR, _socket.SHUT_RDWR
SOL_SOCKET, SO_REUSEADDR = _socket.SOL_SOCKET, _socket.SO_REUSEADDR
LIBRARY = lib._name
_SOCKADDR_MAX = 128


def version():
    """The version of the loaded C library, "MAJOR.MINOR.PATCH"."""
    return lib.prise_version().decode()


def last_error():
    """This thread's sentence for the last failure in the C library."""
    return lib.prise_last_error().decode(errors="replace")


def _error():
    """The exception for the failure the last C call reported."""
    code = ctypes.get_errno()
    message = last_error()
    gai = lib.prise_last_gai_error()
    if gai != 0:
        return _socket.gaierror(gai, message)
    return OSError(code, message)


def _check(result):
    if result < 0:
        raise _error()
    return result


def _resolve(host, port, family):
    """The first numeric address of host for family, via prise_getaddrinfo."""
    return getaddrinfo(host, port, family, SOCK_STREAM)[0][4]


def _buffer_out(buffer, nbytes):
    """A pointer into a writable buffer (bytearray, memoryview, array) and the count to
    fill: no copy, and no per-call ctypes array type (the hot path of recv_into)."""
    kind = type(buffer)
    size = (len(buffer) if kind is bytearray else
            buffer.nbytes if kind is memoryview else memoryview(buffer).nbytes)
    if nbytes < 0 or nbytes > size:
        raise ValueError("nbytes %d does not fit the buffer of %d bytes" % (nbytes, size))
    if size == 0:
        return None, 0
    try:
        first = ctypes.c_char.from_buffer(buffer)
    except TypeError:
        raise TypeError("recv_into needs a writable buffer, not a read-only one") from None
    return ctypes.byref(first), nbytes or size


def _buffer_in(data):
    """A pointer to the bytes of data and their count: bytes are passed as they are,
    writable buffers through a view; only other buffers are copied."""
    if isinstance(data, bytes):
        return data, len(data)
    if isinstance(data, str):
        raise TypeError("a bytes-like object is required, not 'str'")
    view = memoryview(data)
    if view.nbytes == 0:
        return None, 0
    if not view.readonly and view.contiguous:
        return ctypes.byref(ctypes.c_char.from_buffer(view)), view.nbytes
    copy = view.tobytes()
    return copy, len(copy)


_fast_recv = _lib.fast_recv
_size_t = ctypes.c_size_t


class Socket:
    """A socket descriptor driven through prise, with the methods of socket.socket."""

    def __init__(self, family=AF_INET, type=SOCK_STREAM, proto=0, fileno=None):
        if fileno is None:
            # Not inherited by programs this process runs, as socket.socket (PEP 446).
            fd = _check(lib.prise_socket(family, type | _socket.SOCK_CLOEXEC, proto))
        else:
            if not isinstance(fileno, int) or fileno < 0:
                raise ValueError("fileno must be an open descriptor, not %r" % (fileno,))
            fd = fileno
            family = _family_of(fd)
            type = _int_option(fd, SOL_SOCKET, _socket.SO_TYPE)
        self._fd = fd
        self.family = family
        self.type = type
        self.proto = proto
        self._timeout = None

    @classmethod
    def _adopt(cls, fd):
        return cls(fileno=fd)

    def fileno(self):
        """The descriptor (-1 once closed or detached)."""
        return self._fd

    def _live(self):
        if self._fd < 0:
            raise OSError(_errno.EBADF, "the socket is closed")
        return self._fd

    def detach(self):
        """Gives up the descriptor without closing it; returns it."""
        fd, self._fd = self._fd, -1
        return fd

    def close(self):
        """Closes the socket; closing twice is harmless."""
        fd, self._fd = self._fd, -1
        if fd >= 0:
            _check(lib.prise_close(fd))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if getattr(self, "_fd", -1) >= 0:
            try:
                lib.prise_close(self._fd)
            except Exception:  # interpreter shutdown
                pass

    def __repr__(self):
        return "<prise.Socket fd=%d family=%d type=%d>" % (self._fd, self.family, self.type)

    def _call(self, function, *args):
        """Runs a C call, raising its failure."""
        result = function(*args)
        if result < 0:
            self._raise()
        return result

    def _raise(self):
        """Raises the last C failure; EAGAIN on a socket with a timeout is TimeoutError,
        and a closed socket says so."""
        error = _error()
        if self._fd < 0:
            raise OSError(_errno.EBADF, "the socket is closed")
        if self._timeout is not None and error.errno in (_errno.EAGAIN, _errno.EWOULDBLOCK):
            raise TimeoutError(_errno.ETIMEDOUT, "timed out: " + error.strerror)
        raise error

    def _sockaddr(self, address):
        raw = to_sockaddr(self.family, address, _resolve)
        return raw, len(raw)

    def bind(self, address):
        """Binds to address ((host, port), (host, port, flow, scope) or a path)."""
        raw, size = self._sockaddr(address)
        self._call(lib.prise_bind, self._live(), raw, size)

    def listen(self, backlog=128):
        """Accepts connections from now on, with up to backlog waiting."""
        self._call(lib.prise_listen, self._live(), backlog)

    def accept(self):
        """Waits for a connection; returns (Socket, address)."""
        raw = ctypes.create_string_buffer(_SOCKADDR_MAX)
        size = _lib.socklen_t(_SOCKADDR_MAX)
        fd = self._call(lib.prise_accept, self._live(), raw, ctypes.byref(size))
        conn = Socket._adopt(fd)
        # prise_accept keeps accept(2)'s flags; Python's sockets are not inheritable.
        os.set_inheritable(fd, False)
        return conn, from_sockaddr(raw.raw[:size.value])

    def connect(self, address):
        """Connects to address (bounded by settimeout when one is set)."""
        raw, size = self._sockaddr(address)
        self._call(lib.prise_connect, self._live(), raw, size)

    def send(self, data, flags=0):
        """Sends what the kernel takes now; returns the count (never SIGPIPE)."""
        pointer, size = _buffer_in(data)
        n = _lib.fast_send(self._fd, pointer, ctypes.c_size_t(size), int(flags))
        if n < 0:
            self._raise()
        return n

    def sendall(self, data):
        """Sends all of data in one C call (prise_write_all); returns None."""
        pointer, size = (data, len(data)) if type(data) is bytes else _buffer_in(data)
        if _lib.fast_write_all(self._fd, pointer, ctypes.c_size_t(size)) < 0:
            self._raise()

    def recv(self, bufsize, flags=0):
        """Receives up to bufsize bytes; b"" when the peer has closed."""
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        buffer = ctypes.create_string_buffer(bufsize)
        n = _lib.fast_recv(self._fd, buffer, ctypes.c_size_t(bufsize), int(flags))
        if n < 0:
            self._raise()
        return buffer.raw[:n]

    def recv_into(self, buffer, nbytes=0, flags=0):
        """Receives into a writable buffer, without a copy; returns the count."""
        pointer, size = _buffer_out(buffer, nbytes)
        n = _fast_recv(self._fd, pointer, _size_t(size), flags if type(flags) is int else int(flags))
        if n < 0:
            self._raise()
        return n

    def sendto(self, data, address, flags=0):
        """Sends a datagram to address; returns the count sent."""
        pointer, size = _buffer_in(data)
        raw, raw_size = self._sockaddr(address)
        return self._call(lib.prise_sendto, self._live(), pointer, size, flags, raw, raw_size)

    def recvfrom(self, bufsize, flags=0):
        """Receives a datagram; returns (bytes, address)."""
        if bufsize < 0:
            raise ValueError("negative buffersize in recvfrom")
        buffer = ctypes.create_string_buffer(bufsize)
        raw = ctypes.create_string_buffer(_SOCKADDR_MAX)
        size = _lib.socklen_t(_SOCKADDR_MAX)
        n = self._call(lib.prise_recvfrom, self._live(), buffer, bufsize, flags, raw,
                       ctypes.byref(size))
        return buffer.raw[:n], from_sockaddr(raw.raw[:size.value])

    def shutdown(self, how):
        """Shuts down reading (SHUT_RD), writing (SHUT_WR) or both (SHUT_RDWR)."""
        self._call(lib.prise_shutdown, self._live(), how)

    def _name(self, function):
        raw = ctypes.create_string_buffer(_SOCKADDR_MAX)
        size = _lib.socklen_t(_SOCKADDR_MAX)
        self._call(function, self._live(), raw, ctypes.byref(size))
        return from_sockaddr(raw.raw[:size.value])

    def getsockname(self):
        """The local address."""
        return self._name(lib.prise_getsockname)

    def getpeername(self):
        """The peer's address (OSError ENOTCONN when not connected)."""
        return self._name(lib.prise_getpeername)

    def settimeout(self, seconds):
        """None: block; a number of seconds > 0: an expired wait raises TimeoutError."""
        if seconds is not None:
            if seconds < 0:
                raise ValueError("Timeout value out of range")
            millis = max(1, int(round(seconds * 1000))) if seconds > 0 else 1
        else:
            millis = 0
        self._call(lib.prise_set_timeout, self._live(), millis)
        self._timeout = seconds

    def gettimeout(self):
        """The timeout in seconds, or None."""
        return self._timeout

    def setsockopt(self, level, option, value):
        """value: an int, or bytes for options that take a structure."""
        if isinstance(value, int):
            value = struct.pack("i", value)
        pointer, size = _buffer_in(value)
        self._call(lib.prise_setsockopt, self._live(), level, option, pointer, size)

    def getsockopt(self, level, option, buflen=0):
        """An int, or bytes of at most buflen when buflen is given."""
        room = buflen or 4
        buffer = ctypes.create_string_buffer(room)
        size = _lib.socklen_t(room)
        self._call(lib.prise_getsockopt, self._live(), level, option, buffer, ctypes.byref(size))
        if buflen:
            return buffer.raw[:size.value]
        return struct.unpack("i", buffer.raw[:4])[0]


def _int_option(fd, level, option):
    value = ctypes.c_int(0)
    size = _lib.socklen_t(ctypes.sizeof(value))
    _check(lib.prise_getsockopt(fd, level, option, ctypes.byref(value), ctypes.byref(size)))
    return value.value


def _family_of(fd):
    raw = ctypes.create_string_buffer(_SOCKADDR_MAX)
    size = _lib.socklen_t(_SOCKADDR_MAX)
    _check(lib.prise_getsockname(fd, raw, ctypes.byref(size)))
    return struct.unpack("=H", raw.raw[:2])[0]


def tcp_connect(host, port, timeout=None):
    """A TCP connection to host:port, trying every address (IPv6 and IPv4) in order.
    timeout: seconds for each attempt (None: the system's)."""
    host_b, port_b = check_host(host), check_port(port)
    if timeout is None:
        fd = _check(lib.prise_tcp_connect(host_b, port_b))
    else:
        if timeout <= 0:
            raise ValueError("timeout must be positive seconds, not %r" % (timeout,))
        fd = lib.prise_tcp_connect_timeout(host_b, port_b, max(1, int(timeout * 1000)))
        if fd < 0:
            error = _error()
            if error.errno == _errno.ETIMEDOUT:
                raise TimeoutError(error.errno, error.strerror)
            raise error
    return Socket._adopt(fd)


def tcp_listen(host=None, port=0, backlog=128):
    """A listening TCP socket; host None: dual stack (IPv4 and IPv6 clients)."""
    return Socket._adopt(_check(lib.prise_tcp_listen(check_host(host, allow_none=True),
                                                     check_port(port), backlog)))


def udp_bind(host=None, port=0):
    """A UDP socket bound to host:port; host None: dual stack."""
    return Socket._adopt(_check(lib.prise_udp_bind(check_host(host, allow_none=True),
                                                   check_port(port))))


def udp_connect(host, port):
    """A UDP socket connected to host:port."""
    return Socket._adopt(_check(lib.prise_udp_connect(check_host(host), check_port(port))))


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
    return Socket._adopt(_check(lib.prise_unix_listen(_unix_path(path), type)))


def unix_connect(path, type=SOCK_STREAM):
    """A Unix-domain client socket (datagram clients are auto-bound for replies)."""
    return Socket._adopt(_check(lib.prise_unix_connect(_unix_path(path), type)))


def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
    """The 5-tuples of socket.getaddrinfo: (family, type, proto, canonname, sockaddr)."""
    host_b = check_host(host, allow_none=True)
    port_b = None if port is None else check_port(port)
    hints = _lib.addrinfo(ai_flags=flags, ai_family=family, ai_socktype=type,
                          ai_protocol=proto)
    result = ctypes.POINTER(_lib.addrinfo)()
    code = lib.prise_getaddrinfo(host_b, port_b, ctypes.byref(hints), ctypes.byref(result))
    if code != 0:
        if code == _socket.EAI_SYSTEM:
            raise OSError(ctypes.get_errno(), last_error())
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
    family = AF_INET6 if ":" in str(address[0]) else AF_INET
    raw = to_sockaddr(family, address, _resolve)
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
    fd = lib.bindedSocket(_course_host(host), port_b, type, None)
    if fd < 0:
        raise _error()
    return fd


def creerSock(host, port, type=SOCK_STREAM):
    """Resolves host/port (IPv4) and makes an unbound socket; returns (fd, (host, port))."""
    port_b = None if port is None else check_port(port)
    fd = ctypes.c_int(-1)
    address = lib.creerSock(_course_host(host), port_b, type, ctypes.byref(fd))
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
    if n < 0:
        raise ValueError("n must not be negative")
    buffer = ctypes.create_string_buffer(n)
    got = lib.reads(fd, buffer, n)
    if got < 0:
        raise _error()
    return buffer.raw[:got]


def writes(fd, data):
    """Writes all of data; returns the count (never SIGPIPE)."""
    pointer, size = _buffer_in(data)
    if size > 0x7FFFFFFF:
        raise ValueError("writes takes at most 2 GiB at once")
    written = lib.writes(fd, pointer, size)
    if written < 0:
        raise _error()
    return written


