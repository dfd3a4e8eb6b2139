"""http.client interception (which also serves urllib.request and urllib3).

While a session is active, a connection's ``connect()`` installs a
``_Wire`` instead of opening a socket. The wire reads the request bytes the
client writes; once a request is complete the core decides it:

- mock / error: the decided response is serialized as HTTP/1.1 and the
  client's own parser reads it (so the client sees exactly what a server
  behind the softprobe proxy would send);
- passthrough: the real connection is opened (by the class's original
  ``connect``, so TLS, proxies and tunnels work as usual), the request bytes
  are sent unchanged and the client reads the real response;
- capture: as passthrough, and the whole response is read here, recorded in
  the core with the request and timings, and handed to the client.

Connections that are never used while a session is active keep real sockets.
"""

from __future__ import annotations

import http.client
import io
import os
import socket
import ssl
import threading
import time
from typing import Any, Callable, List, Optional, Tuple

from .._context import active_session, bypass, bypassed
from . import _common
from ._common import ERROR, mark_patch, note_strict_miss, now_ns, records, url_of
from ._wire import ParsedRequest, parse_request, recorded_headers, serialize_response, split_authority, split_target

_idle_lock = threading.Lock()
_idle_pipe: Optional[Tuple[int, int]] = None


def _idle_fileno() -> int:
    """A descriptor that never becomes readable, for wires without a real
    socket: pools (urllib3) poll a connection to see whether the peer closed
    it. A pipe whose write end stays open, kept for the process's life."""
    global _idle_pipe
    with _idle_lock:
        if _idle_pipe is None:
            _idle_pipe = os.pipe()
        return _idle_pipe[0]


class _PendingCapture:
    __slots__ = ("session", "request", "scheme", "host", "port", "path", "query", "start")

    def __init__(self, session: Any, request: ParsedRequest, scheme: str, host: str, port: int, path: str, query: str,
                 start: int) -> None:
        self.session = session
        self.request = request
        self.scheme = scheme
        self.host = host
        self.port = port
        self.path = path
        self.query = query
        self.start = start


class _Wire:
    """The socket of one intercepted connection (see the module docstring)."""

    def __init__(self, conn: Any, real_connect: Callable[[Any], None], scheme: str) -> None:
        self._conn = conn
        self._real_connect = real_connect
        self._scheme = scheme
        self._real: Optional[socket.socket] = None
        self._buf = bytearray()
        self._need = -1  # bytes the current request needs, once its head is known; -2: chunked
        self._start = 0
        self._timeout: Any = conn.timeout
        self._answer: Optional[Tuple[bytes, int]] = None
        self._capture: Optional[_PendingCapture] = None
        self._raw_until_response = False
        self._closed = False

    # ---- what the client writes -----------------------------------------------------

    def sendall(self, data: Any, flags: int = 0) -> None:
        if self._raw_until_response:
            self._real_socket().sendall(data)
            return
        if not self._buf:
            self._start = now_ns()
        self._buf += data
        try:
            req = parse_request(bytes(self._buf)) if self._complete() else None
        except ValueError:
            # Not HTTP/1.1 this module can frame: let the server judge it,
            # untouched, until its response is read.
            self._raw_until_response = True
            raw_bytes = bytes(self._buf)
            self._buf.clear()
            self._need = -1
            self._real_socket().sendall(raw_bytes)
            return
        if req is not None:
            raw = bytes(self._buf[: req.size])
            del self._buf[: req.size]
            self._need = -1
            self._dispatch(req, raw)

    def send(self, data: Any, flags: int = 0) -> int:
        self.sendall(data)
        return len(data)

    def _complete(self) -> bool:
        buf = self._buf
        if self._need == -1:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return False
            head = bytes(buf[:end]).lower()
            if b"\r\ntransfer-encoding:" in head and b"chunked" in head:
                self._need = -2
            else:
                length = 0
                pos = head.find(b"\r\ncontent-length:")
                if pos >= 0:
                    eol = head.find(b"\r\n", pos + 2)
                    length = int(head[pos + 17 : eol if eol >= 0 else len(head)].strip() or 0)
                self._need = end + 4 + length
        if self._need == -2:
            return buf.endswith(b"\r\n\r\n") and b"0\r\n" in buf
        return len(buf) >= self._need

    def _dispatch(self, req: ParsedRequest, raw: bytes) -> None:
        session = active_session.get()
        if session is None or session._closed or bypass.get():
            self._real_socket().sendall(raw)
            return
        t_scheme, authority, path, query = split_target(req.target)
        scheme = t_scheme or self._scheme
        if authority is None:
            authority = req.header("host") or ""
        host, port = split_authority(authority) if authority else (self._conn.host, 0)
        if not port:
            port = self._conn.port or _common.default_port(scheme)
        d = session._native.decide(req.method, scheme, host, port, path, query, req.headers, req.body, None,
                                   session._service)
        outcome = d.outcome
        if outcome <= ERROR:
            if d.is_strict_miss:
                note_strict_miss(session, d, req.method, url_of(scheme, host, port, path, query))
            status, headers, body = d.response()
            self._answer = (serialize_response(status, headers, body, head=req.method == "HEAD"), d.latency_ms)
            return
        if records(session, outcome):
            self._capture = _PendingCapture(session, req, scheme, host, port, path, query, self._start)
        self._real_socket().sendall(raw)

    def _real_socket(self) -> socket.socket:
        if self._real is None:
            conn = self._conn
            with bypassed():
                self._real_connect(conn)
            self._real = conn.sock
            conn.sock = self
        return self._real

    # ---- what the client reads --------------------------------------------------------

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> Any:
        self._raw_until_response = False
        if self._answer is not None:
            data, latency_ms = self._answer
            self._answer = None
            if latency_ms:
                self._delay(latency_ms / 1000.0)
            return io.BytesIO(data)
        if self._capture is not None:
            pending, self._capture = self._capture, None
            return io.BytesIO(self._read_and_record(pending))
        if self._buf:
            # A request whose end could not be found: let the server judge it.
            self._real_socket().sendall(bytes(self._buf))
            self._buf.clear()
            self._need = -1
        real: Any = self._real_socket()
        return real.makefile(mode, *args, **kwargs)

    def _delay(self, seconds: float) -> None:
        timeout = self._timeout
        if isinstance(timeout, (int, float)) and timeout < seconds:
            time.sleep(timeout)
            raise socket.timeout("timed out")
        time.sleep(seconds)

    def _read_and_record(self, p: _PendingCapture) -> bytes:
        real = self._real
        assert real is not None
        resp = http.client.HTTPResponse(real, method=p.request.method)  # type: ignore[arg-type]
        try:
            resp.begin()
            body = resp.read()
        finally:
            resp.close()
        end = now_ns()
        headers: List[Tuple[str, str]] = resp.getheaders()
        s = p.session
        s._native.record(p.request.method, p.scheme, p.host, p.port, p.path, p.query, p.request.headers,
                         p.request.body, resp.status, recorded_headers(headers, body_decoded=False), body, p.start, end,
                         None, s._service)
        if resp.will_close:
            self._close_real()
        return serialize_response(resp.status, headers, body, head=p.request.method == "HEAD", reason=resp.reason)

    # ---- socket API the clients use ---------------------------------------------------

    def settimeout(self, timeout: Optional[float]) -> None:
        self._timeout = timeout
        if self._real is not None:
            self._real.settimeout(timeout)

    def gettimeout(self) -> Optional[float]:
        return self._timeout if isinstance(self._timeout, (int, float)) or self._timeout is None else None

    def setsockopt(self, *args: Any) -> None:
        if self._real is not None:
            self._real.setsockopt(*args)

    def fileno(self) -> int:
        return self._real.fileno() if self._real is not None else _idle_fileno()

    def shutdown(self, how: int) -> None:
        if self._real is not None:
            try:
                self._real.shutdown(how)
            except OSError:
                pass

    def _close_real(self) -> None:
        real, self._real = self._real, None
        if real is not None:
            real.close()

    def close(self) -> None:
        self._closed = True
        self._close_real()

    def __getattr__(self, name: str) -> Any:
        real = self.__dict__.get("_real")
        if real is not None:
            return getattr(real, name)
        raise AttributeError(f"softprobe's intercepted socket has no {name!r} before it connects")


def _would_verify(conn: Any) -> bool:
    """What urllib3 sets ``is_verified`` to after a verified TLS handshake."""
    if getattr(conn, "assert_fingerprint", None):
        return True
    ctx = getattr(conn, "ssl_context", None)
    if ctx is not None:
        return bool(ctx.verify_mode == ssl.CERT_REQUIRED)
    try:
        from urllib3.util.ssl_ import resolve_cert_reqs
    except ImportError:  # pragma: no cover
        return True
    return bool(resolve_cert_reqs(getattr(conn, "cert_reqs", None)) == ssl.CERT_REQUIRED)


def _make_connect(original: Callable[[Any], None], scheme: str) -> Callable[[Any], None]:
    def connect(self: Any) -> None:
        if bypass.get() or active_session.get() is None:
            return original(self)
        self.sock = _Wire(self, original, scheme)
        if scheme == "https" and hasattr(self, "is_verified"):
            # urllib3 warns about unverified HTTPS right after connect(); the
            # real handshake (if the request is forwarded) sets the true value.
            self.is_verified = _would_verify(self)
        return None

    mark_patch(connect, original)
    return connect


def install() -> Callable[[], None]:
    targets: List[Tuple[type, str]] = [(http.client.HTTPConnection, "http"), (http.client.HTTPSConnection, "https")]
    try:
        import urllib3.connection as u3
    except ImportError:  # pragma: no cover - urllib3 is optional
        pass
    else:
        targets += [(u3.HTTPConnection, "http"), (u3.HTTPSConnection, "https")]
    saved: List[Tuple[type, Any]] = []
    for cls, scheme in targets:
        original = cls.__dict__.get("connect")
        if original is None or getattr(original, "_softprobe", False):
            continue
        saved.append((cls, original))
        cls.connect = _make_connect(original, scheme)  # type: ignore[attr-defined]

    def uninstall() -> None:
        for cls, original in saved:
            cls.connect = original  # type: ignore[attr-defined]

    return uninstall
