"""A C example server with a Python client, and a Python server with a C example client
(the examples are built by `make`)."""

import os
import subprocess
import threading

import pytest

import prise
from conftest import REPO

EXAMPLES = os.path.join(REPO, "build", "examples")


def example(path):
    program = os.path.join(EXAMPLES, path)
    if not os.path.exists(program):
        pytest.fail("%s is not built: run `make examples`" % program)
    return program


def start_server(path):
    server = subprocess.Popen([example(path), "0"], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    line = server.stdout.readline()
    return server, int(line.rsplit(":", 1)[1])


def stop(server):
    server.kill()
    server.wait(10)


@pytest.mark.parametrize("path", ["echo/echo_server_threads", "evented/echo_epoll"])
def test_c_server_python_clients(path):
    server, port = start_server(path)
    try:
        for host in ("127.0.0.1", "localhost"):
            with prise.tcp_connect(host, port, timeout=5) as client:
                client.settimeout(10)
                data = os.urandom(200000)
                sender = threading.Thread(target=client.sendall, args=(data,))
                sender.start()
                received = bytearray(len(data))
                view, got = memoryview(received), 0
                while got < len(data):
                    n = client.recv_into(view[got:])
                    assert n > 0
                    got += n
                sender.join(10)
                assert bytes(received) == data
    finally:
        stop(server)


def test_python_server_c_client():
    with prise.tcp_listen("127.0.0.1", 0) as server:
        port = server.getsockname()[1]

        def serve_one():
            conn, _ = server.accept()
            with conn:
                conn.settimeout(10)
                while True:
                    data = conn.recv(4096)
                    if not data:
                        return
                    conn.sendall(data)

        thread = threading.Thread(target=serve_one)
        thread.start()
        lines = "from C to Python\nand back\n"
        result = subprocess.run([example("echo/echo_client"), "127.0.0.1", str(port)],
                                input=lines, capture_output=True, text=True, timeout=20)
        thread.join(10)
        assert result.returncode == 0, result.stderr
        assert result.stdout == lines


def test_python_udp_client_c_udp_server():
    server, port = start_server("echo/udp_echo_server")
    try:
        with prise.udp_connect("::1", port) as client:
            client.settimeout(5)
            client.send(b"from python")
            assert client.recv(100) == b"from python"
    finally:
        stop(server)
