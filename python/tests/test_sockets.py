"""prise.Socket and the helpers over loopback: TCP, UDP and Unix; IPv4 and IPv6."""

import array
import errno
import os
import socket
import subprocess
import threading

import pytest

import prise


@pytest.mark.parametrize("family,host", [(prise.AF_INET, "127.0.0.1"), (prise.AF_INET6, "::1")])
def test_tcp_primitives(family, host):
    with prise.Socket(family, prise.SOCK_STREAM) as server:
        server.setsockopt(prise.SOL_SOCKET, prise.SO_REUSEADDR, 1)
        assert server.getsockopt(prise.SOL_SOCKET, prise.SO_REUSEADDR) == 1
        server.bind((host, 0))
        server.listen()
        address = server.getsockname()
        assert address[0] == host and address[1] > 0
        with prise.Socket(family, prise.SOCK_STREAM) as client:
            client.connect(address)
            conn, peer = server.accept()
            with conn:
                assert peer == client.getsockname()
                assert client.getpeername() == address
                assert client.send(b"ping") == 4
                assert conn.recv(4) == b"ping"
                payload = os.urandom(1 << 20)
                sender = threading.Thread(target=conn.sendall, args=(memoryview(payload),))
                sender.start()
                received = bytearray(len(payload))
                view, got = memoryview(received), 0
                while got < len(payload):
                    n = client.recv_into(view[got:])
                    assert n > 0
                    got += n
                sender.join(10)
                assert bytes(received) == payload
                conn.shutdown(prise.SHUT_WR)
                assert client.recv(10) == b""


def test_recv_into_accepts_bytearray_memoryview_and_array():
    a, b = socket.socketpair()
    with prise.Socket(fileno=a.detach()) as pa, prise.Socket(fileno=b.detach()) as pb:
        pa.sendall(b"abcdef")
        buf = bytearray(3)
        assert pb.recv_into(buf) == 3 and buf == b"abc"
        view = memoryview(bytearray(8))
        assert pb.recv_into(view[2:], 3) == 3 and bytes(view[2:5]) == b"def"
        pa.sendall(array.array("B", [1, 2]))
        arr = array.array("B", [0, 0])
        assert pb.recv_into(arr) == 2 and list(arr) == [1, 2]
        with pytest.raises(TypeError):
            pb.recv_into(b"read-only")
        with pytest.raises(ValueError):
            pb.recv_into(bytearray(2), 5)


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_udp(host):
    with prise.udp_bind(host, 0) as server, prise.udp_connect(host, server.getsockname()[1]) as client:
        client.send(b"datagram")
        data, sender = server.recvfrom(100)
        assert data == b"datagram" and sender == client.getsockname()
        server.sendto(b"reply", sender)
        assert client.recv(100) == b"reply"


def test_dual_stack_listener_accepts_ipv4_and_ipv6():
    with prise.tcp_listen(None, 0) as server:
        port = server.getsockname()[1]
        assert server.family == prise.AF_INET6
        for host in ("127.0.0.1", "::1", "localhost"):
            with prise.tcp_connect(host, port, timeout=5) as client:
                conn, _ = server.accept()
                with conn:
                    client.sendall(b"x")
                    assert conn.recv(1) == b"x"


def test_unix_stream_datagram_and_abstract(tmp_path):
    path = str(tmp_path / "s.sock")
    with prise.unix_listen(path) as server, prise.unix_connect(path) as client:
        conn, _ = server.accept()
        with conn:
            client.sendall(b"unix")
            assert conn.recv(4) == b"unix"
        assert server.getsockname() == path
    dgram_path = str(tmp_path / "d.sock")
    with prise.unix_listen(dgram_path, prise.SOCK_DGRAM) as server:
        with prise.unix_connect(dgram_path, prise.SOCK_DGRAM) as client:
            client.send(b"ask")
            data, sender = server.recvfrom(10)
            assert data == b"ask" and isinstance(sender, bytes) and sender.startswith(b"\0")
            server.sendto(b"answer", sender)
            assert client.recv(10) == b"answer"
    name = "@prise-py-%d" % os.getpid()
    with prise.unix_listen(name) as server, prise.unix_connect("\0" + name[1:]) as client:
        conn, _ = server.accept()
        conn.close()
        assert server.getsockname() == b"\0" + name[1:].encode()


def test_socket_module_interoperates_both_ways():
    with prise.tcp_listen("127.0.0.1", 0) as server:
        port = server.getsockname()[1]
        plain = socket.create_connection(("127.0.0.1", port))
        ours = prise.Socket(fileno=plain.detach())  # socket -> prise
        assert ours.family == prise.AF_INET and ours.type == prise.SOCK_STREAM
        conn, _ = server.accept()
        theirs = socket.socket(fileno=conn.detach())  # prise -> socket
        ours.sendall(b"both ways")
        assert theirs.recv(9) == b"both ways"
        theirs.sendall(b"back")
        assert ours.recv(4) == b"back"
        theirs.close()
        ours.close()
        assert ours.fileno() == -1


def test_resolution():
    entries = prise.getaddrinfo("localhost", 80, type=prise.SOCK_STREAM)
    expected = socket.getaddrinfo("localhost", 80, type=socket.SOCK_STREAM)
    assert [e[4] for e in entries] == [e[4] for e in expected]
    assert entries[0][0] in (socket.AF_INET, socket.AF_INET6)
    assert prise.getaddrinfo("::1", "http")[0][4][:2] == ("::1", 80)
    assert prise.getaddrinfo("[::1]", 80)[0][4][0] == "::1"
    assert prise.gethostbyname("localhost") == "127.0.0.1"
    assert prise.getnameinfo(("127.0.0.1", 80), socket.NI_NUMERICHOST | socket.NI_NUMERICSERV) == ("127.0.0.1", "80")


def test_course_api():
    fd = prise.bindedSocket("127.0.0.1", 0, prise.SOCK_STREAM)
    with prise.Socket(fileno=fd) as server:
        server.listen()
        port = server.getsockname()[1]
        with pytest.raises(OSError) as raised:
            prise.bindedSocket("127.0.0.1", port, prise.SOCK_STREAM)
        assert raised.value.errno == errno.EADDRINUSE
        client_fd, address = prise.creerSock("127.0.0.1", port, prise.SOCK_STREAM)
        assert address == ("127.0.0.1", port)
        assert prise.getNameInfo(address) == "ADDRESS 127.0.0.1:%d" % port
        with prise.Socket(fileno=client_fd) as client:
            client.connect(address)
            conn, _ = server.accept()
            with conn:
                assert prise.writes(client.fileno(), b"course") == 6
                assert prise.reads(conn.fileno(), 6) == b"course"
                client.shutdown(prise.SHUT_WR)
                assert prise.reads(conn.fileno(), 10) == b""


def test_timeouts_raise_timeout_error():
    a, b = socket.socketpair()
    with prise.Socket(fileno=a.detach()) as pa:
        pa.settimeout(0.1)
        assert pa.gettimeout() == 0.1
        with pytest.raises(socket.timeout):
            pa.recv(1)
        pa.settimeout(None)
    b.close()


def test_sockets_are_not_inherited_across_exec(tmp_path):
    """As with Python's socket module (PEP 446): nothing prise makes leaks into a child
    program; an adopted descriptor keeps what its owner chose."""
    listener = prise.tcp_listen("127.0.0.1", 0)
    port = listener.getsockname()[1]
    made = [
        listener,
        prise.tcp_connect("127.0.0.1", port, timeout=5),
        prise.udp_bind("127.0.0.1", 0),
        prise.unix_listen(str(tmp_path / "s")),
        prise.Socket(prise.AF_INET, prise.SOCK_STREAM),
        prise.Socket(prise.AF_INET6, prise.SOCK_DGRAM),
    ]
    conn, _ = listener.accept()
    made.append(conn)
    fd, _ = prise.creerSock("127.0.0.1", 0)
    try:
        for sock in made:
            assert not os.get_inheritable(sock.fileno()), sock
            assert sock.type in (prise.SOCK_STREAM, prise.SOCK_DGRAM), sock
        assert not os.get_inheritable(fd)
        script = "test ! -e /proc/self/fd/%d" % listener.fileno()
        assert subprocess.run(["/bin/sh", "-c", script], close_fds=False, timeout=30).returncode == 0
    finally:
        for sock in made:
            sock.close()
        os.close(fd)
    a, b = socket.socketpair()
    os.set_inheritable(a.fileno(), True)
    with prise.Socket(fileno=a.detach()) as adopted:
        assert os.get_inheritable(adopted.fileno())
    b.close()
