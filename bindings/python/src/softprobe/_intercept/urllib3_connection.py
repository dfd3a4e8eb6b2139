"""urllib3 2.x answered at its connection, without the bytes in between.

urllib3 sends every request through ``urllib3.connection.HTTPConnection``
(``request``, then ``getresponse``), which the http.client layer
(``http_client``) serves at the socket: the request is written as bytes,
parsed back by the wire, and a decided answer is serialized as HTTP/1.1 and
parsed again by http.client's email-based header parser. Both round trips
are most of a mocked urllib3 request. Here the two methods are wrapped:

- ``request``: the header lines the connection would write are computed
  as urllib3 and http.client write them (``_wire_lines``: Host, then
  Accept-Encoding, the framing header urllib3 picks, User-Agent, then the
  caller's headers in order), and the session decides that request with
  the same inputs as the wire would give it. An answered request writes
  nothing; a forwarded one (passthrough, capture) runs urllib3's own
  ``request`` over the wire, which forwards the bytes with this decision
  (``_Wire._predecided``: each request is decided once) and records what it
  forwarded, exactly as before.
- ``getresponse``: an answer is built as the objects http.client and urllib3
  would build from its bytes: an ``http.client.HTTPResponse`` over the body
  with the header lines a server behind the proxy would send (framing
  headers recomputed, as ``_wire.serialize_response`` writes them), the
  connection's http.client state left as after a real response (closed on
  ``Connection: close``), and urllib3's ``HTTPResponse`` around it as
  urllib3's own ``getresponse`` makes it. Redirects, retries, release and
  streaming are urllib3's, unchanged.

Only requests whose bytes this module reproduces exactly take that path:
an origin-form target and method of plain tokens, str header names that are
tokens and str values of printable ASCII, no caller framing header, a body
that is None, str or bytes, a connection in http.client's idle state with
no unread response and no tunnel or debug output. Anything else runs
urllib3's ``request`` unchanged (the socket layer decides it from its bytes).
An answer whose header lines http.client would read in a way not reproduced
here (non-ASCII or control characters, 1xx, more than 100 lines) is handed
to http.client as bytes through the wire, as before.
"""

from __future__ import annotations

import http.client
import io
import re
from typing import Any, Callable, List, Optional, Tuple

from .._context import active_session, bypass
from ._common import ERROR, mark_patch, note_strict_miss, restore
from ._wire import reason_phrase, serialize_response
from .http_client import _display_url, _Wire, _wrap

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_ORIGIN_FORM = re.compile(r"/[\x21-\x7e]*\Z")
_VALUE = re.compile(r"[\t\x20-\x7e]*\Z")  # printable ASCII and tab: no CR/LF, nothing str.splitlines splits
_HOSTNAME = re.compile(r"[A-Za-z0-9._\-]+\Z")  # no IPv6 literal, nothing IDNA would encode
_IDLE = http.client._CS_IDLE  # type: ignore[attr-defined]
_REQ_SENT = http.client._CS_REQ_SENT  # type: ignore[attr-defined]
_MAX_HEADERS = 99  # http.client refuses more than 100 header lines (one is the content-length)
_MAX_VALUE = 60000  # and a line longer than 65536 bytes
_SKIP_HEADER = "@@@SKIP_HEADER@@@"  # urllib3.util.SKIP_HEADER (checked at install): a default header not sent


def _wire_lines(conn: Any, method: str, url: str, body: Any, headers: Any, chunked: bool,
                body_to_chunks: Callable[..., Any], user_agent: str) -> Optional[Tuple[List[Tuple[str, str]], bytes]]:
    """The header lines (name, value as the wire parses it) and the body
    bytes that ``conn.request`` would write for this request, or None when
    this module does not reproduce them (the caller then runs urllib3's own
    ``request``)."""
    if not _TOKEN.match(method) or not _ORIGIN_FORM.match(url):
        return None
    if body is not None and not isinstance(body, (str, bytes)):
        return None  # a file or iterable: urllib3 reads it while sending
    user: List[Tuple[str, str]] = []
    keys = set()
    if headers is not None:
        for name, value in headers.items():
            if (type(name) is not str or type(value) is not str or not _TOKEN.match(name)
                    or not _VALUE.match(value) or len(value) > _MAX_VALUE or value == _SKIP_HEADER):
                return None  # bytes, numbers, SKIP_HEADER's @: urllib3 and http.client handle those
            keys.add(name.lower())
            user.append((name, value.strip()))
    if "content-length" in keys or "transfer-encoding" in keys:
        return None
    lines: List[Tuple[str, str]] = []
    if "host" not in keys:
        host = conn.host
        if not _HOSTNAME.match(host):
            return None
        port = conn.port
        lines.append(("Host", host if port == conn.default_port else f"{host}:{port}"))
    if "accept-encoding" not in keys:
        lines.append(("Accept-Encoding", "identity"))
    framing = body_to_chunks(body, method=method, blocksize=conn.blocksize)
    data = framing.chunks[0] if framing.chunks is not None else b""
    if chunked:
        lines.append(("Transfer-Encoding", "chunked"))
    elif framing.content_length is not None:
        lines.append(("Content-Length", str(framing.content_length)))
    if "user-agent" not in keys:
        lines.append(("User-Agent", user_agent))
    lines += user
    return lines, data


class _Canned:
    """What ``http.client.HTTPResponse`` reads its file from."""

    __slots__ = ("data",)

    def __init__(self, data: bytes) -> None:
        self.data = data

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BytesIO:
        return io.BytesIO(self.data)


def _response_lines(status: int, headers: List[Tuple[str, str]], body: bytes,
                    head: bool) -> Optional[Tuple[List[Tuple[str, str]], Optional[str], bytes]]:
    """The header lines http.client reads from ``serialize_response``'s bytes
    for this answer (the value's leading blanks dropped, as its parser does),
    the Content-Length line, and the body bytes sent; None when http.client
    might read those bytes differently (the caller then gives it the bytes)."""
    if not 200 <= status <= 999 or len(headers) > _MAX_HEADERS:
        return None
    no_body = status in (204, 304)
    items: List[Tuple[str, str]] = []
    kept: Optional[str] = None
    for name, value in headers:
        if not _TOKEN.match(name) or not _VALUE.match(value) or len(value) > _MAX_VALUE:
            return None
        low = name.lower()
        if low == "content-length":
            if (head or no_body) and kept is None and value.strip().isdigit():
                kept = value.strip()
            continue
        if low == "transfer-encoding":
            continue
        items.append((name, value.lstrip(" \t")))
    if kept is None and not no_body:
        kept = str(len(body))
    return items, kept, b"" if head or no_body else body


def install() -> Optional[Callable[[], None]]:
    try:
        import urllib3
        import urllib3.connection as u3c
        from urllib3._collections import HTTPHeaderDict
        from urllib3.response import HTTPResponse
        from urllib3.util.request import SKIP_HEADER, body_to_chunks
    except ImportError:  # pragma: no cover - urllib3 is optional
        return None
    cls = u3c.HTTPConnection
    original_request = cls.__dict__.get("request")
    original_getresponse = cls.__dict__.get("getresponse")
    options_cls = getattr(u3c, "_ResponseOptions", None)
    default_user_agent = getattr(u3c, "_get_default_user_agent", None)
    if (not urllib3.__version__.startswith("2.") or original_request is None or original_getresponse is None
            or options_cls is None or default_user_agent is None or SKIP_HEADER != _SKIP_HEADER):
        return None  # urllib3 1.x builds its response in the pool: the socket layer serves it
    if getattr(original_request, "_softprobe", False):
        return None
    user_agent = default_user_agent()
    HTTPMessage = http.client.HTTPMessage
    HTTPLibResponse = http.client.HTTPResponse

    def request(self: Any, method: str, url: str, body: Any = None, headers: Any = None, *, chunked: bool = False,
                preload_content: bool = True, decode_content: bool = True,
                enforce_content_length: bool = True) -> None:
        if self.__dict__.get("_softprobe_answer") is not None:
            self._softprobe_answer = None  # never answered by getresponse: it belongs to no request now
        session = None if bypass.get() else active_session.get()
        wired = None
        if (session is not None and type(method) is str and type(url) is str and not self.debuglevel
                and self._tunnel_host is None and self._http_vsn == 11 and self.response_class is HTTPLibResponse
                and self._HTTPConnection__state == _IDLE):
            pending = self._HTTPConnection__response
            if pending is not None and pending.isclosed():
                self._HTTPConnection__response = pending = None
            if pending is None:
                wired = _wire_lines(self, method, url, body, headers, chunked, body_to_chunks, user_agent)
        if wired is None:
            return original_request(self, method, url, body, headers, chunked=chunked, preload_content=preload_content,
                                    decode_content=decode_content, enforce_content_length=enforce_content_length)
        lines, data = wired
        sock = self.sock
        if sock is not None:
            sock.settimeout(self.timeout)  # as urllib3's request
        if isinstance(sock, _Wire):
            sock.begin(session)
        else:
            sock = _wrap(self, session)
        host = None
        for name, value in lines:
            if name.lower() == "host":
                host = value
                break
        origin = sock._origin(host)
        d = session._decide(method, url, lines, data, *origin)
        if d.outcome <= ERROR:
            if d.is_strict_miss:
                note_strict_miss(session, d, method, _display_url(origin, url))
            self._response_options = options_cls(request_method=method, request_url=url,
                                                  preload_content=preload_content, decode_content=decode_content,
                                                  enforce_content_length=enforce_content_length)
            self._method = method
            self._softprobe_answer = d
            return None
        # Forwarded: urllib3 writes the request; the wire sends it with this decision.
        sock._predecided = d
        try:
            return original_request(self, method, url, body, headers, chunked=chunked, preload_content=preload_content,
                                    decode_content=decode_content, enforce_content_length=enforce_content_length)
        finally:
            sock._predecided = None

    def getresponse(self: Any) -> Any:
        d = self.__dict__.get("_softprobe_answer")
        if d is None:
            return original_getresponse(self)
        self._softprobe_answer = None
        options = self._response_options
        method = options.request_method
        status, headers, body = d.response()
        head = method == "HEAD"
        plain = _response_lines(status, headers, body, head)
        sock = self.sock
        if plain is None:
            # The answer as bytes through the wire and http.client's parser, as
            # for a request written on the socket.
            sock._answer = (serialize_response(status, headers, body, head=head), d.latency_ms)
            self._HTTPConnection__state = _REQ_SENT
            return original_getresponse(self)
        self._response_options = None
        sock.settimeout(self.timeout)
        shutdown = getattr(sock, "shutdown", None)
        if d.latency_ms:
            sock._delay(d.latency_ms / 1000.0)  # what the wire does before the client reads (socket.timeout)
        items, length, sent = plain
        # http.client's HTTPResponse after begin() read these bytes.
        resp = HTTPLibResponse(_Canned(sent), method=method)
        msg = HTTPMessage()
        for name, value in items:
            msg[name] = value
        if length is not None:
            msg["content-length"] = length
            items.append(("content-length", length))
        msg.set_payload("")
        resp.code = resp.status = status
        resp.reason = reason_phrase(status)
        resp.version = 11
        resp.headers = resp.msg = msg
        resp.chunked = False
        resp.will_close = resp._check_close()
        resp.length = 0 if head or status in (204, 304) else (int(length) if length is not None else None)
        if not resp.will_close and resp.length is None:
            resp.will_close = True
        # http.client's getresponse: idle again; a closing response takes the connection.
        if resp.will_close:
            self.close()
        else:
            self._HTTPConnection__response = resp
        return HTTPResponse(
            body=resp,
            headers=HTTPHeaderDict(items),
            status=status,
            version=11,
            version_string=getattr(self, "_http_vsn_str", "HTTP/?"),
            reason=resp.reason,
            preload_content=options.preload_content,
            decode_content=options.decode_content,
            original_response=resp,
            enforce_content_length=options.enforce_content_length,
            request_method=method,
            request_url=options.request_url,
            sock_shutdown=shutdown,
        )

    mark_patch(request, original_request)
    mark_patch(getresponse, original_getresponse)
    cls.request = request  # type: ignore[method-assign]
    cls.getresponse = getresponse  # type: ignore[method-assign]

    def uninstall() -> None:
        restore(cls, "request", original_request)
        restore(cls, "getresponse", original_getresponse)

    return uninstall
