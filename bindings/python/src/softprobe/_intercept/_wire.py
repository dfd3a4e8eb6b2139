"""HTTP/1.1 framing shared by the socket-level interceptors.

Only framing lives here (where a request ends, how to put a decided response
on the wire). Which response to give is always the core's decision.
"""

from __future__ import annotations

import http
from typing import List, Optional, Sequence, Tuple, Union

HeaderPairs = List[Tuple[str, str]]
_Text = Union[str, bytes]

_REASONS = {s.value: s.phrase for s in http.HTTPStatus}


def reason_phrase(status: int) -> str:
    """The standard reason phrase, or "" for codes without one (e.g. 599)."""
    return _REASONS.get(status, "")


class ParsedRequest:
    """One complete HTTP/1.1 request read from a client's bytes."""

    __slots__ = ("method", "target", "headers", "body", "size")

    def __init__(self, method: str, target: str, headers: HeaderPairs, body: bytes, size: int) -> None:
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.size = size  # bytes of the buffer this request used

    def header(self, name: str) -> Optional[str]:
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None


def _dechunk(buf: bytes, start: int) -> Optional[Tuple[bytes, int]]:
    """Decodes a chunked body at buf[start:]; None while it is incomplete."""
    out = bytearray()
    pos = start
    while True:
        eol = buf.find(b"\r\n", pos)
        if eol < 0:
            return None
        size_text = buf[pos:eol].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ValueError(f"malformed chunk size {size_text!r}") from None
        pos = eol + 2
        if size == 0:
            # Trailers (ignored) end with an empty line.
            while True:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    return None
                if eol == pos:
                    return bytes(out), eol + 2
                pos = eol + 2
        if len(buf) < pos + size + 2:
            return None
        out += buf[pos : pos + size]
        pos += size + 2


CHUNKED = -2


def body_framing(head: bytes) -> int:
    """How the body of a request with this head (request line and headers,
    without the blank line) is framed: its Content-Length, or CHUNKED.

    Raises ValueError for framing a server could read differently from this
    module (RFC 9112 section 6): a Content-Length that is not one decimal
    length, several different ones, a Transfer-Encoding whose last coding is
    not chunked, or both headers.
    """
    lengths = set()
    codings = None
    for line in head.split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        lname = name.lower()
        if lname == b"content-length":
            for part in value.split(b","):
                text = part.strip()
                if not text.isdigit() or len(text) > 18:
                    raise ValueError(f"Content-Length {value.strip().decode('latin-1')!r} is not a length")
                lengths.add(int(text))
        elif lname == b"transfer-encoding":
            codings = (codings + b"," if codings else b"") + value
    if codings is not None:
        if lengths:
            raise ValueError("the request has both Content-Length and Transfer-Encoding")
        last = codings.split(b",")[-1].strip().lower()
        if last != b"chunked":
            raise ValueError(f"Transfer-Encoding {codings.strip().decode('latin-1')!r} does not end with chunked")
        return CHUNKED
    if len(lengths) > 1:
        raise ValueError(f"the request has different Content-Length values {sorted(lengths)}")
    return lengths.pop() if lengths else 0


def parse_request(buf: bytes) -> Optional[ParsedRequest]:
    """Parses one request from the start of `buf`; None while it is incomplete.

    The body is framed by Content-Length or chunked transfer coding (decoded);
    a request with neither has no body (RFC 9112 section 6.3). Raises
    ValueError for bytes that are not an HTTP/1.x request this module can
    frame (see body_framing; also a request line that is not
    "METHOD target HTTP/1.x", a header line without a colon).
    """
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    raw_head = bytes(buf[:end])
    length = body_framing(raw_head)
    head = raw_head.decode("iso-8859-1")
    lines = head.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0] or not parts[1] or not parts[2].startswith("HTTP/1."):
        raise ValueError(f"malformed request line {lines[0][:200]!r}")
    method, target = parts[0], parts[1]
    headers: HeaderPairs = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise ValueError(f"malformed header line {line[:200]!r}")
        headers.append((name, value.strip()))
    start = end + 4
    if length == CHUNKED:
        done = _dechunk(buf, start)
        if done is None:
            return None
        body, size = done
        return ParsedRequest(method, target, headers, body, size)
    if len(buf) < start + length:
        return None
    return ParsedRequest(method, target, headers, bytes(buf[start : start + length]), start + length)


_FRAMING = {"content-length", "transfer-encoding"}


def serialize_response(
    status: int,
    headers: Sequence[Tuple[_Text, _Text]],
    body: bytes,
    *,
    head: bool = False,
    reason: Optional[str] = None,
) -> bytes:
    """An HTTP/1.1 response as a server would send it for a decided answer.

    Framing headers are recomputed from the body (a recorded
    Transfer-Encoding or a stale Content-Length would break the client's
    parser), except for a response without a body (HEAD, 204, 304, 1xx):
    there the recorded Content-Length is kept, since it tells the length of
    the body the server did not send (what the client showed live).
    Every other header is sent as given, values as UTF-8.
    """
    phrase = reason if reason is not None else reason_phrase(status)
    out = bytearray(b"HTTP/1.1 %d %s\r\n" % (status, phrase.encode("latin-1")))
    no_body = status in (204, 304) or 100 <= status < 200
    kept_length: Optional[bytes] = None
    for name, value in headers:
        n = name if isinstance(name, bytes) else name.encode("utf-8", "surrogateescape")
        v = value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")
        low = n.lower()
        if low == b"content-length":
            if (head or no_body) and kept_length is None and v.strip().isdigit():
                kept_length = v.strip()
            continue
        if low == b"transfer-encoding":
            continue
        out += n + b": " + v + b"\r\n"
    if kept_length is not None:
        out += b"content-length: " + kept_length + b"\r\n"
    elif not no_body:
        out += b"content-length: %d\r\n" % len(body)
    out += b"\r\n"
    if not head and not no_body:
        out += body
    return bytes(out)


def recorded_headers(headers: Sequence[Tuple[str, str]], *, body_decoded: bool) -> HeaderPairs:
    """Response headers to record beside a body as the client received it.

    Transfer-Encoding never describes a recorded body (it is stored whole);
    when the client already decompressed the body, Content-Encoding and
    Content-Length no longer describe it either.
    """
    drop = {"transfer-encoding"}
    if body_decoded:
        drop |= {"content-encoding", "content-length"}
    return [(n, v) for n, v in headers if n.lower() not in drop]
