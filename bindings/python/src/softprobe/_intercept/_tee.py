"""Teeing a forwarded response during capture: the client reads each byte as
it arrives from the network, and the exchange is recorded once the response
has ended (or was closed early).

Only framing lives here (where a response head and body end); what is
recorded, and how, is the session's (``Session._record``, in the core).

Limits: the body is kept in memory until the response ends (as large as the
response; the core then refuses a body over the session's ``limits`` and the
loss is logged by ``Session._record``). A response head is at most
``MAX_HEAD`` bytes (http.client's own limits are lower: 100 header lines of
64 KiB).
"""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Tuple

from ._common import logger

MAX_HEAD = 1 << 20

HeaderPairs = List[Tuple[str, str]]

# Body framing of a response (RFC 9112 section 6.3).
_NONE, _LENGTH, _CHUNKED, _TO_EOF = range(4)
# States of the chunked decoder.
_SIZE, _DATA, _DATA_END, _TRAILER = range(4)


class ResponseFramer:
    """Follows one HTTP/1.x response through the bytes a client consumed.

    ``feed`` takes the bytes in order; ``done`` turns True at the end of the
    response (the end of the head for HEAD, 1xx except 100, 204 and 304, a
    whole Content-Length body, the last chunk and its trailers, or ``eof()``
    for a body delimited by the connection's close). ``status``, ``headers``
    (one entry per header line, as received) and ``body()`` (transfer coding
    removed, content coding kept) describe what was seen so far.
    """

    def __init__(self, method: str) -> None:
        self.method = method.upper()
        self.status = 0
        self.headers: HeaderPairs = []
        self.head_done = False
        self.done = False
        self._head = bytearray()
        self._body = bytearray()
        self._framing = _NONE
        self._left = 0  # bytes left of the body (_LENGTH) or of the current chunk
        self._chunk = _SIZE
        self._line = bytearray()

    @classmethod
    def after_head(cls, method: str, status: int, headers: HeaderPairs, chunked: bool,
                   length: Optional[int]) -> "ResponseFramer":
        """A framer for a response whose head was already parsed by
        http.client (``chunked``, ``length``: its HTTPResponse's, None for a
        body delimited by the connection's close)."""
        f = cls(method)
        f.status, f.headers, f.head_done = status, headers, True
        if chunked:
            f._framing = _CHUNKED
        elif length is None:
            f._framing = _TO_EOF
        elif length > 0:
            f._framing, f._left = _LENGTH, length
        else:
            f.done = True
        return f

    def body(self) -> bytes:
        return bytes(self._body)

    def declared_length(self) -> Optional[int]:
        for name, value in self.headers:
            if name.lower() == "content-length" and value.strip().isdigit():
                return int(value)
        return None

    def eof(self) -> None:
        """The connection closed: ends a body delimited by it."""
        if self.head_done and self._framing == _TO_EOF:
            self.done = True

    def feed(self, data: bytes) -> None:
        pos = 0
        n = len(data)
        while pos < n and not self.done:
            if not self.head_done:
                pos = self._feed_head(data, pos)
            elif self._framing == _LENGTH:
                take = min(self._left, n - pos)
                self._body += data[pos : pos + take]
                pos += take
                self._left -= take
                if self._left == 0:
                    self.done = True
            elif self._framing == _TO_EOF:
                self._body += data[pos:]
                pos = n
            else:
                pos = self._feed_chunked(data, pos)

    def _feed_head(self, data: bytes, pos: int) -> int:
        end = data.find(b"\n", pos)
        stop = len(data) if end < 0 else end + 1
        self._head += data[pos:stop]
        if len(self._head) > MAX_HEAD:
            raise ValueError(f"the response head is over {MAX_HEAD} bytes")
        if self._head.endswith(b"\r\n\r\n") or self._head.endswith(b"\n\n"):
            self._parse_head(bytes(self._head))
            self._head.clear()
        return stop

    def _parse_head(self, head: bytes) -> None:
        lines = head.decode("iso-8859-1").replace("\r\n", "\n").split("\n")
        parts = lines[0].split(" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        if status == 100:
            return  # an interim response: the real one follows (http.client skips it too)
        headers: HeaderPairs = []
        for line in lines[1:]:
            if not line:
                continue
            if line[0] in " \t" and headers:  # obsolete line folding
                headers[-1] = (headers[-1][0], headers[-1][1] + " " + line.strip())
                continue
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        self.status, self.headers, self.head_done = status, headers, True
        codings = ",".join(v for k, v in headers if k.lower() == "transfer-encoding")
        if self.method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            self.done = True
        elif codings and codings.split(",")[-1].strip().lower() == "chunked":
            self._framing = _CHUNKED
        elif self.declared_length() is not None:
            self._left = self.declared_length() or 0
            self._framing = _LENGTH
            self.done = self._left == 0
        else:
            self._framing = _TO_EOF

    def _feed_chunked(self, data: bytes, pos: int) -> int:
        if self._chunk == _DATA:
            take = min(self._left, len(data) - pos)
            self._body += data[pos : pos + take]
            self._left -= take
            if self._left == 0:
                self._chunk = _DATA_END
            return pos + take
        end = data.find(b"\n", pos)
        stop = len(data) if end < 0 else end + 1
        self._line += data[pos:stop]
        if len(self._line) > MAX_HEAD:
            raise ValueError("a chunk line is over the head limit")
        if end < 0:
            return stop
        line = bytes(self._line).strip()
        self._line.clear()
        if self._chunk == _SIZE:
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                self._chunk = _TRAILER
            else:
                self._left, self._chunk = size, _DATA
        elif self._chunk == _DATA_END:
            self._chunk = _SIZE
        elif not line:  # _TRAILER: the empty line ends the response
            self.done = True
        return stop


Finish = Callable[[ResponseFramer, bool], None]


class TeeFile:
    """A response's file (what http.client reads a response from) that hands
    the client every byte it reads, as it reads it, and follows the response
    with a ``ResponseFramer``.

    ``finish(framer, complete)`` is called once: with complete=True when the
    response ended, or with False when the file was closed (or its reading
    failed) before that. Nothing is read that the client did not ask for; a
    failure to follow the framing only stops the tee (logged), never the
    client's read.
    """

    def __init__(self, raw: Any, framer: ResponseFramer, finish: Finish) -> None:
        self._raw = raw
        self._framer: Optional[ResponseFramer] = framer
        self._finish: Optional[Finish] = finish
        if framer.done:
            self._end(True)

    def _end(self, complete: bool) -> None:
        framer, finish = self._framer, self._finish
        self._framer = self._finish = None
        if framer is not None and finish is not None:
            try:
                finish(framer, complete)
            except Exception:  # capture never changes what the client sees
                logger.exception("softprobe could not record a captured response")

    def _seen(self, data: bytes, asked: Optional[int]) -> bytes:
        framer = self._framer
        if framer is None:
            return data
        try:
            if data:
                framer.feed(data)
            if not data and asked != 0 or asked is None or asked < 0:
                framer.eof()  # read() to the end, or an empty read: the peer closed
        except ValueError as exc:
            logger.warning("softprobe stopped following a captured response (%s); it is not recorded", exc)
            self._framer = self._finish = None
            return data
        if framer.done:
            self._end(True)
        return data

    def read(self, size: Optional[int] = -1) -> bytes:
        try:
            data = self._raw.read(size)
        except BaseException:
            self._end(False)
            raise
        return self._seen(data, size)

    def read1(self, size: int = -1) -> bytes:
        try:
            data = self._raw.read1(size)
        except BaseException:
            self._end(False)
            raise
        return self._seen(data, 1 if size else 0)  # only an empty read1 means the end

    def readinto(self, buffer: Any) -> int:
        try:
            n = self._raw.readinto(buffer)
        except BaseException:
            self._end(False)
            raise
        self._seen(bytes(memoryview(buffer)[:n]), len(buffer))
        return int(n)

    def readline(self, limit: int = -1) -> bytes:
        try:
            data = self._raw.readline(limit)
        except BaseException:
            self._end(False)
            raise
        return self._seen(data, 1)

    def peek(self, size: int = 0) -> bytes:
        return bytes(self._raw.peek(size))  # not consumed: the tee sees it when it is read

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            self._end(False)

    @property
    def closed(self) -> bool:
        return bool(self._raw.closed)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_raw"], name)


def note_partial(session: Any, method: str, url: str, framer: ResponseFramer) -> None:
    """Logs that a response closed before its end was recorded with what had
    arrived."""
    declared = framer.declared_length()
    logger.warning("softprobe session %s: %s %s was closed by the client before its end; recorded with the %d body "
                   "bytes received%s", session.id, method, url, len(framer.body()),
                   f" of {declared}" if declared is not None else "")
