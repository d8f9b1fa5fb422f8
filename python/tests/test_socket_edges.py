"""Edges of prise.Socket and the module's helpers where an outside review found them
differing from socket.socket: very long timeouts, signals during prise's own blocking
helpers, a handler's failure during a blocked call, a timeout changed by another thread,
integers out of a C int's range, and smaller differences. Each compares with
socket.socket where socket has the same call."""

import errno
import os
import signal
import subprocess
import socket
import sys
import threading

import pytest

import prise

STANDARD_SOCKET = socket.socket
BOTH = pytest.mark.parametrize("kind", [STANDARD_SOCKET, prise.Socket], ids=["socket", "prise"])
LIMIT = 10  # seconds: generous bound on anything expected to be quick
LONG_TIMEOUT = 30 * 86400.0  # seconds: more milliseconds than a C int holds


def unix_pair(kind, type=socket.SOCK_STREAM):
    a, b = socket.socketpair(socket.AF_UNIX, type)
    return kind(fileno=a.detach()), kind(fileno=b.detach())


class Interrupted(Exception):
    pass


class raising_alarm:
    """While active, SIGALRM (every 50 ms from 50 ms on) raises Interrupted."""

    def __init__(self, raising=True):
        self.raising = raising
        self.count = 0

    def handler(self, *_):
        self.count += 1
        if self.raising:
            raise Interrupted

    def __enter__(self):
        self.previous = signal.signal(signal.SIGALRM, self.handler)
        signal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)
        return self

    def __exit__(self, *_):
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous)


def later(seconds, function, *args):
    timer = threading.Timer(seconds, function, args)
    timer.start()
    return timer


# ---- 3: timeouts longer than a C int of milliseconds ----

@BOTH
def test_timeouts_beyond_a_c_int_of_milliseconds_wait(kind):
    a, b = unix_pair(kind)
    with a, b:
        a.settimeout(LONG_TIMEOUT)
        timer = later(0.2, b.sendall, b"x")
        assert a.recv(1) == b"x"
        timer.join(LIMIT)
        # sendall waiting for room, then a makefile read
        b.settimeout(LONG_TIMEOUT)
        payload = b"y" * (8 << 20)
        received = []

        def drain():
            while sum(received) < len(payload):
                received.append(len(a.recv(1 << 20)) or len(payload))

        reader = threading.Thread(target=drain)
        timer = later(0.2, reader.start)
        b.sendall(payload)  # waits for the reader to make room
        timer.join(LIMIT)
        reader.join(LIMIT)
        assert sum(received) == len(payload)
    with kind() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(LONG_TIMEOUT)
        client = kind()
        timer = later(0.2, client.connect, listener.getsockname())
        conn, _ = listener.accept()
        timer.join(LIMIT)
        with client, conn:
            reader = conn.makefile("rb")
            later(0.2, client.sendall, b"line\n").join(LIMIT)
            assert reader.readline() == b"line\n"
            reader.close()


# ---- 7: the timeout changed by another thread during a call ----

@BOTH
def test_a_call_keeps_the_timeout_it_started_with(kind):
    a, b = unix_pair(kind)
    with a, b:
        a.settimeout(0.5)
        timer = later(0.1, a.settimeout, None)
        with pytest.raises(socket.timeout):
            a.recv(1)
        timer.join(LIMIT)


# ---- 4: a signal during prise's own blocking helpers ----

class Watchdog:
    """Sends what a test would otherwise wait for for ever, late, unless cancelled; says
    whether it did."""

    def __init__(self, seconds, function, *args):
        self.fired = False
        self.timer = later(seconds, self.fire, function, args)

    def fire(self, function, args):
        self.fired = True
        function(*args)

    def stop(self):
        self.timer.cancel()
        self.timer.join(LIMIT)
        return self.fired


def test_a_raising_handler_interrupts_read_line_and_the_line_is_kept():
    a, b = prise.socketpair()
    with a, b:
        b.sendall(b"par")  # a line begun: a blocking read_line must not take it and wait
        watchdog = Watchdog(3, b.sendall, b"tial\n")
        with raising_alarm(), pytest.raises(Interrupted):
            a.read_line()
        if not watchdog.stop():
            b.sendall(b"tial\n")
        a.settimeout(2)
        assert a.read_line() == b"partial\n"


def test_a_raising_handler_interrupts_read_line_on_a_socket_with_a_timeout():
    a, b = prise.socketpair()
    with a, b:
        a.settimeout(LIMIT)
        b.sendall(b"par")
        with raising_alarm(), pytest.raises(Interrupted):
            a.read_line()
        b.sendall(b"tial\n")
        assert a.read_line() == b"partial\n"
        b.sendall(b"dgram")  # then the stream ends mid-line: the part comes back
        b.shutdown(socket.SHUT_WR)
        assert a.read_line() == b"dgram"
        assert a.read_line() == b""


def test_a_raising_handler_interrupts_recv_fd_and_no_descriptor_leaks():
    a, b = prise.socketpair()
    sent = os.open(os.devnull, os.O_RDONLY)
    try:
        with a, b:
            before = len(os.listdir("/proc/self/fd"))
            watchdog = Watchdog(3, b.send_fd, sent)
            with raising_alarm(), pytest.raises(Interrupted):
                a.recv_fd()
            if not watchdog.stop():
                b.send_fd(sent)
            a.settimeout(2)
            os.close(a.recv_fd())
            assert len(os.listdir("/proc/self/fd")) == before
    finally:
        os.close(sent)


@pytest.mark.parametrize("value,exception", [("3", TypeError), (None, TypeError),
                                             (1.5, TypeError), (1 << 40, OverflowError)])
def test_send_fd_refuses_what_is_no_descriptor(value, exception):
    a, b = prise.socketpair()
    with a, b, pytest.raises(exception):
        a.send_fd(value)


def test_recv_fd_on_a_blocking_tcp_socket_is_refused_at_once():
    with prise.tcp_listen("127.0.0.1", 0) as listener:
        with prise.create_connection(listener.getsockname()) as client:
            with pytest.raises(OSError) as raised:
                with raising_alarm(raising=True):  # a wait would be interrupted instead
                    client.recv_fd()
    assert raised.value.errno == errno.EINVAL


@pytest.mark.parametrize("call", ["read_line", "recv_fd"])
def test_a_returning_handler_lets_the_helper_go_on(call):
    a, b = prise.socketpair()
    sent = os.open(os.devnull, os.O_RDONLY)
    try:
        with a, b:
            send = (lambda: b.sendall(b"li"), lambda: b.sendall(b"ne\n")) if call == "read_line" \
                else (lambda: None, lambda: b.send_fd(sent))
            send[0]()
            timer = later(0.4, send[1])
            with raising_alarm(raising=False) as alarm:
                got = getattr(a, call)()
            timer.join(LIMIT)
            assert alarm.count >= 2
            if call == "read_line":
                assert got == b"line\n"
            else:
                os.close(got)
    finally:
        os.close(sent)


# ---- 5: a signal's handler whose own socket call fails ----

@BOTH
@pytest.mark.parametrize("call", ["recv", "recv_into", "recvfrom", "accept", "sendall"])
def test_a_handler_failing_on_another_socket_leaves_the_blocked_call_alone(kind, call):
    """The handler's BlockingIOError on another socket is the handler's: the blocked
    call goes on (PEP 475) and gets its own result."""
    other, other_peer = unix_pair(kind)
    other.setblocking(False)
    failures = []

    def handler(*_):
        try:
            other.recv(1)
        except BlockingIOError as error:
            failures.append(error)

    a, b = unix_pair(kind)
    listener = kind()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    client = kind()
    previous = signal.signal(signal.SIGALRM, handler)
    try:
        if call == "sendall":
            payload = b"s" * (8 << 20)
            drained = []

            def drain():
                got = 0
                while got < len(payload):
                    got += len(b.recv(1 << 20))
                drained.append(got)

            timer = later(0.5, drain)
        elif call == "accept":
            timer = later(0.5, client.connect, listener.getsockname())
        else:
            timer = later(0.5, b.sendall, b"z")
        signal.setitimer(signal.ITIMER_REAL, 0.05, 0.05)
        if call == "recv":
            assert a.recv(1) == b"z"
        elif call == "recv_into":
            buffer = bytearray(1)
            assert a.recv_into(buffer) == 1 and buffer == b"z"
        elif call == "recvfrom":
            assert a.recvfrom(1)[0] == b"z"
        elif call == "accept":
            conn, _ = listener.accept()
            conn.close()
        else:
            a.sendall(payload)
        signal.setitimer(signal.ITIMER_REAL, 0)
        timer.join(LIMIT)
        if call == "sendall":
            assert drained == [len(payload)]
        assert failures  # the handler ran, and failed, during the call
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        for sock in (other, other_peer, a, b, listener, client):
            sock.close()


# ---- 8: the module's helpers take C ints as socket does ----

def unique_abstract():
    return "@prise-edges-%d-%d" % (os.getpid(), threading.get_ident())


HELPER_INTS = [
    ("getaddrinfo family", lambda v: prise.getaddrinfo("localhost", 80, v)),
    ("getaddrinfo type", lambda v: prise.getaddrinfo("localhost", 80, 0, v)),
    ("getaddrinfo proto", lambda v: prise.getaddrinfo("localhost", 80, 0, 0, v)),
    ("getaddrinfo flags", lambda v: prise.getaddrinfo("localhost", 80, 0, 0, 0, v)),
    ("getnameinfo flags", lambda v: prise.getnameinfo(("127.0.0.1", 80), v)),
    ("tcp_listen backlog", lambda v: prise.tcp_listen("127.0.0.1", 0, v).close()),
    ("unix_listen type", lambda v: prise.unix_listen(unique_abstract(), v).close()),
    ("unix_connect type", lambda v: prise.unix_connect(unique_abstract(), v).close()),
    ("bindedSocket type", lambda v: os.close(prise.bindedSocket("127.0.0.1", 0, v))),
    ("creerSock type", lambda v: os.close(prise.creerSock("127.0.0.1", 0, v)[0])),
]


@pytest.mark.parametrize("value,exception", [
    ((1 << 32) + socket.SOCK_DGRAM, OverflowError), (-(1 << 40), OverflowError),
    ("x", TypeError), (1.5, TypeError), (None, TypeError)],
    ids=["2**32+2", "-2**40", "str", "float", "None"])
@pytest.mark.parametrize("name,call", HELPER_INTS, ids=[h[0] for h in HELPER_INTS])
def test_helpers_refuse_what_is_no_c_int(name, call, value, exception):
    """Never truncated to another value, never ctypes.ArgumentError."""
    if name.startswith(("getaddrinfo", "getnameinfo")):  # socket's own, side by side
        standard = getattr(socket, name.split()[0])
        with pytest.raises(exception):
            standard(*call_arguments(name, value))
    with pytest.raises(exception):
        call(value)


def call_arguments(name, value):
    position = {"family": 2, "type": 3, "proto": 4, "flags": 5}[name.split()[1]]
    if name.startswith("getnameinfo"):
        return (("127.0.0.1", 80), value)
    return ("localhost", 80) + (0,) * (position - 2) + (value,)


# ---- 6: the oldest Pythons pyproject admits ----

OLDER_PYTHON = """
import socket, sys, prise
a, b = prise.socketpair()
a.settimeout(0.05)
try:
    a.recv(1)
except socket.timeout:  # not TimeoutError before 3.10
    pass
reader = a.makefile("rb", buffering=0)
try:
    reader.read(1)
except socket.timeout:  # SocketIO catches socket.timeout and remembers it
    pass
try:
    reader.read(1)
except OSError as error:
    assert "timed out" in str(error), error
assert prise.timeout is socket.timeout
assert hasattr(prise, "send_fds") == hasattr(socket, "send_fds")
reader.close(); a.close(); b.close()
print("ok", sys.version_info[:2])
"""


def older_pythons():
    """Interpreters of the versions pyproject admits that are older than this one:
    Debian's python3.X, or pyenv's."""
    import glob
    import shutil
    found = []
    for minor in range(8, sys.version_info[1]):
        version = "3.%d" % minor
        candidates = sorted(glob.glob(os.path.expanduser(
            "~/.pyenv/versions/%s.*/bin/python%s" % (version, version))))
        candidates.append(shutil.which("python" + version))
        # pyenv's shims answer for every version, running none that is not selected.
        found += [path for path in candidates if path and "/shims/" not in path][:1]
    return found


@pytest.mark.skipif(not older_pythons(), reason="no Python older than this one installed")
def test_older_pythons_import_prise_and_raise_socket_timeout():
    from conftest import REPO
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "python"))
    for python in older_pythons():
        done = subprocess.run([python, "-c", OLDER_PYTHON], env=env, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0 and done.stdout.startswith("ok"), (python, done.stderr)


# ---- 9: smaller differences ----

class Index:
    def __index__(self):
        return 1


SMALL = [
    ("bind undecodable bytes host", socket.AF_INET,
     lambda s: s.bind((b"\xff\xfe", 0)), socket.gaierror),
    ("bind bracketed IPv6", socket.AF_INET6, lambda s: s.bind(("[::1]", 0)), socket.gaierror),
    ("bind bracketed IPv4", socket.AF_INET, lambda s: s.bind(("[127.0.0.1]", 0)), socket.gaierror),
    ("bind unknown interface", socket.AF_INET6,
     lambda s: s.bind(("fe80::1%prise-no-such-if", 0)), socket.gaierror),
    ("bind IPv6 <broadcast>", socket.AF_INET6, lambda s: s.bind(("<broadcast>", 0)), OSError),
    ("setsockopt None optlen -1", socket.AF_INET,
     lambda s: s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, None, -1), OSError),
    ("recvmsg ancbufsize 2**40", socket.AF_INET, lambda s: s.recvmsg(10, 1 << 40), ValueError),
    ("recvmsg ancbufsize -1", socket.AF_INET, lambda s: s.recvmsg(10, -1), ValueError),
]


@BOTH
@pytest.mark.parametrize("name,family,call,exception", SMALL, ids=[c[0] for c in SMALL])
def test_small_differences(kind, name, family, call, exception):
    with kind(family, socket.SOCK_DGRAM) as sock:
        with pytest.raises(exception) as raised:
            call(sock)
    # exactly socket's class (gaierror, not a plain OSError), with an errno where it has one
    assert type(raised.value) is exception or raised.value.errno is not None, raised.value
    if name == "bind IPv6 <broadcast>":
        assert type(raised.value) is OSError and "family" in str(raised.value)


@BOTH
def test_setsockopt_takes_an_index_and_settimeout_a_negative_zero(kind):
    with kind() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, Index())
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR) == 1
        sock.settimeout(-0.0)
        assert str(sock.gettimeout()) == "0.0"


def test_a_library_that_is_not_prise_is_an_import_error_naming_what_it_lacks(tmp_path):
    import ctypes.util
    from conftest import REPO
    other = ctypes.util.find_library("m")
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "python"), PRISE_LIBRARY=other)
    done = subprocess.run([sys.executable, "-c", "import prise"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert "ImportError" in done.stderr and "prise_last_error" in done.stderr, done.stderr
    assert other in done.stderr


def test_host_name_functions_are_socket_s():
    assert prise.gethostname() == socket.gethostname()
    assert prise.getfqdn is socket.getfqdn


def test_a_blocking_read_line_longer_than_the_receive_queue_comes_whole():
    """A line longer than the receive queue holds: a wait for the whole line to be queued
    would never end (the queue is full, nothing more arrives)."""
    with prise.create_server(("127.0.0.1", 0)) as server:
        sender = socket.create_connection(server.getsockname())
        conn, _ = server.accept()
        with sender, conn:
            line = b"x" * 2000000 + b"\n"  # more than loopback's queue takes
            feeder = threading.Thread(target=sender.sendall, args=(line,), daemon=True)
            feeder.start()
            got = []
            reader = threading.Thread(target=lambda: got.append(conn.read_line(len(line))),
                                      daemon=True)
            reader.start()
            reader.join(LIMIT)
            stuck = reader.is_alive()
            if stuck:
                sender.shutdown(socket.SHUT_WR)  # ends the wait before the sockets close
                reader.join(LIMIT)
            feeder.join(LIMIT)
            assert not stuck and got == [line]
