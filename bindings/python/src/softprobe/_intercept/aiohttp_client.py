"""aiohttp interception: a client middleware (aiohttp >= 3.12) that the
session adds as the innermost one, so it sees the request exactly as it
would be sent.

Answered requests get a connection whose transport hands the decided
response, serialized as HTTP/1.1, to aiohttp's own response parser; nothing
touches the network and the connection never enters the connector's pool.
Forwarded requests use the session's connector as usual; captured ones are
read whole, recorded in the core, and returned (their body stays readable).
"""

from __future__ import annotations

import asyncio
import inspect
from contextvars import ContextVar
from typing import Any, Callable, List, Optional, Tuple

from .._context import active_session, bypass
from ._common import ERROR, mark_patch, note_strict_miss, now_ns, records, restore, url_of
from ._wire import recorded_headers, serialize_response

# The serialized answer for the request being sent in this task, if any.
_answer: ContextVar[Optional[bytes]] = ContextVar("softprobe_aiohttp_answer", default=None)


class _AnswerTransport(asyncio.Transport):
    """Swallows the request; feeds the decided response once it is written."""

    def __init__(self, protocol: Any, data: bytes, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._protocol = protocol
        self._data: Optional[bytes] = data
        self._loop = loop
        self._closing = False

    def _feed(self) -> None:
        if self._data is not None and not self._closing:
            data, self._data = self._data, None
            self._loop.call_soon(self._protocol.data_received, data)

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
        url = req.url
        host = url.raw_host or ""
        port = url.port or 0
        headers: List[Tuple[str, str]] = list(req.headers.items())
        body = await _payload_bytes(req.body)
        start = now_ns()
        d = session._decide(req.method, url.scheme, host, port, url.raw_path, url.raw_query_string, headers, body)
        outcome = d.outcome
        if outcome <= ERROR:
            if d.is_strict_miss:
                note_strict_miss(session, d, req.method, url_of(url.scheme, host, port, url.raw_path,
                                                                url.raw_query_string))
            if d.latency_ms:
                await asyncio.sleep(d.latency_ms / 1000.0)
            status, rheaders, rbody = d.response()
            token = _answer.set(serialize_response(status, rheaders, rbody, head=req.method == "HEAD"))
            try:
                return await handler(req)
            finally:
                _answer.reset(token)
        if not records(session, outcome):
            return await handler(req)
        resp = await handler(req)
        data = await resp.read()
        decoded = bool(resp.headers.get("content-encoding")) and getattr(resp._session, "auto_decompress", True)
        session._record(req.method, url.scheme, host, port, url.raw_path, url.raw_query_string, headers, body,
                        resp.status, recorded_headers(list(resp.headers.items()), body_decoded=decoded), data,
                        start, now_ns())
        return resp

    async def _request(self: Any, method: str, str_or_url: Any, *args: Any, middlewares: Any = None,
                       **kwargs: Any) -> Any:
        if active_session.get() is not None and not bypass.get():
            base = self._middlewares if middlewares is None else middlewares
            middlewares = (*base, middleware)
        return await original_request(self, method, str_or_url, *args, middlewares=middlewares, **kwargs)

    async def connect(self: Any, req: Any, traces: Any, timeout: Any) -> Any:
        data = _answer.get()
        if data is None:
            return await original_connect(self, req, traces, timeout)
        _answer.set(None)  # one connection per answer (a redirect is decided again)
        loop = asyncio.get_running_loop()
        protocol = ResponseHandler(loop)
        protocol.connection_made(_AnswerTransport(protocol, data, loop))
        return Connection(_NoPool(), req.connection_key, protocol, loop)  # type: ignore[arg-type]

    for fn, original in ((_request, original_request), (connect, original_connect)):
        mark_patch(fn, original)
    session_cls._request = _request  # type: ignore[method-assign]
    BaseConnector.connect = connect  # type: ignore[method-assign]

    def uninstall() -> None:
        restore(session_cls, "_request", original_request)
        restore(BaseConnector, "connect", original_connect)

    return uninstall
