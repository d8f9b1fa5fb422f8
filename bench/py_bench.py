"""Python: prise.Socket against socket.socket on loopback, one measurement per run.

    py_bench.py bulk prise|socket BYTES      64 KiB sendall / recv_into
    py_bench.py pingpong prise|socket ROUNDS 1-byte round trips

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


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("bulk", "pingpong") or sys.argv[2] not in ("prise", "socket"):
        sys.exit("usage: py_bench.py bulk|pingpong prise|socket COUNT")
    {"bulk": bulk, "pingpong": pingpong}[sys.argv[1]](sys.argv[2], int(sys.argv[3]))
