"""Python: prise.Socket against socket.socket on loopback, one measurement per run.

    py_bench.py bulk prise|socket BYTES      64 KiB sendall / recv_into
    py_bench.py pingpong prise|socket ROUNDS 1-byte round trips
    py_bench.py calls VARIANT COUNT           COUNT times a 1-byte send and receive on a
                                             socketpair, for callgrind (see CALLS)

Prints one line of key=value pairs. The peer is a forked child using the same module.
"""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import prise  # noqa: E402

CHUNK = 65536


def pair(kind):
    """A connected TCP pair over loopback, both ends of the kind measured."""
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    server, _ = listener.accept()
    listener.close()
    for end in (client, server):
        end.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if kind == "prise":
        return prise.Socket(fileno=client.detach()), prise.Socket(fileno=server.detach())
    return client, server


def bulk(kind, total):
    here, there = pair(kind)
    child = os.fork()
    if child == 0:
        here.close()
        buf = bytearray(CHUNK)
        view, got = memoryview(buf), 0
        while True:
            n = there.recv_into(view)
            if n == 0:
                break
            got += n
        there.sendall(b"k" if got == total else b"e")
        os._exit(0)
    there.close()
    data = b"x" * CHUNK
    start = time.perf_counter()
    for _ in range(total // CHUNK):
        here.sendall(data)
    here.shutdown(socket.SHUT_WR)
    ack = here.recv(1)
    seconds = time.perf_counter() - start
    os.waitpid(child, 0)
    assert ack == b"k", ack
    print("seconds=%.6f gbit_per_s=%.3f" % (seconds, total * 8 / seconds / 1e9))


def pingpong(kind, rounds):
    here, there = pair(kind)
    child = os.fork()
    if child == 0:
        here.close()
        for _ in range(rounds):
            there.sendall(there.recv(1))
        os._exit(0)
    there.close()
    start = time.perf_counter()
    for _ in range(rounds):
        here.sendall(b"p")
        here.recv(1)
    seconds = time.perf_counter() - start
    os.waitpid(child, 0)
    print("seconds=%.6f us_per_round_trip=%.3f" % (seconds, seconds * 1e6 / rounds))


def _ctypes_calls(use_errno=False, argtypes=False):
    """prise_send/prise_recv called through ctypes directly, as configured."""
    import ctypes
    lib = ctypes.CDLL(prise.LIBRARY, use_errno=use_errno)
    send, recv = lib["prise_send"], lib["prise_recv"]
    for function in (send, recv):
        function.restype = ctypes.c_ssize_t
        if argtypes:
            function.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
    buffer = (ctypes.c_char * 1)()
    return lambda a, b: (send(a.fileno(), b"p", 1, 0), recv(b.fileno(), buffer, 1, 0))


# What one 1-byte send and one 1-byte receive cost, layer by layer (bench/run.py runs
# each under callgrind): socket's methods; the ctypes call alone (no argtypes, no
# use_errno: prise's data path), with use_errno, with argtypes; prise.Socket's methods.
CALLS = {
    "socket": lambda: lambda a, b: (a.send(b"p"), b.recv(1)),
    "ctypes": _ctypes_calls,
    "ctypes_use_errno": lambda: _ctypes_calls(use_errno=True),
    "ctypes_argtypes": lambda: _ctypes_calls(argtypes=True),
    "prise": lambda: lambda a, b: (a.send(b"p"), b.recv(1)),
    "prise_sendall_recv_into": lambda: lambda a, b, buffer=bytearray(1): (
        a.sendall(b"p"), b.recv_into(buffer)),
}


def calls(variant, count):
    a, b = socket.socketpair()
    if variant.startswith("prise"):
        a, b = prise.Socket(fileno=a.detach()), prise.Socket(fileno=b.detach())
    step = CALLS[variant]()
    for _ in range(count):
        step(a, b)
    print("calls=%d" % count)


if __name__ == "__main__":
    modes = {"bulk": bulk, "pingpong": pingpong, "calls": calls}
    if len(sys.argv) != 4 or sys.argv[1] not in modes or (
            sys.argv[1] != "calls" and sys.argv[2] not in ("prise", "socket")):
        sys.exit("usage: py_bench.py bulk|pingpong prise|socket COUNT, or calls VARIANT COUNT")
    modes[sys.argv[1]](sys.argv[2], int(sys.argv[3]))
