"""http.client interception (which also serves urllib.request and urllib3).

Every request is decided at the request level, whatever the state of its
connection. ``HTTPConnection.putrequest`` (the start of every request that
http.client, urllib and urllib3 send) and ``HTTPConnection.send`` bind the
connection to the session active in the current context *at that moment*:

- a session is active: the connection's socket is wrapped in a ``_Wire``
  (a connection opened before the session keeps its real socket inside the
  wire; one that is not connected yet gets none until a request must be
  forwarded). The wire reads the request bytes the client writes; once a
  request is complete, the session decides it;
- no session (or interception bypassed): a wire left from an earlier
  request is removed, so the connection is a plain one again (its real
  socket, if it has one, or none, and the client connects as usual).

``connect()`` is patched too, so a connection made while a session is active
(urllib3 connects before sending) does not open a socket until a request is
forwarded. Decisions:

- mock / error: the decided response is serialized as HTTP/1.1 and the
  client's own parser reads it (so the client sees exactly what a server
  behind the softprobe proxy would send); nothing is sent on the socket;
- passthrough: the request bytes go unchanged on the real socket (opened by
  the class's own ``connect`` when there is none yet, so TLS, proxies and
  tunnels work as usual) and the client reads the real response;
- capture: as passthrough, and the response's file is a ``_tee.TeeFile``:
  the client's parser reads each byte as it arrives, and the exchange is
  recorded in the core with the request and timings when the response ends
  (or, with the body read so far, when the client closes it earlier).

Bytes that cannot be framed as an HTTP/1.1 request (a malformed request line
or framing header, a body shorter than its Content-Length when the client
starts reading the response, bytes after the end of a request) are decided by
the session's policy alone (``Session._decide_unframed``): strict answers the
strict miss and nothing reaches the network; allow forwards them as written.
"""

from __future__ import annotations

import http.client
import io
import os
import re
import socket
import ssl
import threading
import time
from typing import Any, Callable, List, Optional, Tuple

from .._context import active_session, bypass, bypassed
from ..errors import SoftprobeError
from ._common import ERROR, logger, mark_patch, note_strict_miss, now_ns, records, restore
from ._tee import ResponseFramer, TeeFile, note_partial
from ._wire import CHUNKED, ParsedRequest, body_framing, parse_request, recorded_headers, serialize_response

_idle_lock = threading.Lock()
_idle_pipe: Optional[Tuple[int, int]] = None

# How the rest of an unframeable request goes, until the client reads a response.
_FORWARD = 1  # the policy let it through: bytes go to the real socket as written
_DROP = 2  # the policy answered it: bytes are discarded

_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,64}$")
_HTTPS_CLASSES: Tuple[type, ...] = (http.client.HTTPSConnection,)


def _idle_fileno() -> int:
    """A descriptor that never becomes readable, for wires without a real
    socket: pools (urllib3) poll a connection to see whether the peer closed
    it. A pipe whose write end stays open, kept for the process's life."""
    global _idle_pipe
    with _idle_lock:
        if _idle_pipe is None:
            _idle_pipe = os.pipe()
        return _idle_pipe[0]


def _display_url(origin: Tuple[str, str, int], target: str) -> str:
    """The request for log and error messages only (the core has the canonical form)."""
    scheme, host, port = origin
    if not scheme:
        return target
    return f"{scheme}://{host}{':' + str(port) if port else ''}{target}"


class _PendingCapture:
    __slots__ = ("session", "request", "origin", "start")

    def __init__(self, session: Any, request: ParsedRequest, origin: Tuple[str, str, int], start: int) -> None:
        self.session = session
        self.request = request
        self.origin = origin  # (scheme, host, port) for the request-target
        self.start = start


class _Wire:
    """The socket of a connection while a session decides its requests (see
    the module docstring). ``real`` is the connection's socket when it was
    connected before (None: connected on first forward)."""

    def __init__(self, conn: Any, scheme: str, session: Any, real: Optional[socket.socket] = None) -> None:
        self._conn = conn
        self._scheme = scheme
        self._session = session  # decides the request being written
        self._real = real
        self._buf = bytearray()
        self._need = -1  # bytes the current request needs, once its head is known; -2: chunked
        self._start = 0
        self._timeout: Any = real.gettimeout() if real is not None else conn.timeout
        self._answer: Optional[Tuple[bytes, int]] = None
        self._capture: Optional[_PendingCapture] = None
        self._unframed = 0  # 0, _FORWARD or _DROP
        self._closed = False
        # The decision for the next request written, taken before it was written
        # (urllib3_connection decides a forwarded request before urllib3 writes it).
        self._predecided: Any = None

    def begin(self, session: Any) -> None:
        """A new request starts (putrequest): it belongs to ``session`` (None:
        the caller detaches the wire). Bytes left from before that never made
        a request are settled by the policy of the session they were written
        under; nothing of an earlier request carries over."""
        if self._buf and not self._unframed:
            self._unframeable("bytes after the end of the previous request")
        self._buf.clear()
        self._need = -1
        self._answer = None
        self._capture = None
        self._unframed = 0
        if session is not None:
            self._session = session

    # ---- what the client writes -----------------------------------------------------

    def sendall(self, data: Any, flags: int = 0) -> None:
        if self._unframed:
            if self._unframed == _FORWARD:
                self._real_socket().sendall(data)
            return
        if not self._buf:
            # A request starts: it belongs to the session of this context now
            # (putrequest rebinds too; this also covers a connection kept
            # from before the patches were last removed).
            session = None if bypass.get() else active_session.get()
            if session is None:
                real = self._real_socket()
                self.detach()
                real.sendall(data)
                return
            self._session = session
            self._start = now_ns()
        self._buf += data
        try:
            req = parse_request(bytes(self._buf)) if self._complete() else None
        except ValueError as exc:
            self._unframeable(f"it cannot be framed as HTTP/1.1 ({exc})")
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
        """Whether the buffer holds a whole request by its framing headers
        (parse_request then reads it). Raises ValueError when the framing
        cannot be read."""
        buf = self._buf
        if self._need == -1:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return False
            length = body_framing(bytes(buf[:end]))
            self._need = CHUNKED if length == CHUNKED else end + 4 + length
        if self._need == CHUNKED:
            return buf.endswith(b"\r\n\r\n") and b"0\r\n" in buf
        return len(buf) >= self._need

    def _origin(self, host_header: Optional[str]) -> Tuple[str, str, int]:
        """(scheme, host, port) a request-target is relative to: the Host line
        as sent (the core parses it), else the connection's host and port. An
        absolute-form target carries its own, which the core reads first."""
        if host_header:
            return self._scheme, host_header, 0
        return self._scheme, self._conn.host, self._conn.port or 0

    def _dispatch(self, req: ParsedRequest, raw: bytes) -> None:
        session = self._session
        # The request-target exactly as sent and the header lines as sent: the core makes them canonical.
        origin = self._origin(req.header("host")) if req.target.startswith("/") else ("", "", 0)
        d = self._predecided
        if d is None:
            d = session._decide(req.method, req.target, req.headers, req.body, *origin)
        else:
            self._predecided = None
        outcome = d.outcome
        if outcome <= ERROR:
            if d.is_strict_miss:
                note_strict_miss(session, d, req.method, _display_url(origin, req.target))
            status, headers, body = d.response()
            self._answer = (serialize_response(status, headers, body, head=req.method == "HEAD"), d.latency_ms)
            return
        if records(session, outcome):
            self._capture = _PendingCapture(session, req, origin, self._start)
        self._real_socket().sendall(raw)

    def _unframeable(self, why: str) -> None:
        """Decides the buffered bytes, which cannot be framed, by the policy
        alone: strict answers the strict miss (unless an answer is already
        waiting) and drops them and the rest of the request; allow forwards."""
        data = bytes(self._buf)
        self._buf.clear()
        self._need = -1
        session = self._session
        line = data.split(b"\r\n", 1)[0].split(b" ")
        method = line[0].decode("latin-1") if _TOKEN.match(line[0]) else "UNKNOWN"
        target = line[1].decode("latin-1", "replace") if len(line) > 1 else "/"
        if not (target.startswith("/") or "://" in target):
            target = "/"
        # The Host line cannot be read from unframeable bytes: the connection's origin.
        origin = self._origin(None) if target.startswith("/") else ("", "", 0)
        try:
            d = session._decide_unframed(method, target, *origin)
        except SoftprobeError:  # a target the core cannot parse: decide the connection's origin
            origin = self._origin(None)
            target = "/"
            d = session._decide_unframed(method, target, *origin)
        if d.outcome <= ERROR:
            self._unframed = _DROP
            if d.is_strict_miss:
                note_strict_miss(session, d, method, _display_url(origin, target), why)
            if self._answer is None and self._capture is None:
                status, headers, body = d.response()
                self._answer = (serialize_response(status, headers, body, head=method == "HEAD"), d.latency_ms)
            return
        self._unframed = _FORWARD
        self._real_socket().sendall(data)

    def detach(self) -> None:
        """Gives the connection back its real socket (or none): it is a plain
        connection again."""
        conn = self._conn
        if conn.sock is self:
            conn.sock = self._real

    def _real_socket(self) -> socket.socket:
        if self._real is None:
            conn = self._conn
            with bypassed():
                conn.connect()  # the class's own connect (the patched one defers to it when bypassed)
            self._real = conn.sock
            conn.sock = self
            if self._timeout is None or isinstance(self._timeout, (int, float)):
                self._real.settimeout(self._timeout)
        return self._real

    # ---- what the client reads --------------------------------------------------------

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> Any:
        if self._buf and not self._unframed:
            if self._answer is not None or self._capture is not None:
                self._unframeable("bytes after the end of the request (pipelining is not supported)")
            else:
                self._unframeable("the request ended before its framing said (its body is shorter than its "
                                  "Content-Length, or its chunked body has no last chunk)")
        self._buf.clear()
        self._need = -1
        self._unframed = 0
        if self._answer is not None:
            data, latency_ms = self._answer
            self._answer = None
            if latency_ms:
                self._delay(latency_ms / 1000.0)
            return io.BytesIO(data)
        if self._capture is not None:
            pending, self._capture = self._capture, None
            return self._tee(pending, self._real_socket().makefile(mode, *args, **kwargs))
        real: Any = self._real_socket()
        return real.makefile(mode, *args, **kwargs)

    def _delay(self, seconds: float) -> None:
        timeout = self._timeout
        if isinstance(timeout, (int, float)) and timeout < seconds:
            time.sleep(timeout)
            raise socket.timeout("timed out")
        time.sleep(seconds)

    def _tee(self, p: _PendingCapture, raw: Any) -> TeeFile:
        """The response's file: the client reads it from the network as it
        arrives; the exchange is recorded when the response ends (or, with
        the body received so far, when the client closes it earlier)."""

        def finish(framer: ResponseFramer, complete: bool) -> None:
            url = _display_url(p.origin, p.request.target)
            if not framer.head_done:
                logger.warning("softprobe session %s: %s %s ended before its response head; nothing is recorded",
                               p.session.id, p.request.method, url)
                return
            if not complete:
                note_partial(p.session, p.request.method, url, framer)
            p.session._record(p.request.method, p.request.target, p.request.headers, p.request.body, framer.status,
                              recorded_headers(framer.headers, body_decoded=False), framer.body(), p.start, now_ns(),
                              *p.origin)

        return TeeFile(raw, ResponseFramer(p.request.method), finish)

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


def _scheme_of(conn: Any) -> str:
    return "https" if isinstance(conn, _HTTPS_CLASSES) else "http"


def _wrap(conn: Any, session: Any) -> "_Wire":
    """Puts a wire around the connection's socket (None: not connected yet)."""
    real = conn.sock
    scheme = _scheme_of(conn)
    wire = _Wire(conn, scheme, session, real)
    conn.sock = wire
    if real is None and scheme == "https" and hasattr(conn, "is_verified"):
        # urllib3 warns about unverified HTTPS right after connect(); the
        # real handshake (if the request is forwarded) sets the true value.
        conn.is_verified = _would_verify(conn)
    return wire


def _make_connect(original: Callable[[Any], None]) -> Callable[[Any], None]:
    def connect(self: Any) -> None:
        if bypass.get():
            return original(self)
        session = active_session.get()
        if session is None:
            return original(self)
        self.sock = None
        _wrap(self, session)
        return None

    mark_patch(connect, original)
    return connect


def _make_putrequest(original: Callable[..., None]) -> Callable[..., None]:
    def putrequest(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)  # http.client's own checks first (a refused request changes nothing)
        session = None if bypass.get() else active_session.get()
        sock = self.sock
        if isinstance(sock, _Wire):
            sock.begin(session)
            if session is None:
                sock.detach()
        elif session is not None:
            _wrap(self, session)

    mark_patch(putrequest, original)
    return putrequest


def _make_send(original: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
    def send(self: Any, data: Any) -> None:
        if not isinstance(self.sock, _Wire) and not bypass.get():
            session = active_session.get()
            if session is not None:
                _wrap(self, session)  # bytes sent without putrequest on a connection opened before
        return original(self, data)

    mark_patch(send, original)
    return send


def install() -> Callable[[], None]:
    global _HTTPS_CLASSES
    connects: List[type] = [http.client.HTTPConnection, http.client.HTTPSConnection]
    https: List[type] = [http.client.HTTPSConnection]
    try:
        import urllib3.connection as u3
    except ImportError:  # pragma: no cover - urllib3 is optional
        pass
    else:
        connects += [u3.HTTPConnection, u3.HTTPSConnection]
        https.append(u3.HTTPSConnection)
    _HTTPS_CLASSES = tuple(set(_HTTPS_CLASSES).union(https))  # install may run again for new imports
    patches: List[Tuple[type, str, Callable[[Any], Any]]] = [(cls, "connect", _make_connect) for cls in connects]
    patches += [(http.client.HTTPConnection, "putrequest", _make_putrequest),
                (http.client.HTTPConnection, "send", _make_send)]
    saved: List[Tuple[type, str, Any]] = []
    for cls, name, make in patches:
        original = cls.__dict__.get(name)
        if original is None or getattr(original, "_softprobe", False):
            continue
        saved.append((cls, name, original))
        setattr(cls, name, make(original))

    def uninstall() -> None:
        for cls, name, original in saved:
            restore(cls, name, original)

    return uninstall
