"""The bad-input matrix from Python: one row per case, each a documented error, never a
crash of the interpreter. Adding a case is one line."""

import errno
import socket

import pytest

import prise

LONG = "a" * 4096
UNIX_107 = "/tmp/" + "p" * 102
UNIX_108 = "/tmp/" + "p" * 103
UNIX_300 = "/tmp/" + "p" * 295

# (description, call, expected exception, expected errno or None)
MATRIX = [
    ("None host", lambda: prise.tcp_connect(None, 80), TypeError, None),
    ("None port", lambda: prise.tcp_connect("127.0.0.1", None), TypeError, None),
    ("empty host", lambda: prise.tcp_connect("", 80), socket.gaierror, None),
    ("4 KiB host", lambda: prise.tcp_connect(LONG, 80), OSError, None),
    ("empty port", lambda: prise.tcp_connect("127.0.0.1", ""), ValueError, None),
    ("port -1", lambda: prise.tcp_listen(None, -1), ValueError, None),
    ("port 65536", lambda: prise.tcp_listen(None, 65536), ValueError, None),
    ("port '65536'", lambda: prise.tcp_listen(None, "65536"), socket.gaierror, None),
    ("port '-1'", lambda: prise.udp_bind(None, "-1"), socket.gaierror, None),
    ("port '99999999'", lambda: prise.udp_bind(None, "99999999"), socket.gaierror, None),
    ("unknown service 'abc'", lambda: prise.udp_bind(None, "abc"), socket.gaierror, None),
    ("unknown host", lambda: prise.udp_connect("nosuchhost.invalid", 9), socket.gaierror, None),
    ("half-bracketed IPv6", lambda: prise.getaddrinfo("[::1", 80), socket.gaierror, None),
    ("IPv6 with a port inside", lambda: prise.getaddrinfo("[::1]:80", 80), socket.gaierror, None),
    ("4 KiB service", lambda: prise.getaddrinfo("127.0.0.1", LONG), socket.gaierror, None),
    ("unix path 108", lambda: prise.unix_listen(UNIX_108), OSError, errno.ENAMETOOLONG),
    ("unix path 300", lambda: prise.unix_connect(UNIX_300), OSError, errno.ENAMETOOLONG),
    ("unix path 107, nobody there", lambda: prise.unix_connect(UNIX_107), FileNotFoundError, None),
    ("empty unix path", lambda: prise.unix_listen(""), ValueError, None),
    ("unix type 12345", lambda: prise.unix_listen("@prise-bad-type", 12345), OSError, errno.EINVAL),
    ("descriptor -1", lambda: prise.reads(-1, 10), OSError, errno.EBADF),
    ("negative count", lambda: prise.reads(0, -1), ValueError, None),
    ("writes to -1", lambda: prise.writes(-1, b"x"), OSError, errno.EBADF),
    ("str to writes", lambda: prise.writes(1, "text"), TypeError, None),
    ("fileno -1", lambda: prise.Socket(fileno=-1), ValueError, None),
    ("fileno of a closed descriptor", lambda: prise.Socket(fileno=987654), OSError, errno.EBADF),
    ("getNameInfo of a name", lambda: prise.getNameInfo(("nosuchhost.invalid", 1)), socket.gaierror, None),
    ("creerSock unknown host", lambda: prise.creerSock("nosuchhost.invalid", 1), socket.gaierror, None),
    ("bindedSocket port 70000", lambda: prise.bindedSocket(None, 70000), ValueError, None),
    ("getnameinfo of a str", lambda: prise.getnameinfo("127.0.0.1"), TypeError, None),
]


@pytest.mark.parametrize("description,call,exception,code", MATRIX, ids=[row[0] for row in MATRIX])
def test_bad_input(description, call, exception, code):
    with pytest.raises(exception) as raised:
        call()
    if code is not None:
        assert raised.value.errno == code, description
    if isinstance(raised.value, OSError) and raised.value.errno is not None:
        assert str(raised.value), description  # a sentence, not just a number


def test_not_a_socket_pipe_and_file(tmp_path):
    import os
    r, w = os.pipe()
    try:
        with pytest.raises(OSError) as raised:
            prise.Socket(fileno=r)
        assert raised.value.errno == errno.ENOTSOCK
    finally:
        os.close(r)
        os.close(w)
    with open(tmp_path / "f", "w") as handle:
        with pytest.raises(OSError) as raised:
            prise.Socket(fileno=handle.fileno())
        assert raised.value.errno == errno.ENOTSOCK


def test_zero_size_buffers():
    a, b = socket.socketpair()
    with prise.Socket(fileno=a.detach()) as pa, prise.Socket(fileno=b.detach()) as pb:
        assert pa.send(b"") == 0
        pa.sendall(b"")
        pa.sendall(b"x")
        # Zero-size receives return at once and take nothing.
        pb.settimeout(5)
        assert pb.recv(0) == b""
        assert pb.recv_into(bytearray(0)) == 0
        assert pb.recv(1) == b"x"
