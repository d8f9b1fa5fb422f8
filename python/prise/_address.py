"""Addresses as Python's socket module writes them, to and from C sockaddr bytes:
(host, port) for IPv4, (host, port, flowinfo, scope_id) for IPv6, a path for Unix (str:
a file; bytes starting with NUL: the Linux abstract namespace; '': autobind). Mistakes
raise what socket raises for them (TypeError, OverflowError, OSError, socket.gaierror).

The bytes are built by the C library from an address's text (prise_addr_parse) and
written as text by it (prise_addr_format), so their layout, lengths and limits are the
core's; a failure there is OSError with prise's sentence."""

import ctypes
import errno
import functools
import operator
import os
import socket
import struct

from . import _lib
from ._lib import lib

AF_INET = socket.AF_INET
AF_INET6 = socket.AF_INET6
AF_UNIX = socket.AF_UNIX
_FLOWINFO_MAX = 0xFFFFF
_UINT_MAX = 0xFFFFFFFF


def _c_text(text):
    """text (str or bytes-like) as the bytes of a C string: a NUL inside would cut it
    short unseen, so it is refused (ValueError)."""
    if isinstance(text, str):
        text = text.encode("utf-8", "surrogateescape")
    elif isinstance(text, (bytes, bytearray)):
        text = bytes(text)
    else:
        raise TypeError("an address text is a str or bytes, not %s" % type(text).__name__)
    if b"\0" in text:
        raise ValueError("address text contains a NUL character")
    return text


def sockaddr_of_text(text):
    """The sockaddr bytes of "127.0.0.1:80", "[::1]:80", "[fe80::1%eth0]:80",
    "unix:/path", "/path", "@abstract", "unix:(unnamed)" (prise_addr_parse)."""
    storage = _lib.sockaddr_storage()
    size = _lib.socklen_t(ctypes.sizeof(storage))
    if lib.prise_addr_parse(_c_text(text), ctypes.byref(storage), ctypes.byref(size)) < 0:
        raise _lib.error()
    return ctypes.string_at(ctypes.addressof(storage), size.value)


def text_from(function, *args):
    """The text a prise function writes into (buf, n) after args (prise_addr_format,
    prise_local_address, ...), in a buffer grown while it reports ENOSPC."""
    room = 64
    for _ in range(4):  # 64 * 4**3 bytes: more than any address's text
        buffer = ctypes.create_string_buffer(room)
        length = function(*args, buffer, room)
        if length >= 0:
            return buffer.raw[:length].decode("utf-8", "replace")
        if _lib.last_errno() != errno.ENOSPC:
            break
        room *= 4
    raise _lib.error()


def text_of_sockaddr(raw):
    """prise_addr_format's text for sockaddr bytes: "127.0.0.1:80", "unix:@name", ..."""
    return text_from(lib.prise_addr_format, raw, len(raw))


# Where sun_path starts: the length of the unnamed Unix address, as the core builds it.
_SUN_PATH_OFFSET = len(sockaddr_of_text("unix:(unnamed)"))


def check_port(port):
    """A port number 0-65535 (ValueError otherwise) or a service name (str), as bytes
    for the helpers' C calls."""
    if isinstance(port, bool):
        raise TypeError("port must be an int or a service name, not bool")
    if isinstance(port, int):
        if not 0 <= port <= 65535:
            raise ValueError("port %d is out of range: a port is 0-65535" % port)
        return str(port).encode()
    if isinstance(port, str):
        if not port:
            raise ValueError("port is an empty string")
        return port.encode()
    if isinstance(port, bytes):
        return port
    raise TypeError("port must be an int or a service name, not %s" % type(port).__name__)


def check_host(host, allow_none=False):
    """A host name or address as bytes; None only where the call allows it."""
    if host is None:
        if allow_none:
            return None
        raise TypeError("host must be a str, not None")
    if isinstance(host, str):
        if "\0" in host:
            raise ValueError("host contains a NUL character")
        return host.encode("idna") if not host.isascii() else host.encode()
    if isinstance(host, (bytes, bytearray)):
        if b"\0" in host:
            raise ValueError("host contains a NUL character")
        return bytes(host)
    raise TypeError("str, bytes or bytearray expected, not %s" % type(host).__name__)


def unix_sockaddr(path):
    """A sockaddr_un as socket builds it: str paths are encoded as the file system
    encodes names; a leading NUL is the abstract namespace (the length is the name's, no
    terminator); '' is the unnamed address (bind: the kernel picks an abstract name)."""
    if isinstance(path, str):
        path = os.fsencode(path)
    try:
        path = bytes(memoryview(path))
    except TypeError:
        raise TypeError("a Unix address is a str or a bytes-like object, not %s"
                        % type(path).__name__) from None
    if not path:
        return sockaddr_of_text("unix:(unnamed)")
    abstract = path.startswith(b"\0")
    name = path[1:] if abstract else path
    try:
        text = name.decode()
    except UnicodeDecodeError:
        text = None
    # prise's text is UTF-8 without NUL and reads a leading '@' or "(unnamed)" as its own
    # forms, while socket takes any bytes (an abstract name is binary): such a name is
    # built for a stand-in of its length, the core deciding layout, length and limit,
    # then its own bytes are copied over the stand-in's.
    carried = text is not None and "\0" not in text and (
        abstract or not (text.startswith("@") or text == "(unnamed)"))
    raw = sockaddr_of_text(("@" if abstract else "unix:") + (text if carried else "x" * len(name)))
    if carried:
        return raw
    end = len(raw) if abstract else len(raw) - 1  # a file path keeps its final NUL
    return raw[:end - len(name)] + name + raw[end:]


def _port(value, caller):
    port = operator.index(value)
    if not 0 <= port <= 65535:
        raise OverflowError("%s(): port must be 0-65535." % caller)
    return port


def _uint(value, name):
    number = operator.index(value)
    if not 0 <= number <= _UINT_MAX:
        raise OverflowError("%s must be 0-%d, not %d" % (name, _UINT_MAX, number))
    return number


def _host_text(host):
    if isinstance(host, (bytes, bytearray)):
        host = bytes(host).decode("ascii")
    if not isinstance(host, str):
        raise TypeError("str, bytes or bytearray expected, not %s" % type(host).__name__)
    if "\0" in host:
        raise TypeError("host name must not contain null character")
    return host


def _family(raw):
    """The sa_family_t that starts sockaddr bytes."""
    return struct.unpack_from("=H", raw)[0]


def _parsed_or_none(text):
    try:
        return sockaddr_of_text(text)
    except (OSError, ValueError):
        return None


# sendto and connect build the same few addresses again and again: a numeric text always
# gives the same bytes, so they are kept (an interface name after '%' is not: it may
# name another interface tomorrow).
_numeric_sockaddr = functools.lru_cache(maxsize=256)(_parsed_or_none)


def _ip_sockaddr(family, host, port, scope_id, resolve):
    """The sockaddr of a numeric host (prise_addr_parse), else of the address `resolve`
    finds for a name (socket.gaierror when none)."""
    if "[" in host or "]" in host:
        # prise's text and resolver take "[::1]"; socket's hosts are bare, as its
        # resolver's are.
        raise socket.gaierror(socket.EAI_NONAME, "host %r: no brackets around an address "
                              "(write ::1, not [::1])" % host)
    for attempt in range(2):
        if family == AF_INET:
            text = "%s:%d" % (host, port)
        else:
            scope = "%%%d" % scope_id if scope_id and "%" not in host else ""
            text = "[%s%s]:%d" % (host, scope, port)
        # The second attempt is uncached: its failure's sentence is the one raised.
        cached = attempt == 0 and "%" not in host
        raw = _numeric_sockaddr(text) if cached else _parsed_or_none(text)
        # A host such as "/x" or "@x" reads as a Unix address: a name, not a number.
        if raw is not None and _family(raw) == family:
            return raw
        if attempt == 0:
            host = resolve(host, port, family)[0]
    raise _lib.error()


def to_sockaddr(family, address, resolve, caller="bind"):
    """sockaddr bytes for `address` in `family`; `resolve(host, port, family)` turns a
    name into a numeric address (socket.gaierror when it cannot)."""
    if family == AF_UNIX:
        return unix_sockaddr(address)
    other = _OTHER_FAMILIES.get(family)
    if other is not None:
        return other[0](address, caller)
    if family not in (AF_INET, AF_INET6):
        raise OSError(errno.EAFNOSUPPORT, "%s(): address family %d is not supported by "
                      "prise.Socket" % (caller, family))
    name = "AF_INET" if family == AF_INET else "AF_INET6"
    if not isinstance(address, tuple):
        raise TypeError("%s(): %s address must be tuple, not %s"
                        % (caller, name, type(address).__name__))
    most = 2 if family == AF_INET else 4
    if not 2 <= len(address) <= most:
        raise TypeError("%s address must be a %s" % (
            name, "pair (host, port)" if family == AF_INET
            else "tuple (host, port[, flowinfo[, scopeid]])"))
    port = _port(address[1], caller)
    host = address[0]
    if isinstance(host, (bytes, bytearray)) and not bytes(host).isascii():
        # No numeric address: socket hands such a name to the resolver as it is.
        host = resolve(bytes(host), port, family)[0]
    host = _host_text(host)
    if family == AF_INET:
        host = {"": "0.0.0.0", "<broadcast>": "255.255.255.255"}.get(host, host)
        return _ip_sockaddr(family, host, port, 0, resolve)
    # socket reads both as C unsigned ints, wrapping (its format "I"), then bounds flowinfo.
    if host == "<broadcast>":  # IPv4's word: socket refuses it here in these words
        raise OSError("address family mismatched")
    flowinfo = operator.index(address[2]) & _UINT_MAX if len(address) > 2 else 0
    scope_id = operator.index(address[3]) & _UINT_MAX if len(address) > 3 else 0
    if flowinfo > _FLOWINFO_MAX:
        raise OverflowError("%s(): flowinfo must be 0-%d." % (caller, _FLOWINFO_MAX))
    raw = _ip_sockaddr(family, host or "::", port, scope_id, resolve)
    if not flowinfo:
        return raw
    # prise's text has no flowinfo: it goes in sin6_flowinfo (after family and port).
    return raw[:4] + struct.pack("!I", flowinfo) + raw[8:]


# A pure function of the bytes, called for each datagram (recvfrom) and connection
# (accept): the cache spares the C call for the peers seen last.
@functools.lru_cache(maxsize=256)
def from_sockaddr(raw):
    """The Python form of sockaddr bytes (None for an empty address, as socket gives
    for the sender on a connected stream)."""
    if len(raw) < 2:
        return None
    family = _family(raw)
    if family == AF_INET:
        host, _, port = text_of_sockaddr(raw).rpartition(":")
        if port.isdigit():
            return (host, int(port))
    # socket's IPv6 tuple has flowinfo and a numeric scope_id, which prise's text has
    # not, and its host is inet_ntop's ("::1.2.3.4", where the text has "::102:304").
    if family == AF_INET6 and len(raw) >= 28:
        port, flowinfo = struct.unpack_from("!HI", raw, 2)
        scope_id = struct.unpack_from("=I", raw, 24)[0]
        return (socket.inet_ntop(AF_INET6, raw[8:24]), port, flowinfo, scope_id)
    other = _OTHER_FAMILIES.get(family)
    if other is not None:
        return other[1](raw)
    # socket gives a Unix name's own bytes (an abstract one with its leading NUL, a file
    # path decoded as the file system names it), which prise's text escapes.
    if family == AF_UNIX:
        path = raw[_SUN_PATH_OFFSET:]
        if path.startswith(b"\0"):
            return path
        return os.fsdecode(path.split(b"\0", 1)[0])
    return raw


def family_of(address):
    """The family socket's functions take an address to be in: Unix for a str or
    bytes-like path, IPv6 for a 3- or 4-tuple or a host with ':', else IPv4."""
    if not isinstance(address, tuple):
        return AF_UNIX
    if len(address) > 2 or (address and ":" in _host_text(address[0])):
        return AF_INET6
    return AF_INET


def parse_address(text):
    """The address written as prise writes it ("127.0.0.1:80", "[::1]:80",
    "[fe80::1%eth0]:80", "unix:/path", "@abstract", "unix:(unnamed)"), as socket gives
    addresses: ("127.0.0.1", 80), ("::1", 80, 0, 0), "/path", b"\\0abstract", ''.
    Numeric only; text that is no address raises OSError (EINVAL, ENAMETOOLONG) with
    prise's sentence."""
    return from_sockaddr(sockaddr_of_text(text))


def format_address(address, resolve):
    """The text prise writes for an address given as socket takes it (a name is
    resolved first): the inverse of parse_address."""
    return text_of_sockaddr(to_sockaddr(family_of(address), address, resolve,
                                        "format_address"))


def _pair(address, caller, name, first, second):
    if not isinstance(address, tuple) or len(address) != 2:
        raise TypeError("%s(): %s address must be a tuple (%s, %s)" % (caller, name, first, second))
    return _uint(address[0], first), _uint(address[1], second)


def _vsock_to(address, caller):
    cid, port = _pair(address, caller, "AF_VSOCK", "cid", "port")
    return struct.pack("=HHII4x", socket.AF_VSOCK, 0, port, cid)


def _vsock_from(raw):
    port, cid = struct.unpack_from("=II", raw, 4)
    return (cid, port)


def _netlink_to(address, caller):
    pid, groups = _pair(address, caller, "AF_NETLINK", "pid", "groups")
    return struct.pack("=HHII", socket.AF_NETLINK, 0, pid, groups)


def _netlink_from(raw):
    return struct.unpack_from("=II", raw, 4)


def _alg_to(address, caller):
    if not isinstance(address, tuple) or not 2 <= len(address) <= 4:
        raise TypeError("%s(): AF_ALG address must be a tuple (type, name[, feat[, mask]])"
                        % caller)
    kind, name = (_host_text(part).encode() for part in address[:2])
    if len(kind) >= 14 or len(name) >= 64:
        raise ValueError("AF_ALG type or name too long")
    feat = _uint(address[2], "feat") if len(address) > 2 else 0
    mask = _uint(address[3], "mask") if len(address) > 3 else 0
    return struct.pack("=H14sII64s", socket.AF_ALG, kind, feat, mask, name)


def _alg_from(raw):
    kind, feat, mask, name = struct.unpack_from("=14sII64s", raw, 2)
    return (kind.split(b"\0", 1)[0].decode(), name.split(b"\0", 1)[0].decode(), feat, mask)


# family: (address to sockaddr bytes, sockaddr bytes to address), for the Linux families
# socket offers beyond IP and Unix.
_OTHER_FAMILIES = {
    family: codec for family, codec in (
        (getattr(socket, "AF_VSOCK", None), (_vsock_to, _vsock_from)),
        (getattr(socket, "AF_NETLINK", None), (_netlink_to, _netlink_from)),
        (getattr(socket, "AF_ALG", None), (_alg_to, _alg_from)),
    ) if family is not None
}
