#!/usr/bin/env python3
"""make load: many concurrent clients, each sending random data and checking its echo
byte for byte, against the threaded, forking and epoll example servers and
prise_serve_events (echo_serve --events, whose backpressure this exercises); afterwards
each server must hold no more descriptors than before (/proc/<pid>/fd).

    tests/load.py [--clients N] [--bytes N]     (make load: 500 clients of 1 MiB)
"""

import argparse
import os
import signal
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))
os.environ.setdefault("PRISE_LIBRARY", os.path.join(ROOT, "target", "release", "libprise.so"))
import prise  # noqa: E402

SERVERS = [["echo/echo_server_threads"], ["echo/echo_server_fork"], ["evented/echo_epoll"],
           ["serve/echo_serve", "--events"]]


def descriptors(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def client(port, size, seed, results, index):
    data = (seed[index % len(seed):] + seed[:index % len(seed)])[:size]
    received = bytearray(size)
    try:
        with prise.tcp_connect("127.0.0.1", port, timeout=30) as sock:
            sock.settimeout(60)
            sender = threading.Thread(target=sock.sendall, args=(data,))
            sender.start()
            view, got = memoryview(received), 0
            while got < size:
                n = sock.recv_into(view[got:])
                if n == 0:
                    break
                got += n
            sender.join(60)
        results[index] = got if bytes(received) == data else -1
    except OSError as error:
        results[index] = error


def run(command, clients, size):
    path = " ".join(command)
    server = subprocess.Popen([os.path.join(ROOT, "build", "examples", command[0])] + command[1:] + ["0"],
                              stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        port = int(server.stdout.readline().rsplit(":", 1)[1])
        # One echo first: the server is in its loop, with whatever it keeps open there.
        with prise.tcp_connect("127.0.0.1", port, timeout=30) as sock:
            sock.settimeout(30)
            sock.sendall(b"?")
            sock.recv(1)
        time.sleep(0.1)
        before = descriptors(server.pid)
        seed = os.urandom(size)
        results = [None] * clients
        started = time.time()
        threads = [threading.Thread(target=client, args=(port, size, seed, results, i))
                   for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(300)
        elapsed = time.time() - started
        good = sum(1 for r in results if isinstance(r, int) and r == size)
        failures = [r for r in results if not (isinstance(r, int) and r == size)]
        deadline = time.time() + 10
        while descriptors(server.pid) > before and time.time() < deadline:
            time.sleep(0.05)
        after = descriptors(server.pid)
        print("%-28s %d/%d clients exact, %d bytes checked, %.1f s, server descriptors %d -> %d"
              % (path, good, clients, good * size, elapsed, before, after), flush=True)
        if failures:
            print("  first failures: %r" % failures[:3])
        return good == clients and after <= before
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--bytes", type=int, default=1 << 20)
    args = parser.parse_args()
    ok = all([run(command, args.clients, args.bytes) for command in SERVERS])
    print("load: %s" % ("every byte accounted for, no descriptor leaked" if ok else "FAILED"))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
