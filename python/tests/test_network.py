"""The helpers for real networks from Python: socket options as methods, serve_events
(the event-driven server model) and socket activation, over loopback."""

import errno
import os
import socket
import subprocess
import sys
import threading

import pytest

import prise
from conftest import REPO


def test_options_read_back():
    with prise.Socket(prise.AF_INET6, prise.SOCK_STREAM) as sock:
        sock.set_nodelay()
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        sock.set_nodelay(False)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 0
        sock.set_keepalive(60, 10, 6)
        assert sock.getsockopt(prise.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 60
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 10
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 6
        sock.set_keepalive(0)
        assert sock.getsockopt(prise.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
        sock.set_reuseport()
        assert sock.getsockopt(prise.SOL_SOCKET, socket.SO_REUSEPORT) == 1
        sock.set_v6only()
        assert sock.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
        with pytest.raises(OSError) as raised:
            sock.set_keepalive(-1)
        assert raised.value.errno == errno.EINVAL


def test_options_refused_say_why():
    with prise.tcp_listen("::1", 0) as bound:
        with pytest.raises(OSError) as raised:
            bound.set_v6only()
        assert raised.value.errno == errno.EINVAL and "before bind" in raised.value.strerror
    with prise.unix_listen("@prise-py-options-%d" % os.getpid()) as unix:
        with pytest.raises(OSError) as raised:
            unix.set_nodelay()
        assert "TCP_NODELAY" in raised.value.strerror
    closed = prise.Socket()
    closed.close()
    with pytest.raises(OSError):
        closed.set_nodelay()


class Server:
    """serve_events in a thread, stopped by shutting the listening socket down."""

    def __init__(self, on_data, **options):
        self.listener = prise.tcp_listen("127.0.0.1", 0)
        self.port = self.listener.getsockname()[1]
        self.closed = []
        self.error = None
        on_close = options.pop("on_close", lambda conn, reason: self.closed.append(reason))

        def run():
            try:
                prise.serve_events(self.listener, on_data, on_close, **options)
            except BaseException as error:  # noqa: B902 - checked by the tests
                self.error = error

        self.thread = threading.Thread(target=run)
        self.thread.start()

    def client(self):
        sock = prise.tcp_connect("127.0.0.1", self.port, timeout=5)
        sock.settimeout(5)
        return sock

    def stop(self):
        self.listener.shutdown(prise.SHUT_RDWR)
        self.thread.join(10)
        assert not self.thread.is_alive()
        self.listener.close()


def read_exactly(sock, count):
    data = b""
    while len(data) < count:
        piece = sock.recv(count - len(data))
        if not piece:
            break
        data += piece
    return data


def test_serve_events_echoes_many_clients():
    server = Server(lambda conn, data: conn.send(data))
    clients = [server.client() for _ in range(30)]
    for index, sock in enumerate(clients):
        payload = bytes([index]) * 5000
        sock.sendall(payload)
        assert read_exactly(sock, len(payload)) == payload
    for sock in clients:
        sock.close()
    server.stop()
    assert server.error is None
    # Each ended by its client (0), or by the stop if that came first (ECANCELED).
    assert len(server.closed) == 30 and set(server.closed) <= {0, errno.ECANCELED}


def test_serve_events_keeps_what_on_data_did_not_use():
    def lines(conn, data):
        used = data.rfind(b"\n") + 1
        for line in data[:used].splitlines():
            conn.send(b"%d\n" % len(line))
        return used

    server = Server(lines, idle_timeout=30)
    with server.client() as sock:
        for piece in (b"hel", b"lo\nwor", b"ld\n"):
            sock.sendall(piece)
        assert read_exactly(sock, 4) == b"5\n5\n"
    server.stop()
    assert server.error is None


def test_serve_events_greets_and_closes_idle_clients():
    def greet(conn):
        conn.greeted = True  # per-client state lives on the Connection
        conn.send(b"hello\n")

    server = Server(lambda conn, data: None, on_open=greet, idle_timeout=0.2)
    with server.client() as sock:
        assert read_exactly(sock, 6) == b"hello\n"
        assert sock.recv(1) == b""  # closed for idleness
    server.stop()
    assert server.closed == [errno.ETIMEDOUT]


def test_an_exception_in_a_callback_stops_the_server_and_is_raised():
    def broken(conn, data):
        raise RuntimeError("broken on_data")

    server = Server(broken)
    with server.client() as sock:
        sock.sendall(b"x")
        assert sock.recv(1) == b""
    server.thread.join(10)
    assert isinstance(server.error, RuntimeError)
    server.listener.close()


def test_serve_events_refuses_bad_arguments():
    with prise.tcp_listen("127.0.0.1", 0) as listener:
        with pytest.raises(ValueError):
            prise.serve_events(listener, lambda conn, data: None, idle_timeout=-1)
        with pytest.raises(OSError) as raised:
            prise.serve_events(listener, lambda conn, data: None, max_connections=-1)
        assert raised.value.errno == errno.EINVAL
    with prise.Socket() as unbound:
        with pytest.raises(OSError) as raised:
            prise.serve_events(unbound, lambda conn, data: None)
        assert raised.value.errno == errno.EINVAL


ACTIVATED = """
import os, sys
sys.path.insert(0, sys.argv[1])
import prise
port = int(sys.argv[2])
assert prise.listen_fds() == 1, prise.last_error()
server = prise.tcp_listen("127.0.0.1", port)
assert server.fileno() == 3, server.fileno()
conn, _ = server.accept()
conn.sendall(conn.recv(4))
"""


def test_socket_activation_hands_over_the_managers_socket():
    # This test plays the manager: a listening socket at descriptor 3, LISTEN_* set for
    # the program it starts (the shell's pid is the program's once it execs).
    with prise.tcp_listen("127.0.0.1", 0) as listener:
        port = listener.getsockname()[1]
        command = ['sh', '-c', 'LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" -c "$1" "$2" "$3"',
                   sys.executable, ACTIVATED, os.path.join(REPO, "python"), str(port)]
        child = subprocess.Popen(command, close_fds=False,
                                 preexec_fn=lambda: os.dup2(listener.fileno(), 3))
        try:
            with prise.tcp_connect("127.0.0.1", port, timeout=5) as sock:
                sock.settimeout(10)
                sock.sendall(b"ping")
                assert read_exactly(sock, 4) == b"ping"
            assert child.wait(20) == 0
        finally:
            child.kill()
            child.wait(10)
    assert prise.listen_fds() == 0  # this process was given none
    with pytest.raises(OSError) as raised:
        prise.listen_fd_named("web")
    assert raised.value.errno == errno.ENOENT
    with pytest.raises(TypeError):
        prise.listen_fd_named(None)
