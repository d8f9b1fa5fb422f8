"""Addresses as Python's socket module writes them, to and from C sockaddr bytes:
(host, port) for IPv4, (host, port, flowinfo, scope_id) for IPv6, a path for Unix
(a leading NUL, or '@', for the abstract namespace)."""

import socket
import struct

AF_INET = socket.AF_INET
AF_INET6 = socket.AF_INET6
AF_UNIX = socket.AF_UNIX
SUN_PATH_MAX = 108


def check_port(port):
    """A port number 0-65535 (ValueError otherwise) or a service name (str)."""
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
    if isinstance(host, bytes):
        return host
    raise TypeError("host must be a str, not %s" % type(host).__name__)


def _unix(path):
    if isinstance(path, str):
        path = path.encode()
    if not isinstance(path, bytes):
        raise TypeError("a Unix address is a path (str or bytes), not %s" % type(path).__name__)
    if path.startswith(b"@"):
        path = b"\0" + path[1:]
    room = SUN_PATH_MAX - (0 if path.startswith(b"\0") else 1)
    if len(path) > room:
        raise OSError(36, "Unix socket path of %d bytes does not fit sun_path (%d bytes at most)"
                      % (len(path), SUN_PATH_MAX - 1))
    return struct.pack("=H", AF_UNIX) + path + (b"" if path.startswith(b"\0") else b"\0")


def to_sockaddr(family, address, resolve):
    """sockaddr bytes for `address` in `family`; `resolve(host, port, family)` turns a
    name into a numeric address."""
    if family == AF_UNIX:
        return _unix(address)
    if not isinstance(address, tuple) or len(address) < 2:
        raise TypeError("an %s address is a tuple (host, port%s)"
                        % ("IPv6" if family == AF_INET6 else "IPv4",
                           ", flowinfo, scope_id" if family == AF_INET6 else ""))
    host, port = address[0], address[1]
    if not isinstance(port, int) or isinstance(port, bool):
        raise TypeError("port must be an int, not %s" % type(port).__name__)
    check_port(port)
    host = "0.0.0.0" if host == "" and family == AF_INET else host
    host = "::" if host == "" and family == AF_INET6 else host
    check_host(host)
    if family == AF_INET:
        try:
            packed = socket.inet_pton(AF_INET, host)
        except OSError:
            packed = socket.inet_pton(AF_INET, resolve(host, port, family)[0])
        return struct.pack("=H", AF_INET) + struct.pack("!H", port) + packed + b"\0" * 8
    if family == AF_INET6:
        flowinfo = address[2] if len(address) > 2 else 0
        scope_id = address[3] if len(address) > 3 else 0
        bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
        if "%" in bare:
            bare, scope = bare.split("%", 1)
            scope_id = int(scope) if scope.isdigit() else socket.if_nametoindex(scope)
        try:
            packed = socket.inet_pton(AF_INET6, bare)
        except OSError:
            packed = socket.inet_pton(AF_INET6, resolve(bare, port, family)[0])
        return (struct.pack("=H", AF_INET6) + struct.pack("!HI", port, flowinfo) + packed
                + struct.pack("=I", scope_id))
    raise OSError(97, "address family %d is not supported" % family)


def from_sockaddr(raw):
    """The Python form of sockaddr bytes."""
    if len(raw) < 2:
        return None
    family = struct.unpack("=H", raw[:2])[0]
    if family == AF_INET and len(raw) >= 8:
        port = struct.unpack("!H", raw[2:4])[0]
        return (socket.inet_ntop(AF_INET, raw[4:8]), port)
    if family == AF_INET6 and len(raw) >= 28:
        port, flowinfo = struct.unpack("!HI", raw[2:8])
        scope_id = struct.unpack("=I", raw[24:28])[0]
        return (socket.inet_ntop(AF_INET6, raw[8:24]), port, flowinfo, scope_id)
    if family == AF_UNIX:
        path = raw[2:]
        if path.startswith(b"\0"):
            return path  # abstract: bytes with the leading NUL, as Python's socket does
        return path.split(b"\0", 1)[0].decode(errors="surrogateescape")
    return raw
