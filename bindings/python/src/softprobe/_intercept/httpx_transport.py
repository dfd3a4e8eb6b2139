"""httpx interception at the transport (``HTTPTransport.handle_request`` and
``AsyncHTTPTransport.handle_async_request``, httpx's extension point).

Only httpx's network transports are wrapped: a client built with a custom
transport (``httpx.MockTransport``, an ASGI/WSGI app) is left alone.

``httpx.Cookies.extract_cookies`` (what the client calls on every response)
is wrapped too, in a context where a session is active: for a response
without a Set-Cookie or Set-Cookie2 line and the default cookie jar and
policy, it does what ``http.cookiejar.CookieJar.extract_cookies`` ends up
doing there (stamping the jar's clock; no cookie) without building the
urllib request and email message that jar reads the headers from, about an
eighth of a mocked ``AsyncClient.get``. Every other response goes to httpx's
own.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import time
from typing import Any, Callable, Dict, List, Optional, Tuple

from .._context import active_session, bypass
from ._common import ERROR, logger, mark_patch, note_strict_miss, now_ns, records, restore
from ._wire import reason_phrase, recorded_headers

_HTTP11 = b"HTTP/1.1"


def _read_timeout(request: Any) -> Optional[float]:
    timeout = request.extensions.get("timeout") or {}
    value = timeout.get("read")
    return float(value) if isinstance(value, (int, float)) else None


def install() -> Optional[Callable[[], None]]:
    try:
        import httpx
    except ImportError:  # pragma: no cover - httpx is optional
        return None

    sync_cls = httpx.HTTPTransport
    async_cls = httpx.AsyncHTTPTransport
    sync_original = sync_cls.__dict__["handle_request"]
    async_original = async_cls.__dict__["handle_async_request"]
    if getattr(sync_original, "_softprobe", False):
        return None
    Response = httpx.Response
    ByteStream = httpx.ByteStream
    ReadTimeout = httpx.ReadTimeout
    RequestNotRead = httpx.RequestNotRead
    cookies_cls = httpx.Cookies
    extract_original = cookies_cls.__dict__.get("extract_cookies")
    CookieJar = http.cookiejar.CookieJar
    DefaultCookiePolicy = http.cookiejar.DefaultCookiePolicy

    def decide(session: Any, request: Any, body: bytes) -> Any:
        # The URL and header lines as httpx sends them: the core makes them canonical.
        return session._decide(request.method, str(request.url), request.headers.raw, body)

    reasons: Dict[int, bytes] = {}

    def answer(request: Any, d: Any) -> Any:
        status = d.status
        headers: List[Tuple[bytes, bytes]] = d.raw_headers()
        body = d.body()
        no_body = status in (204, 304) or 100 <= status < 200
        if not no_body:
            for name, _ in headers:
                if name.lower() == b"content-length":
                    break
            else:
                headers.append((b"content-length", b"%d" % len(body)))
        if no_body or request.method == "HEAD":
            body = b""  # what a server sends (the header still tells the length)
        reason = reasons.get(status)
        if reason is None:
            reason = reasons[status] = reason_phrase(status).encode("ascii")
        return Response(status, headers=headers, stream=ByteStream(body), request=request,
                        extensions={"http_version": _HTTP11, "reason_phrase": reason})

    def check_latency(request: Any, latency_ms: int) -> float:
        """Seconds to wait; raises the timeout httpx would raise when it is longer."""
        limit = _read_timeout(request)
        if limit is not None and limit < latency_ms / 1000.0:
            raise ReadTimeout(f"softprobe: the rule's latencyMs ({latency_ms}) exceeds the read timeout ({limit}s)",
                              request=request)
        return latency_ms / 1000.0

    def recorder(session: Any, request: Any, body: bytes, resp: Any, start: int) -> Callable[[bytes, bool], None]:
        url = request.url
        pairs = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in resp.headers.raw]

        def finish(data: bytes, complete: bool) -> None:
            if not complete:
                logger.warning("softprobe session %s: %s %s was closed by the client before its end; recorded with "
                               "the %d body bytes received", session.id, request.method, url, len(data))
            session._record(request.method, str(url), request.headers.raw, body, resp.status_code,
                            recorded_headers(pairs, body_decoded=False),
                            data, start, now_ns())

        return finish

    class TeeStream(httpx.SyncByteStream):
        """The response's stream, handed to the client chunk by chunk as it
        arrives; recorded when it ends (or, as received, when closed early)."""

        def __init__(self, inner: Any, finish: Callable[[bytes, bool], None]) -> None:
            self._inner = inner
            self._finish: Optional[Callable[[bytes, bool], None]] = finish
            self._data = bytearray()

        def _end(self, complete: bool) -> None:
            finish, self._finish = self._finish, None
            if finish is not None:
                try:
                    finish(bytes(self._data), complete)
                except Exception:  # capture never changes what the client sees
                    logger.exception("softprobe could not record a captured response")

        def __iter__(self) -> Any:
            try:
                for chunk in self._inner:
                    self._data += chunk
                    yield chunk
            except BaseException:
                self._end(False)
                raise
            self._end(True)

        def close(self) -> None:
            try:
                self._inner.close()
            finally:
                self._end(False)

    class AsyncTeeStream(httpx.AsyncByteStream):
        __doc__ = TeeStream.__doc__

        def __init__(self, inner: Any, finish: Callable[[bytes, bool], None]) -> None:
            self._inner = inner
            self._finish: Optional[Callable[[bytes, bool], None]] = finish
            self._data = bytearray()

        _end = TeeStream._end

        async def __aiter__(self) -> Any:
            try:
                async for chunk in self._inner:
                    self._data += chunk
                    yield chunk
            except BaseException:
                self._end(False)
                raise
            self._end(True)

        async def aclose(self) -> None:
            try:
                await self._inner.aclose()
            finally:
                self._end(False)

    def handle_request(self: Any, request: Any) -> Any:
        session = active_session.get()
        if session is None or bypass.get():
            return sync_original(self, request)
        body = request.read()
        d = decide(session, request, body)
        outcome = d.outcome
        if outcome <= ERROR:
            if d.is_strict_miss:
                note_strict_miss(session, d, request.method, str(request.url))
            if d.latency_ms:
                wait = d.latency_ms / 1000.0
                try:
                    check_latency(request, d.latency_ms)
                except ReadTimeout:
                    time.sleep(_read_timeout(request) or 0)
                    raise
                time.sleep(wait)
            return answer(request, d)
        if not records(session, outcome):
            return sync_original(self, request)
        start = now_ns()
        resp = sync_original(self, request)
        resp.stream = TeeStream(resp.stream, recorder(session, request, body, resp, start))
        return resp

    async def handle_async_request(self: Any, request: Any) -> Any:
        session = active_session.get()
        if session is None or bypass.get():
            return await async_original(self, request)
        try:
            body = request.content  # what aread() returns once read (the client reads it before sending)
        except RequestNotRead:
            body = await request.aread()
        d = decide(session, request, body)
        outcome = d.outcome
        if outcome <= ERROR:
            if d.is_strict_miss:
                note_strict_miss(session, d, request.method, str(request.url))
            if d.latency_ms:
                wait = d.latency_ms / 1000.0
                try:
                    check_latency(request, d.latency_ms)
                except ReadTimeout:
                    await asyncio.sleep(_read_timeout(request) or 0)
                    raise
                await asyncio.sleep(wait)
            return answer(request, d)
        if not records(session, outcome):
            return await async_original(self, request)
        start = now_ns()
        resp = await async_original(self, request)
        resp.stream = AsyncTeeStream(resp.stream, recorder(session, request, body, resp, start))
        return resp

    def extract_cookies(self: Any, response: Any) -> None:
        jar = self.jar
        if (type(jar) is not CookieJar or type(jar._policy) is not DefaultCookiePolicy or http.cookiejar.debug
                or active_session.get() is None):
            return extract_original(self, response)
        for _, key, _ in response.headers._list:
            if key == b"set-cookie" or key == b"set-cookie2" or not key.isascii():
                return extract_original(self, response)
        response.request  # noqa: B018 - raises as httpx's own does for a response without its request
        # CookieJar.make_cookies before its "no relevant cookie headers" exit.
        jar._policy._now = jar._now = int(time.time())
        return None

    for fn, original in ((handle_request, sync_original), (handle_async_request, async_original),
                         (extract_cookies, extract_original)):
        mark_patch(fn, original)
    sync_cls.handle_request = handle_request  # type: ignore[method-assign]
    async_cls.handle_async_request = handle_async_request  # type: ignore[method-assign]
    if extract_original is not None:
        cookies_cls.extract_cookies = extract_cookies  # type: ignore[method-assign]

    def uninstall() -> None:
        restore(sync_cls, "handle_request", sync_original)
        restore(async_cls, "handle_async_request", async_original)
        if extract_original is not None:
            restore(cookies_cls, "extract_cookies", extract_original)

    return uninstall
