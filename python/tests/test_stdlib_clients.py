"""The standard library's own clients and servers, unmodified, over prise sockets:
http.client and urllib against http.server, smtplib, ftplib (control and data
connections), socketserver's stream handler, asyncio streams and selectors.

`swapped` puts prise.Socket in place of socket.socket, as a user would to make a library
run on prise; each test also checks that the sockets doing the work are prise's."""

import asyncio
import ftplib
import http.client
import http.server
import io
import selectors
import smtplib
import socket
import socketserver
import threading
import urllib.request

import pytest

import prise

STANDARD_SOCKET = socket.socket
TIMEOUT = 10


@pytest.fixture
def swapped(monkeypatch):
    """socket.socket is prise.Socket for the test (socket.create_connection,
    socketserver, http, smtplib and ftplib all make their sockets through it)."""
    monkeypatch.setattr(socket, "socket", prise.Socket)


def serve(server):
    """Runs a socketserver in a thread; returns a function that stops it."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()

    def stop():
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT)
        assert not thread.is_alive()
    return stop


class Page(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: several requests on one connection

    def do_GET(self):
        body = ("you asked for %s" % self.path).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))[::-1]
        self.send_response(201)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_http_client_and_urllib_against_http_server(swapped):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    assert isinstance(server.socket, prise.Socket)
    stop = serve(server)
    try:
        host, port = server.server_address
        connection = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
        connection.request("GET", "/bonjour")
        assert isinstance(connection.sock, prise.Socket)
        response = connection.getresponse()
        assert (response.status, response.read()) == (200, b"you asked for /bonjour")
        payload = bytes(range(256)) * 1000  # kept alive: the same connection again
        connection.request("POST", "/echo", body=payload)
        response = connection.getresponse()
        assert (response.status, response.read()) == (201, payload[::-1])
        connection.close()

        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open("http://%s:%d/via/urllib" % (host, port), timeout=TIMEOUT) as page:
            assert page.read() == b"you asked for /via/urllib"
    finally:
        stop()


class SmtpSink(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: EHLO, MAIL, RCPT, DATA, QUIT; keeps what it got."""
    received = []

    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        self.reply("220 prise test")
        sender, recipients = None, []
        for raw in self.rfile:
            command = raw.decode().strip()
            verb = command[:4].upper()
            if verb == "EHLO":
                self.reply("250-prise\r\n250 8BITMIME")
            elif verb == "MAIL":
                sender = command.split(":", 1)[1].strip(" <>")
                self.reply("250 OK")
            elif verb == "RCPT":
                recipients.append(command.split(":", 1)[1].strip(" <>"))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 go on")
                lines = []
                for line in self.rfile:
                    if line == b".\r\n":
                        break
                    lines.append(line)
                self.received.append((sender, recipients, b"".join(lines)))
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not here")


def test_smtplib_over_socketserver_stream_handler(swapped):
    SmtpSink.received = []
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), SmtpSink)
    stop = serve(server)
    try:
        with smtplib.SMTP(*server.server_address, timeout=TIMEOUT) as client:
            assert isinstance(client.sock, prise.Socket)
            client.sendmail("alice@example.org", ["bob@example.org", "eve@example.org"],
                            "Subject: prise\r\n\r\nUne prise, deux fiches.\r\n")
    finally:
        stop()
    assert SmtpSink.received == [("alice@example.org", ["bob@example.org", "eve@example.org"],
                                  b"Subject: prise\r\n\r\nUne prise, deux fiches.\r\n")]


class FtpServer(socketserver.StreamRequestHandler):
    """Just enough FTP for ftplib: USER, PASS, TYPE, PASV, STOR, RETR, NLST, QUIT, over a
    passive data connection per transfer. Files live in a dict."""
    files = {}

    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")

    def data_connection(self):
        conn, _ = self.passive.accept()
        self.passive.close()
        return conn

    def handle(self):
        self.reply("220 prise ftp")
        for raw in self.rfile:
            verb, _, argument = raw.decode().strip().partition(" ")
            verb = verb.upper()
            if verb in ("USER", "PASS", "TYPE"):
                self.reply({"USER": "331 password", "PASS": "230 in", "TYPE": "200 ok"}[verb])
            elif verb == "PASV":
                self.passive = socket.create_server(("127.0.0.1", 0))
                port = self.passive.getsockname()[1]
                self.reply("227 Passive (127,0,0,1,%d,%d)" % (port >> 8, port & 255))
            elif verb == "STOR":
                self.reply("150 send")
                with self.data_connection() as conn:
                    chunks = []
                    while chunk := conn.recv(65536):
                        chunks.append(chunk)
                self.files[argument] = b"".join(chunks)
                self.reply("226 stored")
            elif verb == "RETR":
                self.reply("150 here")
                with self.data_connection() as conn:
                    conn.sendall(self.files[argument])
                self.reply("226 sent")
            elif verb == "NLST":
                self.reply("150 list")
                with self.data_connection() as conn:
                    conn.sendall("".join(n + "\r\n" for n in sorted(self.files)).encode())
                self.reply("226 listed")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not here")


def test_ftplib_control_and_data_connections(swapped):
    FtpServer.files = {}
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), FtpServer)
    stop = serve(server)
    try:
        host, port = server.server_address
        with ftplib.FTP(timeout=TIMEOUT) as client:
            client.connect(host, port)
            assert isinstance(client.sock, prise.Socket)
            client.login("anonymous", "guest")
            content = bytes(range(256)) * 4096  # 1 MiB through a data connection
            client.storbinary("STOR big.bin", io.BytesIO(content))
            got = []
            client.retrbinary("RETR big.bin", got.append)
            assert b"".join(got) == content
            client.storlines("STOR notes.txt", io.BytesIO(b"a line\r\nanother\r\n"))
            assert client.nlst() == ["big.bin", "notes.txt"]
    finally:
        stop()
    assert FtpServer.files["notes.txt"] == b"a line\r\nanother\r\n"


class Shout(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line.upper())


@pytest.mark.parametrize("family,host", [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")])
def test_socketserver_stream_handler_lines(swapped, family, host):
    class Server(socketserver.ThreadingTCPServer):
        address_family = family
    server = Server((host, 0), Shout)
    stop = serve(server)
    try:
        with socket.create_connection(server.server_address[:2], timeout=TIMEOUT) as client:
            assert isinstance(client, prise.Socket) and client.family == family
            reader = client.makefile("rb")
            for i in range(100):
                client.sendall(b"line %d\n" % i)
                assert reader.readline() == b"LINE %d\n" % i
            reader.close()
    finally:
        stop()


def test_asyncio_streams_on_prise_sockets():
    """open_connection(sock=...) and start_server(sock=...) with prise sockets given to
    them, no swap: asyncio drives them non-blocking through its selector."""
    async def shout(reader, writer):
        while line := await reader.readline():
            writer.write(line.upper())
            await writer.drain()
        writer.close()

    async def main():
        listener = prise.create_server(("127.0.0.1", 0))
        server = await asyncio.start_server(shout, sock=listener, limit=1 << 20)
        client_sock = prise.Socket(socket.AF_INET, socket.SOCK_STREAM)
        client_sock.connect(listener.getsockname())
        reader, writer = await asyncio.open_connection(sock=client_sock, limit=1 << 20)
        assert writer.get_extra_info("socket").fileno() == client_sock.fileno()
        big = b"x" * 300000 + b"\n"  # larger than a socket buffer: partial sends
        for line in (b"abc\n", big, b"end\n"):
            writer.write(line)
            await writer.drain()
            assert await asyncio.wait_for(reader.readline(), TIMEOUT) == line.upper()
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_asyncio_sock_calls():
    """loop.sock_connect/sock_sendall/sock_recv/sock_accept on prise sockets."""
    async def main():
        loop = asyncio.get_running_loop()
        listener = prise.create_server(("127.0.0.1", 0))
        listener.setblocking(False)
        client = prise.Socket()
        client.setblocking(False)
        accepting = loop.create_task(loop.sock_accept(listener))
        await loop.sock_connect(client, listener.getsockname())
        conn, _ = await asyncio.wait_for(accepting, TIMEOUT)
        assert isinstance(conn, prise.Socket)
        conn.setblocking(False)
        data = bytes(range(256)) * 4000
        sending = loop.create_task(loop.sock_sendall(client, data))
        got = bytearray()
        while len(got) < len(data):
            got += await asyncio.wait_for(loop.sock_recv(conn, 65536), TIMEOUT)
        await sending
        assert got == data
        for sock in (client, conn, listener):
            sock.close()

    asyncio.run(asyncio.wait_for(main(), 60))


def test_selectors_echo_loop():
    """A selector-driven echo server over prise sockets, three clients at once."""
    listener = prise.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "accept")
    clients = [prise.create_connection(listener.getsockname(), timeout=TIMEOUT) for _ in range(3)]
    for i, client in enumerate(clients):
        client.sendall(b"client %d\n" % i)
    answered, served = {}, []
    for _ in range(200):
        if len(answered) == 3:
            break
        for key, _ in selector.select(timeout=0.1):
            if key.data == "accept":
                conn, _ = listener.accept()
                conn.setblocking(False)
                served.append(conn)
                selector.register(conn, selectors.EVENT_READ, "echo")
            else:
                data = key.fileobj.recv(100)
                if data:
                    key.fileobj.sendall(data.upper())
        for i, client in enumerate(clients):
            if i not in answered:
                client.settimeout(0)
                try:
                    answered[i] = client.recv(100)
                except BlockingIOError:
                    pass
    assert answered == {i: b"CLIENT %d\n" % i for i in range(3)}
    selector.close()
    for sock in clients + served + [listener]:
        sock.close()
