"""Address text and sockaddr bytes go through prise's C functions (prise_addr_parse,
prise_addr_format, prise_local_address, prise_peer_address): round trips for every form,
hostile text refused with prise's sentence, and prise.Socket still taking and giving
addresses exactly as socket.socket does."""

import errno
import os
import socket

import pytest

import prise

BOTH = pytest.mark.parametrize("kind", [socket.socket, prise.Socket], ids=["socket", "prise"])
LO = socket.if_nametoindex("lo")

# text -> (the address as socket writes it, the text prise_addr_format gives back)
ROUND_TRIPS = [
    ("127.0.0.1:80", ("127.0.0.1", 80), "127.0.0.1:80"),
    ("0.0.0.0:0", ("0.0.0.0", 0), "0.0.0.0:0"),
    ("255.255.255.255:65535", ("255.255.255.255", 65535), "255.255.255.255:65535"),
    ("[::1]:80", ("::1", 80, 0, 0), "[::1]:80"),
    ("[::]:0", ("::", 0, 0, 0), "[::]:0"),
    ("[::ffff:1.2.3.4]:9", ("::ffff:1.2.3.4", 9, 0, 0), "[::ffff:1.2.3.4]:9"),
    ("[fe80::1%lo]:8", ("fe80::1", 8, 0, LO), "[fe80::1%lo]:8"),
    ("[fe80::1%%%d]:8" % LO, ("fe80::1", 8, 0, LO), "[fe80::1%lo]:8"),
    ("unix:/tmp/prise.sock", "/tmp/prise.sock", "unix:/tmp/prise.sock"),
    ("/tmp/prise.sock", "/tmp/prise.sock", "unix:/tmp/prise.sock"),
    ("unix:relative.sock", "relative.sock", "unix:relative.sock"),
    ("@prise-name", b"\0prise-name", "unix:@prise-name"),
    ("unix:@prise-name", b"\0prise-name", "unix:@prise-name"),
    ("unix:(unnamed)", "", "unix:(unnamed)"),
    ("unix:/tmp/" + "p" * 102, "/tmp/" + "p" * 102, "unix:/tmp/" + "p" * 102),
    ("@" + "a" * 107, b"\0" + b"a" * 107, "unix:@" + "a" * 107),
]


@pytest.mark.parametrize("text,address,canonical", ROUND_TRIPS, ids=[r[0][:40] for r in ROUND_TRIPS])
def test_parse_and_format_round_trip(text, address, canonical):
    assert prise.parse_address(text) == address
    assert prise.format_address(address) == canonical
    assert prise.parse_address(canonical) == address
    assert prise.parse_address(text.encode()) == address  # bytes text as well


# text -> the errno prise_addr_parse gives for it
HOSTILE = [
    ("", errno.EINVAL),
    ("127.0.0.1", errno.EINVAL),  # no port
    ("127.0.0.1:", errno.EINVAL),
    ("127.0.0.1:65536", errno.EINVAL),
    ("127.0.0.1:-1", errno.EINVAL),
    ("127.0.0.1:8x", errno.EINVAL),
    ("127.0.0.1:99999999999999999999", errno.EINVAL),
    ("127.0.0.01:80", errno.EINVAL),
    ("localhost:80", errno.EINVAL),  # numeric only: names are for getaddrinfo
    ("::1:80", errno.EINVAL),  # IPv6 goes in brackets
    ("[::1", errno.EINVAL),
    ("[::1]", errno.EINVAL),
    ("[::1]:", errno.EINVAL),
    ("[::1]80", errno.EINVAL),
    ("[fe80::1%no-such-interface]:80", errno.EINVAL),
    ("[1.2.3.4]:80", errno.EINVAL),
    ("unix:", errno.EINVAL),
    ("unix:/" + "p" * 200, errno.ENAMETOOLONG),
    ("/tmp/" + "p" * 103, errno.ENAMETOOLONG),  # 108 bytes: no room for the NUL
    ("@" + "a" * 108, errno.ENAMETOOLONG),
    ("x" * 100000, errno.EINVAL),
    (b"\xff\xfe:80", errno.EINVAL),  # not UTF-8
]


@pytest.mark.parametrize("text,code", HOSTILE, ids=[repr(h[0])[:40] for h in HOSTILE])
def test_hostile_text_is_refused_with_prise_sentence(text, code):
    with pytest.raises(OSError) as raised:
        prise.parse_address(text)
    assert raised.value.errno == code
    assert raised.value.strerror == prise.last_error() and raised.value.strerror


def test_text_that_cannot_reach_c_whole_is_refused_before():
    for text in ("127.0.0.1:80\0garbage", "@a\0b", b"unix:/tmp/a\0b"):
        with pytest.raises(ValueError):
            prise.parse_address(text)
    for text in (None, 80, ("127.0.0.1", 80)):
        with pytest.raises(TypeError):
            prise.parse_address(text)


def test_format_refuses_what_socket_refuses():
    with pytest.raises(OverflowError):
        prise.format_address(("127.0.0.1", 70000))
    with pytest.raises(OverflowError):
        prise.format_address(("::1", 80, 1 << 20, 0))
    with pytest.raises(TypeError):
        prise.format_address(12)
    with pytest.raises(OSError):
        prise.format_address("/tmp/" + "p" * 200)
    with pytest.raises(socket.gaierror):
        prise.format_address(("nosuchhost.invalid", 80))


def test_format_writes_bytes_text_cannot_carry_escaped():
    text = prise.format_address(b"\0bin\0ary\n\xff")
    assert text.startswith("unix:@bin") and "\n" not in text and "\0" not in text


def test_local_and_peer_address_text_on_real_sockets(tmp_path):
    with prise.tcp_listen("127.0.0.1", 0) as server:
        port = server.getsockname()[1]
        assert server.local_address() == "127.0.0.1:%d" % port
        with pytest.raises(OSError) as raised:
            server.peer_address()
        assert raised.value.errno == errno.ENOTCONN and raised.value.strerror
        with prise.tcp_connect("127.0.0.1", port) as client:
            conn, _ = server.accept()
            with conn:
                assert client.peer_address() == "127.0.0.1:%d" % port
                assert conn.peer_address() == client.local_address()
                assert prise.parse_address(conn.peer_address()) == client.getsockname()
    with prise.Socket(socket.AF_INET6) as server:
        server.bind(("::1", 0))
        assert server.local_address() == "[::1]:%d" % server.getsockname()[1]
    path = str(tmp_path / ("prise-%d.sock" % os.getpid()))
    with prise.unix_listen(path) as server:
        assert server.local_address() == "unix:" + path
    closed = prise.Socket()
    closed.close()
    with pytest.raises(OSError) as raised:
        closed.local_address()
    assert raised.value.errno == errno.EBADF


# ---- prise.Socket takes and gives addresses as socket.socket does ----

def outcome(call):
    """The result of call, or the type of what it raised (for side-by-side checks)."""
    try:
        return call()
    except Exception as error:  # compared across socket and prise
        return type(error)


def both(make):
    """make(kind) run with socket.socket and prise.Socket: the two outcomes."""
    return [outcome(lambda: make(kind)) for kind in (socket.socket, prise.Socket)]


def bound_name(family, address, type=socket.SOCK_STREAM):
    def make(kind):
        with kind(family, type) as sock:
            sock.bind(address)
            name = sock.getsockname()
            return (name[0],) + name[2:]  # the port is the kernel's pick, 0 asked
    return make


@pytest.mark.parametrize("family,address", [
    (socket.AF_INET, ("", 0)),
    (socket.AF_INET, ("127.0.0.1", 0)),
    (socket.AF_INET, ("127.1", 0)),
    (socket.AF_INET, ("localhost", 0)),
    (socket.AF_INET, (b"127.0.0.1", 0)),
    (socket.AF_INET, ("unix:/x", 0)),
    (socket.AF_INET, ("/x", 0)),
    (socket.AF_INET, ("@x", 0)),
    (socket.AF_INET, ("1.2.3.4:5", 0)),
    (socket.AF_INET, ("::1", 0)),
    (socket.AF_INET, ("127.0.0.1", 1 << 16)),
    (socket.AF_INET6, ("::1", 0)),
    (socket.AF_INET6, ("", 0)),
    (socket.AF_INET6, ("::1", 0, 5, 0)),
    (socket.AF_INET6, ("::1", 0, 1 << 20, 0)),
    (socket.AF_INET6, ("::1", 0, 0, 1 << 32)),  # socket wraps scope_id and flowinfo
    (socket.AF_INET6, ("::1", 0, (1 << 32) + 3, -1)),
    (socket.AF_INET6, ("::1", 0, -1, 0)),
    (socket.AF_INET6, ("::1", 0, 1.5, 0)),
    (socket.AF_INET6, ("fe80::1%no-such-interface", 0)),
    (socket.AF_INET6, ("127.0.0.1", 0)),
])
def test_ip_addresses_as_socket(family, address):
    results = both(bound_name(family, address))
    if results[0] is OSError and isinstance(results[1], type):
        assert issubclass(results[1], OSError)  # errno aside, the kernel's answer
    else:
        assert results[0] == results[1], address


def test_broadcast_and_scope_as_socket():
    def broadcast(kind):
        with kind(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
            sock.connect(("<broadcast>", 9))  # UDP connect sends nothing
            return sock.getpeername()
    assert both(broadcast) == [("255.255.255.255", 9)] * 2

    def scoped(kind):
        with kind(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.connect(("fe80::1", 9, 0, LO))
            return sock.getpeername()
    first, second = both(scoped)
    assert first == second


def test_ipv4_compatible_text_as_socket_writes_it():
    # glibc writes ::1.2.3.4 dotted; the tuple is socket's, not prise's text form
    assert (prise.getaddrinfo("::1.2.3.4", 80, socket.AF_INET6)[0][4]
            == socket.getaddrinfo("::1.2.3.4", 80, socket.AF_INET6)[0][4])


@pytest.mark.parametrize("name", [
    b"\0prise-bin\0ary\xff\n-%d" % os.getpid(),
    b"\0",
    b"\0" + b"z" * 107,
    b"\0" + b"z" * 108,
    "(unnamed)",
    "@at-%d" % os.getpid(),
    os.fsdecode(b"prise-\xff-%d" % os.getpid()),
    b"prise-bytes-%d" % os.getpid(),
    "nul\0inside-%d" % os.getpid(),
    "p" * 107,
    "p" * 108,
    bytearray(b"prise-bytearray-%d" % os.getpid()),
    12,
])
def test_unix_names_as_socket(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    def make(kind):
        with kind(socket.AF_UNIX) as sock:
            sock.bind(name)
            bound = sock.getsockname()
        for entry in os.listdir(tmp_path):  # the next kind binds the same name
            os.unlink(entry)
        return bound
    first, second = both(make)
    assert first == second and type(first) is type(second)


def test_unix_name_too_long_is_oserror_with_prise_sentence():
    with prise.Socket(socket.AF_UNIX) as sock, pytest.raises(OSError) as raised:
        sock.bind("/tmp/" + "p" * 200)
    assert raised.value.errno == errno.ENAMETOOLONG and "sun_path" in str(raised.value)


def test_unsupported_family_is_named_errno():
    from prise._address import to_sockaddr
    with pytest.raises(OSError) as raised:
        to_sockaddr(socket.AF_APPLETALK, ("127.0.0.1", 0), None)
    assert raised.value.errno == errno.EAFNOSUPPORT
