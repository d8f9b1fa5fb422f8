"""Addresses as Python's socket module writes them, to and from C sockaddr bytes:
(host, port) for IPv4, (host, port, flowinfo, scope_id) for IPv6, a path for Unix (str:
a file; bytes starting with NUL: the Linux abstract namespace; '': autobind). Mistakes
raise what socket raises for them (TypeError, OverflowError, OSError, socket.gaierror)."""

import operator
import os
import socket
import struct

AF_INET = socket.AF_INET
AF_INET6 = socket.AF_INET6
AF_UNIX = socket.AF_UNIX
SUN_PATH_MAX = 108
_FLOWINFO_MAX = 0xFFFFF
_UINT_MAX = 0xFFFFFFFF


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
    if path.startswith(b"\0"):
        if len(path) > SUN_PATH_MAX:
            raise OSError("AF_UNIX path too long: an abstract name has at most %d bytes "
                          "with its leading NUL, not %d" % (SUN_PATH_MAX, len(path)))
        return struct.pack("=H", AF_UNIX) + path
    if len(path) >= SUN_PATH_MAX:
        raise OSError("AF_UNIX path too long: %d bytes, at most %d (sun_path keeps a NUL)"
                      % (len(path), SUN_PATH_MAX - 1))
    return struct.pack("=H", AF_UNIX) + path + (b"\0" if path else b"")


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


def to_sockaddr(family, address, resolve, caller="bind"):
    """sockaddr bytes for `address` in `family`; `resolve(host, port, family)` turns a
    name into a numeric address (socket.gaierror when it cannot)."""
    if family == AF_UNIX:
        return unix_sockaddr(address)
    other = _OTHER_FAMILIES.get(family)
    if other is not None:
        return other[0](address, caller)
    if family not in (AF_INET, AF_INET6):
        raise OSError(97, "%s(): address family %d is not supported by prise.Socket"
                      % (caller, family))
    name = "AF_INET" if family == AF_INET else "AF_INET6"
    if not isinstance(address, tuple):
        raise TypeError("%s(): %s address must be tuple, not %s"
                        % (caller, name, type(address).__name__))
    most = 2 if family == AF_INET else 4
    if not 2 <= len(address) <= most:
        raise TypeError("%s address must be a %s" % (
            name, "pair (host, port)" if family == AF_INET
            else "tuple (host, port[, flowinfo[, scopeid]])"))
    host = _host_text(address[0])
    port = _port(address[1], caller)
    if family == AF_INET:
        if host == "":
            packed = bytes(4)
        elif host == "<broadcast>":
            packed = b"\xff" * 4
        else:
            try:
                packed = socket.inet_pton(AF_INET, host)
            except OSError:
                packed = socket.inet_pton(AF_INET, resolve(host, port, family)[0])
        return struct.pack("=H", AF_INET) + struct.pack("!H", port) + packed + bytes(8)
    flowinfo = _uint(address[2], "flowinfo") if len(address) > 2 else 0
    if flowinfo > _FLOWINFO_MAX:
        raise OverflowError("%s(): flowinfo must be 0-%d." % (caller, _FLOWINFO_MAX))
    scope_id = _uint(address[3], "scope_id") if len(address) > 3 else 0
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if "%" in bare:
        bare, scope = bare.split("%", 1)
        scope_id = int(scope) if scope.isdigit() else socket.if_nametoindex(scope)
    if bare == "":
        packed = bytes(16)
    else:
        try:
            packed = socket.inet_pton(AF_INET6, bare)
        except OSError:
            packed = socket.inet_pton(AF_INET6, resolve(bare, port, family)[0])
    return (struct.pack("=H", AF_INET6) + struct.pack("!HI", port, flowinfo) + packed
            + struct.pack("=I", scope_id))


def from_sockaddr(raw):
    """The Python form of sockaddr bytes (None for an empty address, as socket gives
    for the sender on a connected stream)."""
    if len(raw) < 2:
        return None
    family = struct.unpack_from("=H", raw)[0]
    if family == AF_INET and len(raw) >= 8:
        port = struct.unpack_from("!H", raw, 2)[0]
        return (socket.inet_ntop(AF_INET, raw[4:8]), port)
    if family == AF_INET6 and len(raw) >= 28:
        port, flowinfo = struct.unpack_from("!HI", raw, 2)
        scope_id = struct.unpack_from("=I", raw, 24)[0]
        return (socket.inet_ntop(AF_INET6, raw[8:24]), port, flowinfo, scope_id)
    other = _OTHER_FAMILIES.get(family)
    if other is not None:
        return other[1](raw)
    if family == AF_UNIX:
        path = raw[2:]
        if path.startswith(b"\0"):
            return path  # abstract: bytes with the leading NUL, as socket gives it
        return os.fsdecode(path.split(b"\0", 1)[0])
    return raw


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
