"""prise.Socket: socket.socket's methods, attributes and semantics, every system call made
through prise's C library.

Where socket.socket's behaviour is Python code (makefile and its SocketIO, sendfile,
dup, repr, the module's create_connection, create_server, socketpair, fromfd), prise
runs that very code with its own Socket in place, so the two cannot drift apart.

Timeouts work as socket's do: a socket with a timeout is non-blocking in the kernel and
each call waits (poll) for readiness until one deadline for the whole call; timeout 0
raises BlockingIOError; timeout None blocks in the kernel. A signal during a wait or a
blocking call runs its Python handler, and the call goes on unless the handler raised
(PEP 475). Descriptors are created close-on-exec (PEP 446).
"""

import ctypes
import errno as _errno
import operator
import os
import select
import socket as _std
import struct
import sys
import time
import types
import warnings
import weakref

import _socket

from . import _lib
from ._address import from_sockaddr, text_from, to_sockaddr
from ._lib import lib

_index = operator.index
_monotonic = time.monotonic
_weakref = weakref.ref
_last_errno = _lib.last_errno
_failures_read = _lib.failures_read
_byref = ctypes.byref
_c_char = ctypes.c_char
_pin = ctypes.c_char.from_buffer
_size_t = ctypes.c_size_t
_void_p = ctypes.c_void_p
_socklen_t = _lib.socklen_t

_SOCKADDR_MAX = _lib.SOCKADDR_MAX
_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1
# A Python int passed to a function without argtypes becomes a C int, which libffi
# widens to the 64 bits of size_t; a length beyond a C int needs a real c_size_t.
_INT_SIZE = 1 << 31
_NONBLOCK_CLOEXEC = _std.SOCK_NONBLOCK | _std.SOCK_CLOEXEC
_EAGAIN, _EINTR, _EINPROGRESS = _errno.EAGAIN, _errno.EINTR, _errno.EINPROGRESS
_CMSG_HEADER = _socket.CMSG_LEN(0)
_TIMEOUT_MAX = (1 << 63) / 1e9  # socket keeps timeouts as 64-bit nanoseconds
_POLL_SLICE = 86400.0  # seconds: well within poll's C int of milliseconds
_PEEK_NOW = _std.MSG_PEEK | _std.MSG_DONTWAIT
_LINE_EVENTS = select.EPOLLIN | select.EPOLLRDHUP | select.EPOLLET
# Bytes of a partial line after which a blocking read_line lets the C helper read on:
# under what the smallest receive queue holds, so a longer line cannot stall the wait.
_LINE_HANDOVER = 1024
_ENDED = select.EPOLLRDHUP | select.EPOLLHUP | select.EPOLLERR
_VSOCK = getattr(_std, "AF_VSOCK", None)
# socket.timeout: TimeoutError from Python 3.10 on, its own OSError subclass before.
_timeout_error = _std.timeout

# The data path calls these without argtypes: ctypes' conversion of each declared
# argument costs more than the call's own work in prise. Callers pass exactly
# (int descriptor, pointer, length int below 2**31 or c_size_t, int flags).
_send = lib["prise_send"]
_recv = lib["prise_recv"]
_send.restype = _recv.restype = ctypes.c_ssize_t


def _c_int(value, what):
    """value as a C int: TypeError for a non-integer, OverflowError out of range (never
    a silent truncation, never ctypes.ArgumentError)."""
    number = _index(value)
    if not _INT_MIN <= number <= _INT_MAX:
        raise OverflowError("%s %d does not fit a C int" % (what, number))
    return number


def _errno_since(mark):
    """The errno of the call that has just failed, mark being _failures_read[0] taken
    before it; EINTR when a signal's handler has read a failure of its own on this
    thread since (prise then keeps the handler's errno, not the call's): the call's
    failure was most likely the interruption, and trying it again tells."""
    if mark != _failures_read[0] and _lib.on_main_thread():
        return _EINTR
    return _last_errno()


def _flags(flags):
    return flags if type(flags) is int and _INT_MIN <= flags <= _INT_MAX else _c_int(flags, "flags")


def _length(size):
    return size if size < _INT_SIZE else _size_t(size)


def _os_error(code=None):
    """OSError (the subclass Python picks for its errno) with prise's sentence for this
    thread's last failure."""
    return OSError(_last_errno() if code is None else code, _lib.last_error())


# ---- buffers: pinned before their length is read, never copied ----

class _Py_buffer(ctypes.Structure):
    """CPython's Py_buffer (stable ABI): lets a read-only buffer that is not bytes (a
    memoryview of bytes, a read-only mmap) be sent without a copy."""
    _fields_ = [("buf", ctypes.c_void_p), ("obj", ctypes.c_void_p),
                ("len", ctypes.c_ssize_t), ("itemsize", ctypes.c_ssize_t),
                ("readonly", ctypes.c_int), ("ndim", ctypes.c_int),
                ("format", ctypes.c_char_p), ("shape", ctypes.c_void_p),
                ("strides", ctypes.c_void_p), ("suboffsets", ctypes.c_void_p),
                ("internal", ctypes.c_void_p)]


_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = [ctypes.py_object, ctypes.POINTER(_Py_buffer), ctypes.c_int]
_get_buffer.restype = ctypes.c_int
_release_buffer = ctypes.pythonapi.PyBuffer_Release
_release_buffer.argtypes = [ctypes.POINTER(_Py_buffer)]
_release_buffer.restype = None


class _HeldBuffer:
    """A read-only buffer held (PyObject_GetBuffer) for as long as this object lives;
    passed to a C call as its pointer (ctypes reads _as_parameter_)."""
    __slots__ = ("_view", "_as_parameter_", "size")

    def __init__(self, data):
        view = _Py_buffer()
        _get_buffer(data, view, 0)  # PyBUF_SIMPLE: contiguous bytes; raises otherwise
        self._view = view
        self._as_parameter_ = _void_p(view.buf)
        self.size = view.len

    def __del__(self):
        view = getattr(self, "_view", None)
        if view is not None:
            self._view = None
            _release_buffer(view)


def _address(pointer):
    """The address a pointer argument (bytes, byref, held buffer) stands for."""
    return ctypes.cast(pointer, _void_p).value


# recv and recvfrom receive in place into a new bytes object, as socket's C code does
# (PyBytes_FromStringAndSize(NULL, n)), instead of into a C array copied out afterwards:
# on CPython, bytes(n) with n > 0 is always a new object that nothing else can see
# until it is returned, and ctypes passes a bytes argument as the address of its own
# storage. The kernel writes at most n bytes into its n. A full receive is returned as
# it is; a short one costs the copy of what came.
if sys.implementation.name != "cpython" or bytes(2) is bytes(2):
    raise ImportError("prise needs CPython (its ctypes and its bytes objects)")


_zeroed = (0).to_bytes


def _received(data, n):
    """The n bytes received into data (bytes(size)): data itself when it is full."""
    return data if n == len(data) else data[:n]


def _writable(buffer, caller):
    """(pointer, size) of a writable buffer, pinned for as long as the pointer lives: a
    bytearray cannot be resized nor its memory freed meanwhile, so the kernel never
    writes past the object. The size is read once the buffer is pinned."""
    try:
        pointer = _byref(_pin(buffer))
    except (TypeError, ValueError, BufferError):
        return _writable_other(buffer, caller)
    kind = type(buffer)
    if kind is bytearray:
        return pointer, len(buffer)
    return pointer, buffer.nbytes if kind is memoryview else memoryview(buffer).nbytes


def _writable_other(buffer, caller):
    """_writable for what c_char.from_buffer refuses: an empty buffer (NULL, 0), or
    socket's error for a read-only or unusable one."""
    try:
        view = memoryview(buffer)
    except TypeError:
        raise TypeError("%s() argument must be a read-write bytes-like object, not %s"
                        % (caller, type(buffer).__name__)) from None
    if view.readonly:
        raise TypeError("%s() argument must be a read-write bytes-like object, not %s"
                        % (caller, type(buffer).__name__))
    if view.nbytes == 0:
        return None, 0
    _pin(view)  # raises its own reason (a buffer that is not contiguous)
    raise BufferError("%s(): cannot use this buffer" % caller)


def _readable(data):
    """(pointer, size) of the bytes of data: bytes as they are, writable buffers pinned
    (as _writable), other read-only buffers held; none copied. str is refused as
    socket refuses it."""
    if type(data) is bytes:
        return data, len(data)
    if isinstance(data, str):
        raise TypeError("a bytes-like object is required, not 'str'")
    try:
        return _writable(data, "send")
    except TypeError:
        pass
    held = _HeldBuffer(data)
    return (held, held.size) if held.size else (None, 0)


# ---- ancillary data (sendmsg/recvmsg) ----

def _pack_ancillary(ancdata):
    """cmsghdr records for [(level, type, data), ...], laid out as CMSG_* lay them out."""
    records = []
    for item in ancdata:
        try:
            level, kind, data = item
        except (TypeError, ValueError):
            raise TypeError("sendmsg() ancillary data items must be (level, type, data) "
                            "sequences of length 3") from None
        payload = bytes(memoryview(data))
        space = _socket.CMSG_SPACE(len(payload))
        record = struct.pack("Nii", _socket.CMSG_LEN(len(payload)),
                             _c_int(level, "ancillary level"), _c_int(kind, "ancillary type"))
        records.append((record + payload).ljust(space, b"\0"))
    return b"".join(records)


def _unpack_ancillary(control, length, truncated):
    """[(level, type, data), ...] from the first `length` bytes of a control buffer."""
    items, offset = [], 0
    while offset + _CMSG_HEADER <= length:
        size, level, kind = struct.unpack_from("Nii", control, offset)
        if size < _CMSG_HEADER:
            break
        end = offset + size
        if end > length:
            if not truncated:
                break
            end = length
        items.append((level, kind, bytes(control[offset + _CMSG_HEADER:end])))
        offset += _socket.CMSG_SPACE(size - _CMSG_HEADER)
    return items


def _intenum(value, enum):
    try:
        return enum(value)
    except ValueError:
        return value


class Socket:
    """A socket driven through prise, with socket.socket's methods, attributes and
    semantics; plus prise's send_fd, recv_fd, peer_cred and read_line."""

    __slots__ = ("_fd", "_family", "_type", "_proto", "_timeout", "_io_refs", "_closed",
                 "_last_view", "__weakref__")

    # Arguments are positional-only where socket.socket's (C) methods take no keywords.

    def __init__(self, family=-1, type=-1, proto=-1, fileno=None):
        self._fd = -1
        self._io_refs = 0
        self._closed = False
        self._last_view = None
        if fileno is None:
            family = _c_int(_std.AF_INET if family == -1 else family, "family")
            type = _c_int(_std.SOCK_STREAM if type == -1 else type, "type")
            proto = _c_int(0 if proto == -1 else proto, "proto")
            timeout = 0.0 if type & _std.SOCK_NONBLOCK else _std.getdefaulttimeout()
            flags = _std.SOCK_CLOEXEC | (_std.SOCK_NONBLOCK if timeout is not None else 0)
            fd = lib.prise_socket(family, type | flags, proto)
            if fd < 0:
                raise _os_error()
        else:
            if isinstance(fileno, float):
                raise TypeError("fileno must be an int, not float")
            fd = _index(fileno)
            if fd < 0:
                raise ValueError("negative file descriptor")
            if fd > _INT_MAX:
                raise OverflowError("file descriptor %d does not fit a C int" % fd)
            family = _detect(fd, family, _std.SO_DOMAIN)
            type = _detect(fd, type, _std.SO_TYPE)
            proto = _detect(fd, proto, _std.SO_PROTOCOL)
            timeout = 0.0 if type & _std.SOCK_NONBLOCK else _std.getdefaulttimeout()
            if timeout is not None:
                os.set_blocking(fd, False)
        self._fd = fd
        self._family = family
        self._type = type & ~_NONBLOCK_CLOEXEC
        self._proto = proto
        self._timeout = timeout

    @classmethod
    def _wrap(cls, fd, family, type, proto, timeout):
        """A Socket for a descriptor whose kind and blocking mode are known already."""
        sock = cls.__new__(cls)
        sock._fd, sock._family, sock._type, sock._proto = fd, family, type, proto
        sock._timeout, sock._io_refs, sock._closed = timeout, 0, False
        sock._last_view = None
        return sock

    # -- attributes --

    @property
    def family(self):
        """The address family, as socket.AddressFamily."""
        return _intenum(self._family, _std.AddressFamily)

    @property
    def type(self):
        """The socket type, as socket.SocketKind."""
        return _intenum(self._type, _std.SocketKind)

    @property
    def proto(self):
        """The protocol number."""
        return self._proto

    @property
    def timeout(self):
        """The timeout in seconds (float), or None."""
        return self._timeout

    def fileno(self):
        """The descriptor (-1 once closed or detached)."""
        return self._fd

    # socket.socket's own Python code, which only calls the methods defined here.
    __repr__ = _std.socket.__repr__
    __exit__ = _std.socket.__exit__
    makefile = _std.socket.makefile
    sendfile = _std.socket.sendfile
    _sendfile_use_sendfile = _std.socket._sendfile_use_sendfile
    _sendfile_use_send = _std.socket._sendfile_use_send
    _check_sendfile_params = _std.socket._check_sendfile_params
    dup = _std.socket.dup
    close = _std.socket.close
    _decref_socketios = _std.socket._decref_socketios

    def __enter__(self):
        return self

    def __reduce_ex__(self, protocol):  # copy and pickle: a descriptor is not a value
        raise TypeError("cannot pickle %r object" % type(self).__name__)

    # _real_close and __del__ may run while the interpreter shuts down and module globals
    # are gone: what they need is bound as default arguments, as socket.py does.
    def _real_close(self, _close=lib.prise_close, _errno_now=lib.prise_last_errno,
                    _reset=_errno.ECONNRESET):
        fd, self._fd = self._fd, -1
        # A peer's reset can surface at close; the descriptor is released all the same.
        if fd >= 0 and _close(fd) < 0 and _errno_now() != _reset:
            raise _os_error()

    def detach(self):
        """Gives up the descriptor without closing it; returns it."""
        self._closed = True
        fd, self._fd = self._fd, -1
        return fd

    def __del__(self, _close=lib.prise_close, _warn=warnings.warn):
        fd = self._fd
        if fd >= 0:
            try:
                _warn("unclosed %r" % (self,), ResourceWarning, source=self)
            finally:
                self._fd = -1
                _close(fd)

    # -- blocking, timeouts, inheritance --

    def settimeout(self, value, /):
        """None: block; 0: non-blocking (BlockingIOError); x > 0: each call may wait x
        seconds in all, then raises TimeoutError."""
        if value is not None:
            value = float(value if isinstance(value, float) else _index(value))
            if value != value:
                raise ValueError("Invalid value NaN (not a number)")
            if value < 0:
                raise ValueError("Timeout value out of range")
            if value > _TIMEOUT_MAX:
                raise OverflowError("timeout doesn't fit into C timeval")
            value += 0.0  # -0.0 is 0.0, as socket keeps it
        os.set_blocking(self._fd, value is None)
        self._timeout = value

    def gettimeout(self):
        """The timeout in seconds (float), or None."""
        return self._timeout

    def setblocking(self, flag, /):
        """setblocking(True) is settimeout(None); setblocking(False) is settimeout(0.0)."""
        self.settimeout(None if _index(flag) else 0.0)

    def getblocking(self):
        """False for a non-blocking socket (timeout 0), True otherwise."""
        return self._timeout != 0.0

    def get_inheritable(self):
        """Whether a child process started with exec inherits the descriptor."""
        return os.get_inheritable(self._fd)

    def set_inheritable(self, inheritable):
        """Lets (True) or keeps (False) exec'ed children from inheriting the descriptor."""
        os.set_inheritable(self._fd, inheritable)

    # -- the slow path of every call: EINTR, EAGAIN with a timeout, errors --

    def _wait(self, writing, deadline, timeout):
        """Waits until the socket is ready or the deadline (None: none) passes
        (socket.timeout, which names the call's timeout: the one it started with,
        whatever another thread has set since, as socket does)."""
        poller = select.poll()
        poller.register(self._fd, select.POLLOUT if writing else select.POLLIN)
        self._until(lambda seconds: poller.poll(seconds * 1000.0), deadline, timeout)

    def _until(self, wait, deadline, timeout):
        """Calls wait(seconds), a wait of at most that long that returns what happened
        (false: nothing), until something happens; returns it. deadline None: no limit;
        otherwise socket.timeout once it passes. Waits are slices of at most a day:
        poll takes a C int of milliseconds. select's waits retry EINTR themselves after
        the signal's handler (PEP 475)."""
        while True:
            if deadline is None:
                seconds = _POLL_SLICE
            else:
                seconds = deadline - _monotonic()
                if seconds <= 0:
                    raise _timeout_error("timed out (socket %d, timeout %g s)"
                                         % (self._fd, timeout))
            happened = wait(min(seconds, _POLL_SLICE))
            if happened:
                return happened

    def _again(self, call, args, writing, mark, deadline=None, timeout=None):
        """Carries on a call whose first try failed (mark: _failures_read[0] before it):
        after EINTR (the signal's handler has run) it tries again; after EAGAIN on a
        socket with a timeout it waits for readiness until the deadline (given with its
        timeout, or from now); other failures raise OSError with prise's sentence.
        Returns the call's eventual result."""
        if deadline is None:
            timeout = self._timeout
        while True:
            code = _errno_since(mark)
            if code == _EAGAIN and timeout:
                if deadline is None:
                    deadline = _monotonic() + timeout
                self._wait(writing, deadline, timeout)
            elif code != _EINTR:
                raise _os_error(code)
            mark = _failures_read[0]
            result = call(self._fd, *args)
            if result >= 0:
                return result

    # -- data --

    # The data path: bytes, flags 0 and lengths below 2**31 go straight to the C call;
    # everything else goes through _readable/_writable/_flags/_length, which the first
    # lines only shortcut. Failures (EINTR, EAGAIN, errors) are _again's. send and
    # sendall spell out the same first lines: a shared helper costs each call ~870
    # instructions (callgrind), 15% of the whole call.

    def send(self, data, flags=0, /):
        """Sends what the kernel takes now; returns the count (never SIGPIPE)."""
        if type(data) is bytes:
            pointer, size = data, len(data)
        else:
            pointer, size = _readable(data)
        if flags or type(flags) is not int:
            flags = _flags(flags)
        mark = _failures_read[0]
        n = _send(self._fd, pointer, size if size < _INT_SIZE else _size_t(size), flags)
        if n < 0:
            n = self._again(_send, (pointer, _length(size), flags), True, mark)
        return n

    def sendall(self, data, flags=0, /):
        """Sends all of data; returns None. With a timeout, the whole call shares one
        deadline. On failure, an unknown part of data has been sent."""
        if type(data) is bytes:
            pointer, size = data, len(data)
        else:
            pointer, size = _readable(data)
        if flags or type(flags) is not int:
            flags = _flags(flags)
        mark = _failures_read[0]
        sent = _send(self._fd, pointer, size if size < _INT_SIZE else _size_t(size), flags)
        if sent != size:
            self._send_rest(pointer, size, sent, flags, mark)

    def _send_rest(self, pinned, size, sent, flags, mark):
        """sendall after a first send that did not take everything: the rest goes out
        from a cursor into the pinned data; a timeout is one deadline for all of it."""
        timeout = self._timeout
        deadline = None if not timeout else _monotonic() + timeout
        pointer, cursor = pinned, None
        while True:
            if sent < 0:
                sent = self._again(_send, (pointer, _length(size), flags), True, mark,
                                   deadline, timeout)
            size -= sent
            if size <= 0:
                return
            cursor = (_address(pinned) if cursor is None else cursor) + sent
            pointer = _void_p(cursor)
            mark = _failures_read[0]
            sent = _send(self._fd, pointer, _length(size), flags)

    def recv(self, bufsize, flags=0, /):
        """Receives up to bufsize bytes; b"" when the peer has closed."""
        if type(bufsize) is not int:
            bufsize = _index(bufsize)
        if flags or type(flags) is not int:
            flags = _flags(flags)
        if bufsize <= 0:
            if bufsize < 0:
                raise ValueError("negative buffersize in recv")
            return b""  # as socket: no call, whatever the socket's state
        # Received into in place (see _received); bytes(n) parses its arguments as a
        # constructor, (0).to_bytes makes the same new zeroed object for half the cost,
        # but fills it byte by byte: for small sizes only.
        data = _zeroed(bufsize, "little") if bufsize <= 512 else bytes(bufsize)
        mark = _failures_read[0]
        n = _recv(self._fd, data, bufsize if bufsize < _INT_SIZE else _size_t(bufsize), flags)
        if n < 0:
            n = self._again(_recv, (data, _length(bufsize), flags), False, mark)
        return data if n == bufsize else data[:n]

    def recv_into(self, buffer, nbytes=0, flags=0):
        """Receives into a writable buffer, without a copy; returns the count."""
        last = self._last_view
        if last is not None and last[0]() is buffer:
            # The memoryview received into last time: its address and size are fixed for
            # its life, and a new view on it holds its memory for this call (pinning it
            # afresh costs more than the receive); a released view raises ValueError.
            pin = memoryview(buffer)
            pointer, size = last[1], last[2]
        else:
            pointer, size = pin = _writable(buffer, "recv_into")
            if type(buffer) is memoryview and size:
                self._last_view = (_weakref(buffer), _void_p(_address(pointer)), size)
        if nbytes or type(nbytes) is not int:
            nbytes = _index(nbytes)
            if nbytes < 0:
                raise ValueError("negative buffersize in recv_into")
            if nbytes > size:
                raise ValueError("buffer too small for requested bytes")
        if flags or type(flags) is not int:
            flags = _flags(flags)
        length = nbytes or size
        if not length:
            return 0  # as socket: no call for an empty buffer
        mark = _failures_read[0]
        n = _recv(self._fd, pointer, length if length < _INT_SIZE else _size_t(length), flags)
        if n < 0:
            n = self._again(_recv, (pointer, _length(length), flags), False, mark)
        return n

    def sendto(self, data, /, *flags_address):
        """sendto(data, address) or sendto(data, flags, address): sends a datagram."""
        if len(flags_address) == 1:
            flags, address = 0, flags_address[0]
        elif len(flags_address) == 2:
            flags, address = flags_address
        else:
            raise TypeError("sendto() takes 2 or 3 arguments (%d given)" % (len(flags_address) + 1))
        pointer, size = _readable(data)
        flags = _flags(flags)
        raw = self._sockaddr(address, "sendto")
        args = (pointer, _length(size), flags, raw, len(raw))
        mark = _failures_read[0]
        n = lib.prise_sendto(self._fd, *args)
        if n < 0:
            n = self._again(lib.prise_sendto, args, True, mark)
        return n

    def _recvfrom(self, pointer, length, flags):
        raw = (_c_char * _SOCKADDR_MAX)()
        size = _socklen_t(_SOCKADDR_MAX)
        args = (pointer, length, flags, raw, _byref(size))
        mark = _failures_read[0]
        n = lib.prise_recvfrom(self._fd, *args)
        if n < 0:
            n = self._again(lib.prise_recvfrom, args, False, mark)
        return n, from_sockaddr(raw[:min(size.value, _SOCKADDR_MAX)])

    def recvfrom(self, bufsize, flags=0, /):
        """Receives a datagram; returns (bytes, address)."""
        bufsize = _index(bufsize)
        if bufsize < 0:
            raise ValueError("negative buffersize in recvfrom")
        data = bytes(bufsize)  # received into in place: see _received
        n, address = self._recvfrom(data, bufsize, _flags(flags))
        return _received(data, n), address

    def recvfrom_into(self, buffer, nbytes=0, flags=0):
        """Receives a datagram into a writable buffer; returns (count, address)."""
        pointer, size = _writable(buffer, "recvfrom_into")
        nbytes = _index(nbytes)
        if nbytes < 0:
            raise ValueError("negative buffersize in recvfrom_into")
        if nbytes > size:
            raise ValueError("nbytes is greater than the length of the buffer")
        return self._recvfrom(pointer, nbytes or size, _flags(flags))

    def sendmsg(self, buffers, ancdata=(), flags=0, address=None, /):
        """Sends the buffers as one message, with ancillary data [(level, type, data)]
        (SCM_RIGHTS, SCM_CREDENTIALS, …); returns the count sent."""
        pieces = [_readable(piece) for piece in buffers]
        iov = (_lib.iovec * max(1, len(pieces)))()
        for slot, (pointer, size) in zip(iov, pieces):
            slot.iov_base = _address(pointer) if size else None
            slot.iov_len = size
        control = _pack_ancillary(ancdata)
        message = _lib.msghdr(msg_iov=iov, msg_iovlen=len(pieces),
                              msg_control=_address(control) if control else None,
                              msg_controllen=len(control))
        if address is not None:
            raw = self._sockaddr(address, "sendmsg")
            message.msg_name = _address(raw)
            message.msg_namelen = len(raw)
        flags = _flags(flags)
        args = (_byref(message), flags)
        # pieces, control and raw stay referenced until the call returns.
        mark = _failures_read[0]
        n = lib.prise_sendmsg(self._fd, *args)
        if n < 0:
            n = self._again(lib.prise_sendmsg, args, True, mark)
        return n

    def _recvmsg(self, pieces, ancbufsize, flags, caller):
        ancbufsize = _index(ancbufsize)
        if not 0 <= ancbufsize <= _INT_MAX:
            raise ValueError("invalid ancillary data buffer length")
        iov = (_lib.iovec * max(1, len(pieces)))()
        for slot, (pointer, size) in zip(iov, pieces):
            slot.iov_base = _address(pointer) if size else None
            slot.iov_len = size
        control = bytes(ancbufsize)  # received into in place (see _received), untouched until then
        name = (_c_char * _SOCKADDR_MAX)()
        message = _lib.msghdr(msg_name=ctypes.addressof(name), msg_namelen=_SOCKADDR_MAX,
                              msg_iov=iov, msg_iovlen=len(pieces),
                              msg_control=_address(control) if ancbufsize else None,
                              msg_controllen=ancbufsize)
        args = (_byref(message), _flags(flags))
        mark = _failures_read[0]
        n = lib.prise_recvmsg(self._fd, *args)
        if n < 0:
            n = self._again(lib.prise_recvmsg, args, False, mark)
        truncated = bool(message.msg_flags & _std.MSG_CTRUNC)
        ancillary = _unpack_ancillary(control, message.msg_controllen, truncated)
        address = from_sockaddr(name[:min(message.msg_namelen, _SOCKADDR_MAX)])
        return n, ancillary, message.msg_flags, address

    def recvmsg(self, bufsize, ancbufsize=0, flags=0, /):
        """Receives one message: (data, [(level, type, data)], msg_flags, address)."""
        bufsize = _index(bufsize)
        if bufsize < 0:
            raise ValueError("negative buffer size in recvmsg()")
        data = bytes(bufsize)  # received into in place: see _received
        n, ancillary, flags, address = self._recvmsg([(data, bufsize)], ancbufsize, flags,
                                                     "recvmsg")
        return _received(data, n), ancillary, flags, address

    def recvmsg_into(self, buffers, ancbufsize=0, flags=0, /):
        """Receives one message scattered over writable buffers:
        (count, [(level, type, data)], msg_flags, address)."""
        pieces = [_writable(buffer, "recvmsg_into") for buffer in buffers]
        return self._recvmsg(pieces, ancbufsize, flags, "recvmsg_into")

    if hasattr(_std, "AF_ALG"):
        def sendmsg_afalg(self, msg=(), *, op, iv=None, assoclen=None, flags=0):
            """sendmsg for an AF_ALG (kernel crypto) socket: op, iv and assoclen become
            the ALG_SET_* ancillary records."""
            ancdata = [(_std.SOL_ALG, _std.ALG_SET_OP, struct.pack("I", _c_int(op, "op")))]
            if iv is not None:
                iv = bytes(memoryview(iv))
                ancdata.append((_std.SOL_ALG, _std.ALG_SET_IV, struct.pack("I", len(iv)) + iv))
            if assoclen is not None:
                if _index(assoclen) < 0:
                    raise TypeError("assoclen must be positive")
                ancdata.append((_std.SOL_ALG, _std.ALG_SET_AEAD_ASSOCLEN,
                                struct.pack("I", _index(assoclen))))
            return self.sendmsg(msg, ancdata, flags)

    # -- connections --

    def _sockaddr(self, address, caller):
        return to_sockaddr(self._family, address, _resolve, caller)

    def bind(self, address, /):
        """Binds to address: (host, port), (host, port, flowinfo, scope_id), or a Unix
        path (str: a file, bytes starting with NUL: abstract, '': autobind)."""
        raw = self._sockaddr(address, "bind")
        if lib.prise_bind(self._fd, raw, len(raw)) < 0:
            raise _os_error()

    def listen(self, backlog=min(_std.SOMAXCONN, 128), /):
        """Accepts connections from now on, with up to backlog waiting."""
        if lib.prise_listen(self._fd, max(0, _c_int(backlog, "backlog"))) < 0:
            raise _os_error()

    def _accept(self, flags=_std.SOCK_CLOEXEC):
        """Waits for a connection; returns (descriptor, address), as socket's _accept."""
        raw = (_c_char * _SOCKADDR_MAX)()
        size = _socklen_t(_SOCKADDR_MAX)
        args = (raw, _byref(size), flags)
        mark = _failures_read[0]
        fd = lib.prise_accept4(self._fd, *args)
        if fd < 0:
            fd = self._again(lib.prise_accept4, args, False, mark)
        return fd, from_sockaddr(raw[:min(size.value, _SOCKADDR_MAX)])

    def accept(self):
        """Waits for a connection; returns (Socket, address). The new socket has the
        default timeout (getdefaulttimeout()), nothing inherited from the listener."""
        timeout = _std.getdefaulttimeout()
        nonblock = 0 if timeout is None else _std.SOCK_NONBLOCK
        fd, address = self._accept(_std.SOCK_CLOEXEC | nonblock)
        return Socket._wrap(fd, self._family, self._type, self._proto, timeout), address

    def connect(self, address, /):
        """Connects to address; with a timeout, within it (TimeoutError)."""
        raw = self._sockaddr(address, "connect")
        mark = _failures_read[0]
        if lib.prise_connect(self._fd, raw, len(raw)) < 0:
            self._connecting(raw, mark)

    def connect_ex(self, address, /):
        """As connect, but returns the errno of a failure (0 on success) instead of
        raising it; a timeout is EAGAIN, as socket gives."""
        raw = self._sockaddr(address, "connect_ex")
        mark = _failures_read[0]
        if lib.prise_connect(self._fd, raw, len(raw)) == 0:
            return 0
        try:
            self._connecting(raw, mark)
        except _timeout_error:
            return _EAGAIN
        except OSError as error:
            if error.errno is None:
                raise
            return error.errno
        return 0

    def _connecting(self, raw, mark):
        """The rest of a connect that did not complete at once (mark: _failures_read[0]
        before it). A blocking connect interrupted by a signal goes on in the kernel
        (PEP 475), as does one in progress on a socket with a timeout: both are waited
        for, then a second connect gives the outcome (0 or EISCONN: connected;
        otherwise the reason, in prise's words)."""
        deadline, timeout = None, self._timeout
        code = _errno_since(mark)
        while True:
            if code == _EINTR and timeout is None:
                self._wait(True, None, None)
            elif code in (_EINPROGRESS, _errno.EALREADY, _EINTR) and timeout:
                if deadline is None:
                    deadline = _monotonic() + timeout
                self._wait(True, deadline, timeout)
            else:
                raise _os_error(code)
            mark = _failures_read[0]
            if lib.prise_connect(self._fd, raw, len(raw)) == 0:
                return
            code = _errno_since(mark)
            if code == _errno.EISCONN:
                return

    def shutdown(self, how, /):
        """Shuts down reading (SHUT_RD), writing (SHUT_WR) or both (SHUT_RDWR)."""
        if lib.prise_shutdown(self._fd, _c_int(how, "how")) < 0:
            raise _os_error()

    def _name(self, function):
        raw = (_c_char * _SOCKADDR_MAX)()
        size = _socklen_t(_SOCKADDR_MAX)
        if function(self._fd, raw, _byref(size)) < 0:
            raise _os_error()
        return from_sockaddr(raw[:min(size.value, _SOCKADDR_MAX)])

    def getsockname(self):
        """The local address."""
        return self._name(lib.prise_getsockname)

    def getpeername(self):
        """The peer's address (OSError ENOTCONN when not connected)."""
        return self._name(lib.prise_getpeername)

    def local_address(self):
        """prise's extra: the local address as text ("127.0.0.1:80", "[::1]:80",
        "unix:/path"), for "listening on ..." lines (prise_local_address)."""
        return text_from(lib.prise_local_address, self._fd)

    def peer_address(self):
        """prise's extra: the peer's address as text (prise_peer_address)."""
        return text_from(lib.prise_peer_address, self._fd)

    # -- options --

    def setsockopt(self, level, optname, value, optlen=None, /):
        """setsockopt(level, optname, int or bytes-like), or
        setsockopt(level, optname, None, optlen) for options that take a length only."""
        level, optname = _c_int(level, "level"), _c_int(optname, "optname")
        if value is None:
            if optlen is None:
                raise TypeError("setsockopt() takes an optlen with a None value")
            # socket reads optlen as an unsigned int, wrapping; the kernel judges it.
            pointer, size = None, _index(optlen) & 0xFFFFFFFF
        elif optlen is not None:
            raise TypeError("setsockopt() takes an optlen only with a None value")
        elif isinstance(value, int) or hasattr(type(value), "__index__"):
            pointer = self._int_option(_index(value))
            size = len(pointer)
        else:
            pointer, size = _readable(value)
        if lib.prise_setsockopt(self._fd, level, optname, pointer, size) < 0:
            raise _os_error()

    def getsockopt(self, level, optname, buflen=0, /):
        """An int, or bytes of at most buflen (1-1024) when buflen is given."""
        level, optname = _c_int(level, "level"), _c_int(optname, "optname")
        buflen = _c_int(buflen, "buflen")
        if buflen and not 0 < buflen <= 1024:
            raise OSError("getsockopt buflen out of range")
        room = buflen or struct.calcsize(self._int_format())
        buffer = (_c_char * room)()
        size = _socklen_t(room)
        if lib.prise_getsockopt(self._fd, level, optname, buffer, _byref(size)) < 0:
            raise _os_error()
        if buflen:
            return buffer[:size.value]
        return struct.unpack(self._int_format(), buffer[:room])[0]

    def _int_format(self):
        # AF_VSOCK's options are 64-bit; every other integer option is a C int.
        return "Q" if self._family == _VSOCK else "i"

    def _int_option(self, value):
        try:
            return struct.pack(self._int_format(), value)
        except struct.error:  # socket says TypeError here too (it then wants bytes)
            raise TypeError("setsockopt value %d does not fit the option's integer" % value) from None

    # -- prise's own --

    def read_line(self, limit=65536):
        """One line up to and including b"\\n" (or limit bytes, or what came before end
        of file); never reads past the newline, so recv can follow. With a timeout, the
        line must fit the socket's receive queue (it is taken whole or not at all)."""
        limit = _index(limit)
        if limit < 1:
            raise ValueError("limit must be at least 1")
        data = bytes(limit + 1)  # received into in place (with the NUL): see _received
        args = (data, _length(limit + 1))
        timeout = self._timeout
        if timeout != 0.0:
            self._wait_for_line(limit, timeout)
        mark = _failures_read[0]
        n = lib.prise_read_line(self._fd, *args)
        if n < 0:
            n = self._again(lib.prise_read_line, args, False, mark)
        return _received(data, n)

    def _wait_for_line(self, limit, timeout):
        """Waits, here where a signal's handler runs (and may raise) with nothing
        consumed, until prise_read_line can answer at once: a whole line or limit bytes
        queued, a datagram, the end of the stream, or a failure for it to report. The C
        helper would wait itself, retrying EINTR with the handler's exception pending,
        and a blocking socket's partial line taken. Woken only by new arrivals
        (edge-triggered), not again and again by a part that waits."""
        peek = bytes(limit)  # received into in place: see _received
        whole_datagrams = self._type != _std.SOCK_STREAM
        deadline = None if timeout is None else _monotonic() + timeout
        watcher = None
        try:
            while True:
                mark = _failures_read[0]
                n = _recv(self._fd, peek, _length(limit), _PEEK_NOW)
                if n < 0:
                    if _errno_since(mark) not in (_EAGAIN, _EINTR):
                        return
                elif whole_datagrams or n in (0, limit) or peek.find(b"\n", 0, n) >= 0:
                    return
                elif timeout is None and n >= _LINE_HANDOVER:
                    # A long line may never fit the receive queue: the blocking C helper
                    # takes it as it comes (a signal then waits for the line's end).
                    return
                if watcher is None:
                    # Reports readiness at once if data came before it: peeked again.
                    watcher = select.epoll()
                    watcher.register(self._fd, _LINE_EVENTS)
                if self._until(watcher.poll, deadline, timeout)[0][1] & _ENDED:
                    return
        finally:
            if watcher is not None:
                watcher.close()

    def send_fd(self, fd):
        """Sends a descriptor (an int or an object with fileno()) over a Unix stream
        socket (SCM_RIGHTS); the receiver gets its own copy."""
        if not isinstance(fd, int):
            if not hasattr(fd, "fileno"):
                raise TypeError("send_fd takes a descriptor (int) or an object with fileno(), "
                                "not %s" % type(fd).__name__)
            fd = fd.fileno()
        if lib.prise_send_fd(self._fd, _c_int(fd, "fd")) < 0:
            raise _os_error()

    def recv_fd(self):
        """Receives a descriptor sent with send_fd; returns it (close-on-exec, owned by
        the caller)."""
        if self._timeout is None and self._family == _std.AF_UNIX:
            # (Other families it refuses at once.) The C helper would wait itself, retrying EINTR with the signal's handler
            # (which may raise) put off until a descriptor has been received.
            self._wait(False, None, None)
        mark = _failures_read[0]
        fd = lib.prise_recv_fd(self._fd)
        if fd < 0:
            fd = self._again(lib.prise_recv_fd, (), False, mark)
        return fd

    def peer_cred(self):
        """(pid, uid, gid) of the process at the other end of a Unix socket."""
        pid, uid, gid = _lib.pid_t(), _lib.uid_t(), _lib.gid_t()
        if lib.prise_peer_cred(self._fd, _byref(pid), _byref(uid), _byref(gid)) < 0:
            raise _os_error()
        return pid.value, uid.value, gid.value

    def set_nodelay(self, on=True):
        """TCP_NODELAY: small writes leave at once (no Nagle wait); for request-reply."""
        if lib.prise_set_nodelay(self._fd, int(bool(on))) < 0:
            raise _os_error()

    def set_keepalive(self, idle, interval=0, count=0):
        """TCP keepalive: a probe after idle seconds of silence, then every interval
        seconds; the connection fails after count unanswered probes. idle 0: off;
        interval or count 0: the system's value."""
        args = (_c_int(idle, "idle"), _c_int(interval, "interval"), _c_int(count, "count"))
        if lib.prise_set_keepalive(self._fd, *args) < 0:
            raise _os_error()

    def set_reuseport(self, on=True):
        """SO_REUSEPORT (before bind): sockets that all set it share one address."""
        if lib.prise_set_reuseport(self._fd, int(bool(on))) < 0:
            raise _os_error()

    def set_v6only(self, on=True):
        """IPV6_V6ONLY (IPv6 socket, before bind): IPv6 only, or IPv4 too when off."""
        if lib.prise_set_v6only(self._fd, int(bool(on))) < 0:
            raise _os_error()


Socket.__module__ = "prise"


def _detect(fd, given, option):
    """family/type/proto of an adopted descriptor: as given, or asked of the kernel."""
    if given != -1:
        return _c_int(given, "family, type or proto")
    value = ctypes.c_int(0)
    size = _socklen_t(4)
    if lib.prise_getsockopt(fd, _std.SOL_SOCKET, option, _byref(value), _byref(size)) < 0:
        raise _os_error()
    return value.value


def _resolve(host, port, family):
    """The first numeric address of host for family, via prise's getaddrinfo."""
    from . import getaddrinfo
    return getaddrinfo(host, port, family, _std.SOCK_STREAM)[0][4]


def _with_prise(function):
    """socket's module-level function, run with prise's Socket (and resolver) wherever
    it makes a socket: the same code, the same semantics, prise's system calls."""
    from . import getaddrinfo
    namespace = dict(vars(_std), socket=Socket, getaddrinfo=getaddrinfo)
    clone = types.FunctionType(function.__code__, namespace, function.__name__,
                               function.__defaults__, function.__closure__)
    clone.__kwdefaults__ = function.__kwdefaults__
    clone.__doc__ = function.__doc__
    clone.__module__ = "prise"
    return clone
