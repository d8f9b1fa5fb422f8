"""prise.Socket behaves as socket.socket: most tests run on both classes and demand the
same results and exceptions (timeouts, blocking, inheritance, signals, Unix names,
argument mistakes, attributes), then prise's own additions."""

import copy
import errno
import gc
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings

import pytest

import prise
from conftest import REPO

STANDARD_SOCKET = socket.socket
BOTH = pytest.mark.parametrize("kind", [STANDARD_SOCKET, prise.Socket], ids=["socket", "prise"])
LIMIT = 10  # seconds: generous bound on anything expected to be quick


def tcp_pair(kind):
    """(client, server side) connected over IPv4 loopback, both of `kind`."""
    with kind(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        client = kind(socket.AF_INET, socket.SOCK_STREAM)
        client.connect(listener.getsockname())
        conn, _ = listener.accept()
    return client, conn


def fill(sock):
    """Writes into sock until the kernel takes no more; returns the count."""
    sock.setblocking(False)
    total = 0
    try:
        while True:
            total += sock.send(b"x" * 65536)
    except BlockingIOError:
        pass
    return total


# ---- timeouts and blocking ----

@BOTH
def test_timeout_zero_is_non_blocking(kind):
    client, conn = tcp_pair(kind)
    with client, conn:
        client.settimeout(0)
        assert client.gettimeout() == 0.0 and client.timeout == 0.0
        assert client.getblocking() is False
        with pytest.raises(BlockingIOError):
            client.recv(1)
        with pytest.raises(BlockingIOError):
            client.recv_into(bytearray(4))
        assert fill(client) > 0
        with pytest.raises(BlockingIOError):
            client.send(b"more")
        client.setblocking(True)
        assert client.gettimeout() is None and client.getblocking() is True


@BOTH
def test_timeout_values(kind):
    with kind() as sock:
        sock.settimeout(2)
        assert sock.gettimeout() == 2.0 and isinstance(sock.gettimeout(), float)
        assert sock.getblocking() is True  # a timeout is not non-blocking mode
        for bad, error in ((-1, ValueError), ("1", TypeError), (float("nan"), ValueError),
                           (1e300, OverflowError)):
            with pytest.raises(error):
                sock.settimeout(bad)
        assert sock.gettimeout() == 2.0
        with pytest.raises(TypeError):
            sock.setblocking(None)


@BOTH
def test_recv_and_accept_time_out(kind):
    client, conn = tcp_pair(kind)
    with client, conn, kind() as listener:
        client.settimeout(0.2)
        start = time.monotonic()
        with pytest.raises(socket.timeout):
            client.recv(1)
        assert time.monotonic() - start < LIMIT
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.2)
        with pytest.raises(socket.timeout):
            listener.accept()


@BOTH
def test_sendall_timeout_is_one_deadline_for_the_whole_call(kind):
    """The peer reads 64 KiB every 20 ms: each send makes progress long before the
    timeout, but the whole sendall would take seconds; it must stop at its deadline."""
    client, conn = tcp_pair(kind)
    stop = threading.Event()

    def slow_reader():
        while not stop.is_set():
            try:
                if not conn.recv(65536):
                    return
            except OSError:
                return
            time.sleep(0.02)

    reader = threading.Thread(target=slow_reader)
    reader.start()
    try:
        client.settimeout(0.5)
        start = time.monotonic()
        with pytest.raises(socket.timeout):
            client.sendall(b"y" * (64 << 20))
        assert time.monotonic() - start < LIMIT
    finally:
        stop.set()
        client.close()
        reader.join(LIMIT)
        conn.close()


def full_backlog_listener(kind):
    """A listener whose accept queue is full: further connects get no answer."""
    listener = kind()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    queued = []
    for _ in range(8):
        sock = kind()
        sock.setblocking(False)
        try:
            sock.connect(listener.getsockname())
        except BlockingIOError:
            pass
        queued.append(sock)
    time.sleep(0.1)
    return listener, queued


@BOTH
def test_connect_with_timeout_and_connect_ex(kind):
    listener, queued = full_backlog_listener(kind)
    try:
        with kind() as sock:
            sock.settimeout(0.3)
            start = time.monotonic()
            with pytest.raises(socket.timeout):
                sock.connect(listener.getsockname())
            assert time.monotonic() - start < LIMIT
        with kind() as sock:
            sock.settimeout(0.3)
            assert sock.connect_ex(listener.getsockname()) == errno.EAGAIN
        with kind() as closed:
            closed.bind(("127.0.0.1", 0))
            port = closed.getsockname()[1]
        with kind() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) == errno.ECONNREFUSED
            with pytest.raises(TypeError):
                sock.connect_ex("not an address")
        with kind() as sock:
            sock.settimeout(0)
            assert sock.connect_ex(listener.getsockname()) == errno.EINPROGRESS
    finally:
        for sock in queued + [listener]:
            sock.close()


@BOTH
def test_accepted_sockets_take_the_default_timeout(kind):
    with kind() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(5)
        with kind() as client:
            client.connect(listener.getsockname())
            conn, _ = listener.accept()
            with conn:
                assert conn.gettimeout() is None and conn.getblocking()
                assert os.get_blocking(conn.fileno())  # nothing inherited from the listener
        try:
            socket.setdefaulttimeout(3)
            with kind() as fresh, kind() as client:
                assert fresh.gettimeout() == 3.0 and not os.get_blocking(fresh.fileno())
                client.connect(listener.getsockname())
                conn, _ = listener.accept()
                with conn:
                    assert conn.gettimeout() == 3.0
        finally:
            socket.setdefaulttimeout(None)


@BOTH
def test_nonblocking_type_flag(kind):
    with kind(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK) as sock:
        assert sock.type == socket.SOCK_STREAM and sock.gettimeout() == 0.0
    with kind(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as sock:
        assert sock.type == socket.SOCK_STREAM


# ---- inheritance (PEP 446) ----

@BOTH
def test_sockets_are_not_inherited(kind):
    client, conn = tcp_pair(kind)
    a, b = socket.socketpair() if kind is STANDARD_SOCKET else prise.socketpair()
    duplicate = client.dup()
    sockets = [client, conn, a, b, duplicate]
    try:
        for sock in sockets:
            assert sock.get_inheritable() is False
        probe = "import os, sys\nfor fd in sys.argv[1:]:\n    try:\n        os.fstat(int(fd))\n" \
                "        print('open', fd)\n    except OSError:\n        pass\n"
        child = subprocess.run([sys.executable, "-c", probe] + [str(s.fileno()) for s in sockets],
                               close_fds=False, capture_output=True, text=True, timeout=LIMIT)
        assert child.stdout == ""
        client.set_inheritable(True)
        assert client.get_inheritable() is True
    finally:
        for sock in sockets:
            sock.close()


# ---- signals (PEP 475) ----

class Interrupted(Exception):
    pass


def interrupt_main(count, raising, delay=0.05):
    """Sends SIGALRM to the main thread every `delay` seconds. Without `raising`, `count`
    signals; with it, until the handler has raised Interrupted, which it does at its
    `count`-th run. Signals sent close together may run the handler once (they are not
    queued). Returns (thread, list of handled signals)."""
    handled, done = [], threading.Event()
    main = threading.main_thread().ident

    def handler(signum, frame):
        handled.append(signum)
        if raising and len(handled) >= count:
            done.set()
            raise Interrupted()

    signal.signal(signal.SIGALRM, handler)

    def sender():
        for sent in range(int(LIMIT / delay)):
            if done.wait(delay) or (not raising and sent == count):
                return
            signal.pthread_kill(main, signal.SIGALRM)

    thread = threading.Thread(target=sender)
    thread.start()
    return thread, handled


@BOTH
def test_signal_during_blocking_recv_runs_handler_and_retries(kind):
    client, conn = tcp_pair(kind)
    previous = signal.getsignal(signal.SIGALRM)
    with client, conn:
        thread, handled = interrupt_main(3, raising=False)
        later = threading.Timer(0.5, conn.sendall, args=(b"after signals",))
        later.start()
        try:
            assert client.recv(100) == b"after signals"
            assert handled  # the handler ran, and the receive went on
        finally:
            later.join(LIMIT)
            thread.join(LIMIT)
            signal.signal(signal.SIGALRM, previous)


@BOTH
@pytest.mark.parametrize("call", ["recv", "sendall", "accept", "connect", "recv_timeout"])
def test_a_raising_handler_interrupts_a_blocked_call(kind, call):
    """As Ctrl-C does: the handler's exception comes out of the blocked call."""
    client, conn = tcp_pair(kind)
    previous = signal.getsignal(signal.SIGALRM)
    listener, queued = full_backlog_listener(kind) if call == "connect" else (None, [])
    payload = b"z" * (256 << 20)
    thread, handled = interrupt_main(2, raising=True)
    try:
        with pytest.raises(Interrupted):
            if call == "recv":
                client.recv(1)
            elif call == "recv_timeout":
                client.settimeout(30)
                client.recv(1)
            elif call == "sendall":
                client.sendall(payload)  # the peer never reads
            elif call == "accept":
                with kind() as waiting:
                    waiting.bind(("127.0.0.1", 0))
                    waiting.listen()
                    waiting.accept()
            else:
                with kind() as sock:
                    sock.connect(listener.getsockname())
        assert len(handled) >= 2
    finally:
        thread.join(LIMIT)
        signal.signal(signal.SIGALRM, previous)
        for sock in [client, conn] + queued + ([listener] if listener else []):
            sock.close()


CTRL_C = """
import signal, socket, sys, prise
# Python leaves SIGINT ignored when it starts so (a test run in the background, nohup).
signal.signal(signal.SIGINT, signal.default_int_handler)
kind = prise.Socket if sys.argv[1] == "prise" else socket.socket
a, b = socket.socketpair()
if kind is prise.Socket:
    a, b = prise.Socket(fileno=a.detach()), prise.Socket(fileno=b.detach())
print("blocked", flush=True)
try:
    if sys.argv[2] == "recv":
        b.recv(1)
    else:
        b.sendall(b"z" * (64 << 20))  # nobody reads
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


@BOTH
@pytest.mark.parametrize("call", ["recv", "sendall"])
def test_ctrl_c_interrupts_a_blocked_call(kind, call):
    name = "socket" if kind is STANDARD_SOCKET else "prise"
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "python"))
    child = subprocess.Popen([sys.executable, "-c", CTRL_C, name, call], env=env,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "blocked\n"
        time.sleep(0.3)  # into the call
        child.send_signal(signal.SIGINT)
        out, _ = child.communicate(timeout=LIMIT)
        assert out == "interrupted\n" and child.returncode == 0
    finally:
        child.kill()
        child.wait()


# ---- Unix names ----

@BOTH
def test_unix_names_as_socket_treats_them(kind, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with kind(socket.AF_UNIX) as server:
        server.bind("@looks-abstract-%d" % os.getpid())  # a file named so, as socket does
        assert os.path.exists(tmp_path / ("@looks-abstract-%d" % os.getpid()))
    abstract = b"\0prise-semantics-%d" % os.getpid()
    with kind(socket.AF_UNIX) as server, kind(socket.AF_UNIX) as client:
        server.bind(abstract)
        server.listen()
        assert server.getsockname() == abstract
        client.connect(abstract)
        conn, peer = server.accept()
        with conn:
            assert peer == ""  # the client is unnamed
    with kind(socket.AF_UNIX) as sock:
        sock.bind("")  # autobind: the kernel picks an abstract name
        name = sock.getsockname()
        assert isinstance(name, bytes) and name.startswith(b"\0") and len(name) > 1
    path = str(tmp_path / "file.sock")
    with kind(socket.AF_UNIX) as server:
        server.bind(path)
        assert server.getsockname() == path and os.path.exists(path)
    with kind(socket.AF_UNIX) as sock, pytest.raises(OSError):
        sock.bind("p" * 200)
    with kind(socket.AF_UNIX) as sock, pytest.raises(TypeError):
        sock.bind(12)


def test_prise_helpers_keep_the_at_sign_for_abstract_names():
    name = "@prise-helper-%d" % os.getpid()
    with prise.unix_listen(name) as server, prise.unix_connect(name) as client:
        assert server.getsockname() == b"\0" + name[1:].encode()
        conn, _ = server.accept()
        with conn:
            client.sendall(b"abstract")
            assert conn.recv(8) == b"abstract"


# ---- argument mistakes: socket's exceptions, never ctypes.ArgumentError ----

MISTAKES = [
    ("recv str size", lambda s: s.recv("1"), TypeError),
    ("recv float size", lambda s: s.recv(1.0), TypeError),
    ("recv negative", lambda s: s.recv(-1), ValueError),
    ("recv flags 2**40", lambda s: s.recv(1, 1 << 40), OverflowError),
    ("recv flags float", lambda s: s.recv(1, 0.0), TypeError),
    ("send str", lambda s: s.send("text"), TypeError),
    ("send int", lambda s: s.send(5), TypeError),
    ("send flags 2**40", lambda s: s.send(b"x", 1 << 40), OverflowError),
    ("sendall str", lambda s: s.sendall("text"), TypeError),
    ("recv_into bytes", lambda s: s.recv_into(b"read-only"), TypeError),
    ("recv_into nbytes float", lambda s: s.recv_into(bytearray(4), 1.5), TypeError),
    ("recv_into nbytes too big", lambda s: s.recv_into(bytearray(4), 5), ValueError),
    ("recv_into nbytes negative", lambda s: s.recv_into(bytearray(4), -1), ValueError),
    ("recvfrom_into too big", lambda s: s.recvfrom_into(bytearray(4), 5), ValueError),
    ("bind port 70000", lambda s: s.bind(("127.0.0.1", 70000)), OverflowError),
    ("bind port -1", lambda s: s.bind(("127.0.0.1", -1)), OverflowError),
    ("bind port str", lambda s: s.bind(("127.0.0.1", "80")), TypeError),
    ("bind str", lambda s: s.bind("127.0.0.1"), TypeError),
    ("bind 3-tuple", lambda s: s.bind(("127.0.0.1", 0, 0)), TypeError),
    ("bind host int", lambda s: s.bind((1, 0)), TypeError),
    ("bind unknown host", lambda s: s.bind(("nosuchhost.invalid", 0)), socket.gaierror),
    ("connect port 2**40", lambda s: s.connect(("127.0.0.1", 1 << 40)), OverflowError),
    ("sendto no address", lambda s: s.sendto(b"x"), TypeError),
    ("sendto 4 arguments", lambda s: s.sendto(b"x", 0, ("127.0.0.1", 9), 1), TypeError),
    ("listen 2**40", lambda s: s.listen(1 << 40), OverflowError),
    ("listen str", lambda s: s.listen("5"), TypeError),
    ("shutdown 2**33", lambda s: s.shutdown(1 << 33), OverflowError),
    # socket refuses an int that does not fit with TypeError (it then wants bytes)
    ("setsockopt value 2**40", lambda s: s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1 << 40), TypeError),
    ("setsockopt level str", lambda s: s.setsockopt("x", socket.SO_REUSEADDR, 1), TypeError),
    ("setsockopt float", lambda s: s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1.5), TypeError),
    ("getsockopt buflen 2000", lambda s: s.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE, 2000), OSError),
    ("settimeout str", lambda s: s.settimeout("1"), TypeError),
]


@BOTH
@pytest.mark.parametrize("description,call,exception", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_argument_mistakes(kind, description, call, exception):
    with kind() as sock:
        with pytest.raises(exception) as raised:
            call(sock)
        assert not isinstance(raised.value, __import__("ctypes").ArgumentError)


@BOTH
def test_constructor_mistakes(kind):
    with pytest.raises(ValueError):
        kind(fileno=-1)
    with pytest.raises(TypeError):
        kind(fileno=3.0)
    with pytest.raises(OSError):
        kind(12345, socket.SOCK_STREAM)  # no such family
    with pytest.raises(OverflowError):
        kind(1 << 40, socket.SOCK_STREAM)


# ---- attributes, repr, lifetime ----

@BOTH
def test_attributes_and_repr(kind):
    client, conn = tcp_pair(kind)
    with client, conn:
        assert client.family is socket.AF_INET and isinstance(client.family, socket.AddressFamily)
        assert client.type is socket.SOCK_STREAM and isinstance(client.type, socket.SocketKind)
        assert client.proto == 0
        text = repr(client)
        assert "laddr=%r" % (client.getsockname(),) in text
        assert "raddr=%r" % (client.getpeername(),) in text
        assert text.startswith("<%s.%s fd=%d" % (kind.__module__, kind.__qualname__, client.fileno()))
    assert "[closed]" in repr(client) and client.fileno() == -1
    with pytest.raises(OSError) as raised:
        client.send(b"x")
    assert raised.value.errno == errno.EBADF


@BOTH
def test_copy_and_pickle_are_refused(kind):
    with kind() as sock:
        for attempt in (copy.copy, copy.deepcopy, pickle.dumps):
            with pytest.raises(TypeError):
                attempt(sock)


@BOTH
def test_unclosed_socket_warns(kind):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sock = kind()
        fd = sock.fileno()
        del sock
        gc.collect()
    assert any(issubclass(w.category, ResourceWarning) and "unclosed" in str(w.message)
               for w in caught)
    with pytest.raises(OSError):
        os.fstat(fd)  # and the descriptor was closed


@BOTH
def test_makefile_keeps_the_descriptor_until_the_file_closes(kind):
    client, conn = tcp_pair(kind)
    reader = conn.makefile("r", encoding="utf-8", newline="")
    writer = conn.makefile("wb", buffering=0)
    conn.close()  # deferred: two files still use it
    assert conn.fileno() >= 0
    client.sendall("héllo\nworld\n".encode())
    assert reader.readline() == "héllo\n"
    writer.write(b"unbuffered")
    assert client.recv(10) == b"unbuffered"
    reader.close()
    writer.close()
    assert conn.fileno() == -1
    client.close()
    with pytest.raises(ValueError):
        client.makefile("rx")


@BOTH
def test_sendfile(kind, tmp_path):
    data = os.urandom(300000)
    path = tmp_path / "payload"
    path.write_bytes(data)
    client, conn = tcp_pair(kind)
    with client, conn, open(path, "rb") as handle:
        received = bytearray()

        def read_all():
            while chunk := conn.recv(65536):
                received.extend(chunk)

        reader = threading.Thread(target=read_all)
        reader.start()
        assert client.sendfile(handle, offset=1000, count=200000) == 200000
        assert handle.tell() == 201000
        client.shutdown(socket.SHUT_WR)
        reader.join(LIMIT)
        assert bytes(received) == data[1000:201000]


@BOTH
def test_sendmsg_recvmsg_with_descriptors_and_credentials(kind):
    a, b = socket.socketpair() if kind is STANDARD_SOCKET else prise.socketpair()
    r, w = os.pipe()
    with a, b:
        b.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        import array
        sent = a.sendmsg([b"one", memoryview(b"-two"), bytearray(b"-three")],
                         [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [r, w]))])
        assert sent == 13
        data, ancillary, flags, address = b.recvmsg(100, socket.CMSG_SPACE(8) + socket.CMSG_SPACE(12))
        assert data == b"one-two-three" and flags == 0
        rights = [item for item in ancillary if item[1] == socket.SCM_RIGHTS]
        credentials = [item for item in ancillary if item[1] == socket.SCM_CREDENTIALS]
        fds = array.array("i", rights[0][2])
        assert len(fds) == 2
        os.write(fds[1], b"through a passed pipe")
        assert os.read(r, 100) == b"through a passed pipe"
        import struct
        assert struct.unpack("iII", credentials[0][2]) == (os.getpid(), os.getuid(), os.getgid())
        for fd in list(fds) + [r, w]:
            os.close(fd)
        a.sendmsg([b"scattered"])
        first, second = bytearray(3), memoryview(bytearray(10))
        n, _, _, _ = b.recvmsg_into([first, second])
        assert n == 9 and first == b"sca" and bytes(second[:6]) == b"ttered"


@BOTH
def test_recvmsg_truncation_flags(kind):
    with kind(socket.AF_INET, socket.SOCK_DGRAM) as a, kind(socket.AF_INET, socket.SOCK_DGRAM) as b:
        b.bind(("127.0.0.1", 0))
        a.sendto(b"a datagram too long", b.getsockname())
        data, _, flags, address = b.recvmsg(5)
        assert data == b"a dat" and flags & socket.MSG_TRUNC
        assert address == ("127.0.0.1", a.getsockname()[1])
        a.sendto(b"flags form", 0, b.getsockname())
        buffer = bytearray(20)
        n, address = b.recvfrom_into(buffer)
        assert buffer[:n] == b"flags form" and address == ("127.0.0.1", a.getsockname()[1])


# ---- memory safety: buffers are pinned before their length is read ----

def test_buffer_cannot_be_resized_while_a_receive_waits():
    client, conn = tcp_pair(prise.Socket)
    buffer = bytearray(16)
    result = {}
    receiver = threading.Thread(target=lambda: result.setdefault("n", conn.recv_into(buffer)))
    with client, conn:
        receiver.start()
        time.sleep(0.2)  # the receive is blocked in the kernel, the buffer pinned
        with pytest.raises(BufferError):
            buffer.extend(b"x" * 1000000)
        with pytest.raises(BufferError):
            del buffer[:]
        client.sendall(b"kept in place")
        receiver.join(LIMIT)
        assert result["n"] == 13 and buffer[:13] == b"kept in place" and len(buffer) == 16
        buffer.extend(b"!")  # released once the call is over
        assert len(buffer) == 17


class Hostile:
    """An nbytes/flags whose __index__ tries to shrink or release the buffer."""

    def __init__(self, action, value):
        self.action, self.value = action, value

    def __index__(self):
        self.action()
        return self.value


@pytest.mark.parametrize("call", ["recv_into", "recvfrom_into"])
def test_hostile_nbytes_cannot_shrink_the_buffer(call):
    client, conn = tcp_pair(prise.Socket)
    with client, conn:
        client.sendall(b"z" * 64)
        buffer = bytearray(32)
        receive = getattr(conn, call)
        with pytest.raises(BufferError):
            receive(buffer, Hostile(lambda: buffer.clear(), 32))
        base = bytearray(32)
        view = memoryview(base)
        with pytest.raises(BufferError):
            receive(view, Hostile(lambda: base.clear(), 32))
        # Releasing the caller's view does not free the memory the pin holds: either
        # refused (socket) or the bytes land in the object, still there.
        try:
            got = receive(view, Hostile(view.release, 4))
        except BufferError:
            pass
        else:
            assert got in (4, (4, None)) and base[:4] == b"zzzz" and len(base) == 32
        with pytest.raises(BufferError):  # through flags as well
            receive(buffer, 0, Hostile(lambda: buffer.clear(), 0))
        assert len(buffer) == 32
        conn.settimeout(LIMIT)
        assert receive(buffer, 8) in (8, (8, None))
        assert buffer[:8] == b"z" * 8 and len(buffer) == 32


def test_hostile_recvmsg_into_and_send_buffers():
    a, b = prise.socketpair()
    with a, b:
        a.sendall(b"q" * 16)
        buffer = bytearray(8)
        with pytest.raises(BufferError):
            b.recvmsg_into([buffer], Hostile(lambda: buffer.clear(), 0))
        assert len(buffer) == 8
        sent = bytearray(b"payload")
        with pytest.raises(BufferError):
            a.send(sent, Hostile(lambda: sent.clear(), 0))
        assert sent == b"payload"
        assert b.recv_into(buffer) == 8 and buffer == b"q" * 8


def test_receiving_in_place_never_touches_another_bytes_object():
    """recv receives into a bytes object of its own: no other bytes changes, two results
    never share storage, a full receive and a short one are both plain bytes."""
    a, b = prise.socketpair()
    with a, b:
        zeros, one, empty = bytes(4), (0).to_bytes(1, "little"), b""
        a.sendall(b"abcd" + b"efgh" + b"x")
        first, second = b.recv(4), b.recv(4)
        assert (first, second) == (b"abcd", b"efgh") and type(first) is bytes
        assert zeros == b"\0" * 4 and bytes(4) == b"\0" * 4 and one == b"\0" and empty == b""
        assert (0).to_bytes(4, "little") == b"\0" * 4 and b.recv(0) == b""
        assert b.recv(100) == b"x" and hash(first) == hash(b"abcd")
        a.sendall(b"y" * 600)  # past the size where recv's buffer is made another way
        assert b.recv(600) == b"y" * 600 and bytes(600) == b"\0" * 600
        a.sendall(b"line\nrest")
        assert b.read_line() == b"line\n" and b.recvfrom(4) == (b"rest", None)
        a.sendmsg([b"msg"])
        assert b.recvmsg(3)[0] == b"msg" and bytes(3) == b"\0" * 3


def test_read_only_and_odd_buffers_are_sent_without_a_copy_and_refused_where_written():
    a, b = prise.socketpair()
    with a, b:
        payload = bytes(range(200))
        a.sendall(memoryview(payload)[10:20])  # read-only, not bytes
        assert b.recv(100) == payload[10:20]
        import array
        a.sendall(array.array("i", [1, 2, 3]))
        assert b.recv(12) == array.array("i", [1, 2, 3]).tobytes()
        with pytest.raises(TypeError):
            b.recv_into(memoryview(payload))
        with pytest.raises((TypeError, BufferError, ValueError)):
            b.recv_into(memoryview(bytearray(8))[::2])  # not contiguous
        assert b.recv_into(bytearray(0)) == 0


# ---- prise's own, on the same object ----

def test_prise_errors_carry_the_sentence():
    with prise.Socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
    with prise.Socket() as sock:
        with pytest.raises(ConnectionRefusedError) as raised:
            sock.connect(("127.0.0.1", port))
        assert "is a server listening on 127.0.0.1:%d" % port in str(raised.value)
        assert prise.last_error() in str(raised.value)


def test_prise_extras_on_socket():
    a, b = prise.socketpair()
    with a, b:
        pid, uid, gid = b.peer_cred()
        assert (pid, uid, gid) == (os.getpid(), os.getuid(), os.getgid())
        r, w = os.pipe()
        a.send_fd(w)
        received = b.recv_fd()
        os.write(received, b"fd")
        assert os.read(r, 2) == b"fd"
        for fd in (r, w, received):
            os.close(fd)
        a.sendall(b"first line\nsecond")
        assert b.read_line() == b"first line\n"
        assert b.recv(6) == b"second"  # read_line left the rest in the socket
        b.settimeout(0.2)
        with pytest.raises(socket.timeout):
            b.read_line()


def test_prise_trace_shows_socket_calls():
    code = ("import prise\na, b = prise.socketpair()\na.sendall(b'hi')\nb.recv(2)\n"
            "a.close()\nb.close()\n")
    env = dict(os.environ, PRISE_TRACE="1", PYTHONPATH=os.path.join(REPO, "python"))
    child = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                           text=True, timeout=LIMIT)
    assert child.returncode == 0, child.stderr
    assert "prise: send(" in child.stderr and "prise: recv(" in child.stderr


# ---- the interface itself ----

def test_every_public_name_of_socket_socket():
    standard = {name for name in dir(STANDARD_SOCKET) if not name.startswith("_")}
    missing = standard - set(dir(prise.Socket))
    assert not missing
    for name in ("AF_INET", "SOCK_STREAM", "SOL_SOCKET", "SO_REUSEADDR", "SCM_RIGHTS",
                 "MSG_PEEK", "IPPROTO_TCP", "TCP_NODELAY", "SHUT_RDWR", "SOMAXCONN", "has_ipv6",
                 "getdefaulttimeout", "setdefaulttimeout", "error", "timeout", "gaierror",
                 "CMSG_LEN", "CMSG_SPACE", "AddressFamily", "SocketKind"):
        assert getattr(prise, name) is getattr(socket, name), name  # the same objects
    for name in ("create_connection", "create_server", "socketpair", "fromfd",
                 "has_dualstack_ipv6", "send_fds", "recv_fds"):
        assert callable(getattr(prise, name, None)) or not hasattr(socket, name), name


@BOTH
def test_keywords_where_socket_takes_them(kind):
    a, b = socket.socketpair() if kind is STANDARD_SOCKET else prise.socketpair()
    with a, b:
        with pytest.raises(TypeError):
            b.recv(bufsize=1)
        with pytest.raises(TypeError):
            a.send(data=b"x")
        a.sendall(b"kw")
        buffer = bytearray(4)
        assert b.recv_into(buffer=buffer, nbytes=2, flags=0) == 2 and buffer[:2] == b"kw"
        a.set_inheritable(inheritable=False)


def test_fromfd_and_module_functions_make_prise_sockets():
    with prise.create_server(("127.0.0.1", 0)) as server:
        with prise.fromfd(server.fileno(), socket.AF_INET, socket.SOCK_STREAM) as copy:
            assert isinstance(copy, prise.Socket) and copy.fileno() != server.fileno()
            assert copy.getsockname() == server.getsockname()
        client = prise.create_connection(server.getsockname(), timeout=LIMIT)
        conn, _ = server.accept()
        with client, conn:
            assert isinstance(client, prise.Socket) and client.gettimeout() == LIMIT
    a, b = prise.socketpair()
    with a, b:
        assert isinstance(a, prise.Socket) and a.family == socket.AF_UNIX
    if prise.has_dualstack_ipv6():
        with prise.create_server(("::", 0), family=socket.AF_INET6, dualstack_ipv6=True) as both:
            with prise.create_connection(("127.0.0.1", both.getsockname()[1]), timeout=LIMIT) as c:
                conn, peer = both.accept()
                with conn:
                    assert peer[0] == "::ffff:127.0.0.1"


def test_sendmsg_afalg_builds_the_kernel_records(monkeypatch):
    """This machine's kernel may lack AF_ALG (CPython's own tests skip then): the records
    sendmsg_afalg hands to sendmsg are checked against the kernel's layout instead."""
    import struct
    sent = []
    monkeypatch.setattr(prise.Socket, "sendmsg",
                        lambda self, msg, ancdata, flags: sent.append((msg, ancdata, flags)) or 7)
    with prise.Socket() as sock:
        assert sock.sendmsg_afalg([b"data"], op=socket.ALG_OP_ENCRYPT, iv=b"\1" * 16,
                                  assoclen=4, flags=socket.MSG_MORE) == 7
        with pytest.raises(TypeError):
            sock.sendmsg_afalg([b"data"], op=0, assoclen=-1)
    (msg, ancdata, flags), = sent
    assert msg == [b"data"] and flags == socket.MSG_MORE
    assert ancdata == [
        (socket.SOL_ALG, socket.ALG_SET_OP, struct.pack("I", socket.ALG_OP_ENCRYPT)),
        (socket.SOL_ALG, socket.ALG_SET_IV, struct.pack("I", 16) + b"\1" * 16),  # af_alg_iv
        (socket.SOL_ALG, socket.ALG_SET_AEAD_ASSOCLEN, struct.pack("I", 4)),
    ]
