"""The helpers for real networks from Python: socket options as methods, serve_events
(the event-driven server model) and socket activation, over loopback."""

import errno
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time

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


def test_a_connection_kept_after_on_close_is_closed():
    # A Connection kept past its on_close named freed memory: a later send went to
    # whichever client took the address. Now it raises EBADF, as a closed socket.
    kept = []

    def on_close(conn, reason):
        kept.append(conn)

    server = Server(lambda conn, data: conn.send(data), on_close=on_close)
    with server.client() as first:
        first.sendall(b"a")
        assert read_exactly(first, 1) == b"a"
    with server.client() as second:
        second.sendall(b"b")
        assert read_exactly(second, 1) == b"b"
        for _ in range(500):
            if kept:
                break
            threading.Event().wait(0.01)
        with pytest.raises(OSError) as raised:
            kept[0].send(b"for the first client only")
        assert raised.value.errno == errno.EBADF
        with pytest.raises(OSError):
            kept[0].fileno()
        second.settimeout(0.2)
        with pytest.raises(TimeoutError):
            second.recv(100)
    server.stop()
    assert server.error is None


def test_a_connection_kept_after_serve_events_returned_is_closed():
    kept = []

    def keep(conn, data):
        kept.append(conn)
        conn.send(data)

    server = Server(keep, on_close=lambda conn, reason: None)
    with server.client() as sock:
        sock.sendall(b"x")
        assert read_exactly(sock, 1) == b"x"
        server.stop()
    with pytest.raises(OSError) as raised:
        kept[0].close()
    assert raised.value.errno == errno.EBADF


def test_after_an_exception_every_client_gets_on_close():
    closed = []

    def on_data(conn, data):
        if data == b"boom":
            raise RuntimeError("broken on_data")
        conn.send(data)

    server = Server(on_data, on_close=lambda conn, reason: closed.append(reason))
    others = [server.client() for _ in range(3)]
    for sock in others:
        sock.sendall(b"up")
        assert read_exactly(sock, 2) == b"up"
    with server.client() as breaker:
        breaker.sendall(b"boom")
        server.thread.join(10)
    assert isinstance(server.error, RuntimeError)
    assert len(closed) == 4 and closed.count(errno.ECANCELED) == 3
    for sock in others:
        assert sock.recv(1) == b""
        sock.close()
    server.listener.close()


@pytest.mark.parametrize("result, exception", [("abc", TypeError), (3.5, TypeError),
                                               (2**70, ValueError), (-2, ValueError),
                                               (True, TypeError)])
def test_on_data_returning_a_bad_count_stops_the_server_and_raises(result, exception):
    server = Server(lambda conn, data: result)
    with server.client() as sock:
        sock.sendall(b"xy")
        assert sock.recv(1) == b""
    server.thread.join(10)
    assert isinstance(server.error, exception), server.error
    server.listener.close()


def silent_ipv6_port():
    """A ::1 listener whose backlog is full, so that it drops further SYNs: a connect
    there waits. Returns (port, sockets to close), or None where loopback answers."""
    for _ in range(20):
        listener = socket.socket(socket.AF_INET6)
        listener.bind(("::1", 0))
        listener.listen(0)
        filler = socket.create_connection(listener.getsockname()[:2], timeout=5)
        probe = socket.socket(socket.AF_INET6)
        probe.setblocking(False)
        probe.connect_ex(listener.getsockname()[:2])
        silent = not select.select([], [probe], [], 0.3)[1]
        probe.close()
        if silent:
            return listener.getsockname()[1], [listener, filler]
        listener.close()
        filler.close()
    return None


@pytest.fixture
def silent_port():
    """The port of a silent ::1 listener (see silent_ipv6_port); skips where there is none."""
    ground = silent_ipv6_port()
    if ground is None:
        pytest.skip("this kernel answers a full backlog")
    port, held = ground
    yield port
    for sock in held:
        sock.close()


@pytest.fixture
def alarm():
    """arm(handler): SIGALRM's handler, fired in 0.2 s; both undone after the test."""
    previous = signal.getsignal(signal.SIGALRM)

    def arm(handler):
        signal.signal(signal.SIGALRM, handler)
        signal.setitimer(signal.ITIMER_REAL, 0.2)

    yield arm
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


def test_tcp_connect_lets_a_signal_handler_interrupt_it(silent_port, alarm):
    class Interrupted(Exception):
        pass

    calls = []

    def raising(signo, frame):
        raise Interrupted()

    def returning(signo, frame):
        calls.append(signo)

    alarm(raising)
    start = time.monotonic()
    with pytest.raises(Interrupted):
        prise.tcp_connect("::1", silent_port, timeout=8)
    assert time.monotonic() - start < 5
    # A handler that returns: tried again with the time left, then TimeoutError.
    alarm(returning)
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        prise.tcp_connect("::1", silent_port, timeout=1)
    assert calls == [signal.SIGALRM] and time.monotonic() - start < 5


def test_tcp_connect_keeps_its_own_error_when_a_handler_fails_a_call(silent_port, alarm):
    """A handler whose own prise call fails (a refused port) must not become the result
    of the connect it interrupted: that one goes on and times out on its own address."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        refused = closed.getsockname()[1]

    def failing(signo, frame):
        with pytest.raises(ConnectionRefusedError):
            prise.tcp_connect("127.0.0.1", refused, timeout=1)

    alarm(failing)
    with pytest.raises(TimeoutError) as raised:
        prise.tcp_connect("::1", silent_port, timeout=1)
    assert str(silent_port) in str(raised.value) and str(refused) not in str(raised.value)


def test_serve_events_refuses_bad_arguments():
    with prise.tcp_listen("127.0.0.1", 0) as listener:
        with pytest.raises(ValueError):
            prise.serve_events(listener, lambda conn, data: None, idle_timeout=-1)
        # Out of the C types' range: refused, never wrapped (4294967.297 s was 1 ms,
        # 2**32 + 1 clients 1, input_limit -1 SIZE_MAX).
        bad = [({"idle_timeout": 4294967.297}, OverflowError), ({"idle_timeout": "1"}, TypeError),
               ({"idle_timeout": float("nan")}, ValueError),
               ({"max_connections": 2**32 + 1}, OverflowError),
               ({"max_connections": -1}, ValueError), ({"input_limit": -1}, ValueError),
               ({"output_limit": -5}, ValueError), ({"input_limit": 2**64}, OverflowError),
               ({"output_limit": 1.5}, TypeError)]
        for options, exception in bad:
            with pytest.raises(exception):
                prise.serve_events(listener, lambda conn, data: None, **options)
    for timeout, exception in [(1e10, OverflowError), (float("nan"), ValueError),
                               (0, ValueError), ("5", TypeError)]:
        with pytest.raises(exception):
            prise.tcp_connect("127.0.0.1", 9, timeout=timeout)
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


def test_ctrl_c_with_keep_signals_stops_serve_events():
    """With keep_signals, SIGINT's handler runs when a callback is entered: from Python
    3.11 before the callback's own code, where ctypes would print KeyboardInterrupt and
    lose it. serve_events raises it."""
    main = threading.get_ident()
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    listener = prise.tcp_listen("127.0.0.1", 0)
    port = listener.getsockname()[1]

    def client():
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            time.sleep(0.2)
            signal.pthread_kill(main, signal.SIGINT)  # Ctrl-C while the server waits
            time.sleep(0.2)
            sock.sendall(b"hello\n")  # a callback: the handler runs
            time.sleep(1.0)
            try:
                listener.shutdown(socket.SHUT_RDWR)  # a stop if the interrupt was lost
            except OSError:
                pass

    thread = threading.Thread(target=client, daemon=True)
    thread.start()
    try:
        with listener, pytest.raises(KeyboardInterrupt):
            prise.serve_events(listener, lambda conn, data: None, keep_signals=True)
    finally:
        thread.join(10)
        signal.signal(signal.SIGINT, previous)
