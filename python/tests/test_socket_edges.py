"""Edges of prise.Socket and the module's helpers where an outside review found them
differing from socket.socket: very long timeouts, signals during prise's own blocking
helpers, a handler's failure during a blocked call, a timeout changed by another thread,
integers out of a C int's range, and smaller differences. Each compares with
socket.socket where socket has the same call."""

import errno
import os
import signal
import socket
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
