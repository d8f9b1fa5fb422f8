"""Every failure is the right Python exception with prise's sentence; argument mistakes
never reach C."""

import errno
import os
import socket

import pytest

import prise


def closed_port():
    with prise.tcp_listen("127.0.0.1", 0) as server:
        return server.getsockname()[1]


def test_refused_connection():
    port = closed_port()
    with pytest.raises(ConnectionRefusedError) as raised:
        prise.tcp_connect("127.0.0.1", port)
    assert "127.0.0.1:%d" % port in str(raised.value)
    with prise.Socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect(("127.0.0.1", port))
    with pytest.raises(ConnectionRefusedError):  # the path with a timeout too
        prise.tcp_connect("127.0.0.1", port, timeout=5)


def test_unknown_host_is_gaierror_naming_it():
    with pytest.raises(socket.gaierror) as raised:
        prise.tcp_connect("nosuchhost.invalid", 80)
    assert "nosuchhost.invalid" in str(raised.value)
    with pytest.raises(socket.gaierror):
        prise.getaddrinfo("nosuchhost.invalid", 80)
    with pytest.raises(socket.gaierror):
        prise.gethostbyname("nosuchhost.invalid")
    with pytest.raises(socket.gaierror) as raised:
        prise.getaddrinfo("127.0.0.1", "nosuchservice")
    assert raised.value.errno == socket.EAI_SERVICE


def test_missing_unix_server_and_long_paths(tmp_path):
    with pytest.raises(FileNotFoundError):
        prise.unix_connect(str(tmp_path / "nobody.sock"))
    with pytest.raises(OSError) as raised:
        prise.unix_listen("/tmp/" + "x" * 300)
    assert raised.value.errno == errno.ENAMETOOLONG


def test_live_unix_server_is_not_replaced(tmp_path):
    path = str(tmp_path / "live.sock")
    with prise.unix_listen(path):
        with pytest.raises(OSError) as raised:
            prise.unix_listen(path)
        assert raised.value.errno == errno.EADDRINUSE


def test_closed_socket_and_bad_descriptors():
    sock = prise.Socket()
    sock.close()
    sock.close()  # twice is harmless
    with pytest.raises(OSError) as raised:
        sock.send(b"x")
    assert raised.value.errno == errno.EBADF
    with pytest.raises(OSError) as raised:
        prise.reads(-1, 1)
    assert raised.value.errno == errno.EBADF
    r, w = os.pipe()
    os.close(r)
    with pytest.raises(BrokenPipeError):
        prise.writes(w, b"nobody reads")  # EPIPE, and the interpreter lives
    os.close(w)


def test_argument_mistakes_are_caught_before_c():
    with pytest.raises(TypeError):
        prise.tcp_connect(None, 80)
    with pytest.raises(ValueError):
        prise.tcp_connect("127.0.0.1", 65536)
    with pytest.raises(ValueError):
        prise.tcp_listen(None, -1)
    with pytest.raises(TypeError):
        prise.udp_bind(None, 1.5)
    with pytest.raises(ValueError):
        prise.tcp_connect("127.0.0.1", "")
    with pytest.raises(TypeError):
        prise.unix_listen(None)
    with pytest.raises(ValueError):
        prise.unix_listen("")
    with prise.Socket() as sock:
        with pytest.raises(TypeError):
            sock.connect("127.0.0.1")
        with pytest.raises(TypeError):
            sock.sendall("text, not bytes")
        with pytest.raises(ValueError):
            sock.recv(-1)
        with pytest.raises(OverflowError):  # as socket.socket raises it
            sock.bind(("127.0.0.1", 70000))
    with pytest.raises(ValueError):
        prise.Socket(fileno=-1)


def test_course_api_errors():
    with pytest.raises(socket.gaierror):
        prise.creerSock("nosuchhost.invalid", 80)
    with pytest.raises(ValueError):
        prise.creerSock("127.0.0.1", 99999)
    with pytest.raises(socket.gaierror):
        prise.getNameInfo(("nosuchhost.invalid", 1))
