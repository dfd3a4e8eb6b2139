"""aiohttp interception: a client middleware (aiohttp >= 3.12) that the
session adds as the innermost one, so it sees the request exactly as it
would be sent.

Answered requests get a connection whose transport hands the decided
response, serialized as HTTP/1.1, to aiohttp's own response parser; nothing
touches the network and the connection never enters the connector's pool.
Forwarded requests use the session's connector as usual; a captured one's
``resp.content`` is teed (the client reads each chunk as it arrives, the
encoded bytes are recorded when the body ends). Mock latency is waited on
the fake connection, so aiohttp's own timeouts apply.
"""

from __future__ import annotations

import asyncio
import inspect
import weakref
from contextvars import ContextVar
from typing import Any, Callable, Dict, List, Optional, Tuple

from .._context import active_session, bypass
from ._common import ERROR, logger, mark_patch, note_strict_miss, now_ns, records, restore
from ._wire import recorded_headers, serialize_response

# The serialized answer (and its latency in seconds) for the request being
# sent in this task, if any.
_answer: ContextVar[Optional[Tuple[bytes, float]]] = ContextVar("softprobe_aiohttp_answer", default=None)


class _AnswerTransport(asyncio.Transport):
    """Swallows the request; feeds the decided response once it is written."""

    def __init__(self, protocol: Any, data: bytes, latency: float, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._protocol = protocol
        self._data: Optional[bytes] = data
        self._latency = latency
        self._loop = loop
        self._closing = False
        self._timer: Optional[asyncio.TimerHandle] = None

    def _feed(self) -> None:
        # The answer arrives ``latency`` seconds after the request is written,
        # as from a slow server: aiohttp's own timeouts (ClientTimeout's
        # sock_read, total) run meanwhile and raise as they would.
        if self._data is not None and not self._closing:
            data, self._data = self._data, None
            if self._latency > 0:
                self._timer = self._loop.call_later(self._latency, self._deliver, data)
            else:
                self._loop.call_soon(self._deliver, data)

    def _deliver(self, data: bytes) -> None:
        if not self._closing:
            self._protocol.data_received(data)

    def write(self, data: Any) -> None:
        self._feed()

    def writelines(self, chunks: Any) -> None:
        self._feed()

    def can_write_eof(self) -> bool:
        return False

    def is_closing(self) -> bool:
        return self._closing

    def close(self) -> None:
        if not self._closing:
            self._closing = True
            if self._timer is not None:  # the client gave up waiting (its timeout): nothing arrives any more
                self._timer.cancel()
                self._timer = None
            self._loop.call_soon(self._protocol.connection_lost, None)

    def abort(self) -> None:
        self.close()

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return default

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def is_reading(self) -> bool:
        return not self._closing


class _NoPool:
    """Stands in for the connector of an answered request's connection, so
    releasing it closes it instead of pooling it."""

    force_close = False

    @staticmethod
    def _release(key: Any, protocol: Any, *, should_close: bool = False) -> None:
        protocol.close()


async def _payload_bytes(body: Any) -> bytes:
    if not body:
        return b""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    from aiohttp.payload import BytesPayload

    if isinstance(body, BytesPayload):  # bytes, str, JSON and form bodies
        return await body.as_bytes()
    return b""  # streamed bodies are decided without their bytes (docs/python.md)


_Finish = Callable[[bytes, bool], None]
_EncodedFinish = Callable[[bytes, bool, bool], None]
# Captures in progress, by id of the response's payload (a _TeeReader, whose
# slots leave no room for the state): (body so far, finish).
_tees: Dict[int, Tuple[bytearray, _Finish, object, bool]] = {}
_TeeReader: Any = None
# While a captured request waits for its response head (``_heads_pending``),
# every DeflateBuffer made (aiohttp's content decoder) keeps the encoded bytes
# it is fed (``_softprobe_raw``), listed here by id of the reader it feeds
# (with the reader, so the id stays its own): a captured response is recorded
# as it came from the server (encoded, with its content-encoding), so every
# client replays it as it was. The middleware claims its response's entry;
# the rest (other responses decoded meanwhile) is dropped when no captured
# request waits any more.
_raw_bodies: Dict[int, Tuple[Any, bytearray]] = {}
_heads_pending = 0


def _end(reader_id: int, complete: bool, token: Optional[object] = None) -> None:
    """Records the capture of this reader (``token``: only if it is still
    the one registered under that id)."""
    tee = _tees.get(reader_id)
    if tee is not None and (token is None or tee[2] is token):
        del _tees[reader_id]
        try:
            tee[1](bytes(tee[0]), complete)
        except Exception:  # capture never changes what the client sees
            logger.exception("softprobe could not record a captured response")


def _claim_raw(reader: Any) -> Optional[bytearray]:
    """The encoded bytes kept for this reader's decoder, if it has one."""
    entry = _raw_bodies.pop(id(reader), None)
    return entry[1] if entry is not None and entry[0] is reader else None


def _tee_reader_class() -> Any:
    """A StreamReader that also keeps what aiohttp's parser feeds it, as it
    is fed (after content decoding, like ``resp.content``), and records it
    at the end of the body, or on the error that ends it early (a response
    released before its end closes the connection: aiohttp sets that error)."""
    global _TeeReader
    if _TeeReader is None:
        from aiohttp.helpers import _EXC_SENTINEL
        from aiohttp.streams import StreamReader

        class TeeReader(StreamReader):
            __slots__ = ()

            def feed_data(self, data: bytes, size: int = 0) -> bool:
                tee = _tees.get(id(self))
                if tee is not None and data and not tee[3]:  # encoded: the decoder keeps the bytes
                    tee[0].extend(data)
                return super().feed_data(data, size)

            def feed_eof(self) -> None:
                super().feed_eof()
                _end(id(self), True)

            def set_exception(self, exc: BaseException, exc_cause: BaseException = _EXC_SENTINEL) -> None:
                super().set_exception(exc, exc_cause)
                _end(id(self), False)

        _TeeReader = TeeReader
    return _TeeReader


def _tee(resp: Any, finish: _EncodedFinish, raw: Optional[bytearray]) -> bool:
    """Tees the response's payload (``resp.content``) while the client reads
    it: the client gets each chunk as it arrives, the exchange is recorded at
    its end. False for a payload of a kind this module does not know."""
    from aiohttp.streams import EmptyStreamReader, StreamReader

    reader = resp.content
    if isinstance(reader, EmptyStreamReader):
        finish(b"", True, True)
        return True
    if type(reader) is not StreamReader:
        return False
    cls = _tee_reader_class()
    # What arrived with the head, before this middleware saw the response
    # (nothing is read yet).
    buffered = bytearray(b"".join(reader._buffer)[getattr(reader, "_buffer_offset", 0):])
    reader.__class__ = cls
    key = id(reader)
    encoded = raw is not None  # what arrived so far, still encoded; the decoder's feed_data adds the rest
    token = object()
    _tees[key] = (raw if raw is not None else buffered, lambda data, complete: finish(data, complete, encoded), token,
                  encoded)
    if reader.is_eof():
        _end(key, True)
    elif reader.exception() is not None:
        _end(key, False)
    else:
        # A response dropped without its end or an error: recorded as received.
        weakref.finalize(resp, _end, key, False, token)
    return True


def install() -> Optional[Callable[[], None]]:
    try:
        import aiohttp
        from aiohttp.client_proto import ResponseHandler
        from aiohttp.connector import BaseConnector, Connection
    except ImportError:  # pragma: no cover - aiohttp is optional
        return None
    session_cls = aiohttp.ClientSession
    original_request = session_cls.__dict__["_request"]
    if getattr(original_request, "_softprobe", False):
        return None
    if "middlewares" not in inspect.signature(original_request).parameters:  # pragma: no cover
        import warnings

        warnings.warn("softprobe intercepts aiohttp >= 3.12 only (it uses client middlewares); "
                      f"aiohttp {aiohttp.__version__} requests are not intercepted", RuntimeWarning, stacklevel=3)
        return None
    original_connect = BaseConnector.__dict__["connect"]

    async def middleware(req: Any, handler: Any) -> Any:
        session = active_session.get()
        if session is None or bypass.get():
            return await handler(req)
        # The URL and header lines as aiohttp sends them: the core makes them canonical.
        url = str(req.url)
        headers: List[Tuple[str, str]] = list(req.headers.items())
        body = await _payload_bytes(req.body)
        start = now_ns()
        d = session._decide(req.method, url, headers, body)
        outcome = d.outcome
        if outcome <= ERROR:
            if d.is_strict_miss:
                note_strict_miss(session, d, req.method, url)
            status, rheaders, rbody = d.response()
            token = _answer.set((serialize_response(status, rheaders, rbody, head=req.method == "HEAD"),
                                 d.latency_ms / 1000.0))
            try:
                return await handler(req)
            finally:
                _answer.reset(token)
        if not records(session, outcome):
            return await handler(req)
        global _heads_pending
        _heads_pending += 1
        try:
            resp = await handler(req)
            raw = _claim_raw(resp.content)
        finally:
            _heads_pending -= 1
            if not _heads_pending:
                _raw_bodies.clear()
        received = list(resp.headers.items())
        full_url = url
        status = resp.status  # finish keeps no reference to resp (its finalizer records a dropped response)

        def finish(data: bytes, complete: bool, encoded: bool) -> None:
            # encoded: the bytes as the server sent them; else as aiohttp
            # decoded them (a content coding it decoded no longer applies).
            decoded = not encoded and any(k.lower() == "content-encoding" for k, _ in received)
            pairs = recorded_headers(received, body_decoded=decoded)
            if not complete:
                logger.warning("softprobe session %s: %s %s was closed by the client before its end; recorded with "
                               "the %d body bytes received", session.id, req.method, full_url, len(data))
            session._record(req.method, url, headers, body, status, pairs, data, start, now_ns())

        if not _tee(resp, finish, raw):
            data = await resp.read()  # a payload this module does not know: recorded whole, as read
            finish(data, True, False)
        return resp

    async def _request(self: Any, method: str, str_or_url: Any, *args: Any, middlewares: Any = None,
                       **kwargs: Any) -> Any:
        if active_session.get() is not None and not bypass.get():
            base = self._middlewares if middlewares is None else middlewares
            middlewares = (*base, middleware)
        return await original_request(self, method, str_or_url, *args, middlewares=middlewares, **kwargs)

    async def connect(self: Any, req: Any, traces: Any, timeout: Any) -> Any:
        answer = _answer.get()
        if answer is None:
            return await original_connect(self, req, traces, timeout)
        _answer.set(None)  # one connection per answer (a redirect is decided again)
        loop = asyncio.get_running_loop()
        protocol = ResponseHandler(loop)
        protocol.connection_made(_AnswerTransport(protocol, answer[0], answer[1], loop))
        return Connection(_NoPool(), req.connection_key, protocol, loop)  # type: ignore[arg-type]

    from aiohttp.http_parser import DeflateBuffer

    original_init = DeflateBuffer.__dict__["__init__"]
    original_feed = DeflateBuffer.__dict__["feed_data"]

    def deflater_init(self: Any, out: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, out, *args, **kwargs)
        if _heads_pending:
            self._softprobe_raw = bytearray()
            _raw_bodies[id(out)] = (out, self._softprobe_raw)

    def deflater_feed(self: Any, chunk: bytes, *args: Any, **kwargs: Any) -> Any:
        raw = getattr(self, "_softprobe_raw", None)
        if raw is not None and chunk:
            raw.extend(chunk)
        return original_feed(self, chunk, *args, **kwargs)

    for fn, original in ((_request, original_request), (connect, original_connect), (deflater_init, original_init),
                         (deflater_feed, original_feed)):
        mark_patch(fn, original)
    session_cls._request = _request  # type: ignore[method-assign]
    BaseConnector.connect = connect  # type: ignore[method-assign]
    DeflateBuffer.__init__ = deflater_init  # type: ignore[method-assign]
    DeflateBuffer.feed_data = deflater_feed  # type: ignore[method-assign]

    def uninstall() -> None:
        restore(session_cls, "_request", original_request)
        restore(BaseConnector, "connect", original_connect)
        restore(DeflateBuffer, "__init__", original_init)
        restore(DeflateBuffer, "feed_data", original_feed)

    return uninstall
