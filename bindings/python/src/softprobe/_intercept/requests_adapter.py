"""requests interception: ``HTTPAdapter.send`` (the transport adapter) and
``Session.request``.

requests would also be served by the http.client layer underneath (through
urllib3), but deciding at the adapter skips building a urllib3 pool and
connection for every answered request. Answers are urllib3 responses passed
through the adapter's own ``build_response``, so cookies, redirects, hooks,
encodings and ``stream=`` behave as for a network response. Forwarded
requests run the original ``send`` with the lower layer bypassed (each
request is decided once); captured ones are teed under urllib3's response
(``_tee``), so requests streams them as live.

``Session.request`` (what ``requests.get`` and ``Session.get`` call) is
wrapped to decide right after the request is prepared: an answered request
then skips ``merge_environment_settings``, whose proxy-environment scan
(``getproxies`` twice over ``os.environ``) is a large share of a mocked
``requests.get`` and is meaningless for a response that never leaves the
process. Forwarded requests merge the environment exactly as requests does.

Settings are merged as ``requests.sessions.merge_setting`` merges them
(``_merge_setting``: the same result; requests' own version spends most of
its time on a runtime protocol check of each mapping, a large share of a
mocked request), and the request is prepared as ``Session.prepare_request``
does with that merge, unless a Session subclass overrides
``prepare_request`` (then its own is called).
"""

from __future__ import annotations

import http.client
import http.cookiejar as cookielib
import io
import time
from collections import OrderedDict
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, Callable, List, Optional, Tuple

from .._context import active_session, bypass
from ._common import ERROR, mark_patch, note_strict_miss, now_ns, records, restore
from ._tee import ResponseFramer, TeeFile, note_partial
from ._wire import reason_phrase, recorded_headers

# (prepared request, decision, start ns) decided by Session.request for the adapter.
_decided: ContextVar[Optional[Tuple[Any, Any, int]]] = ContextVar("softprobe_requests_decided", default=None)


def _merge_setting(request_setting: Any, session_setting: Any, dict_class: type = OrderedDict) -> Any:
    """``requests.sessions.merge_setting``, with the same result: a request
    setting over the session's; two mappings are merged (``dict_class``),
    keys set to None removed."""
    if session_setting is None:
        return request_setting
    if request_setting is None:
        return session_setting
    if not (isinstance(session_setting, Mapping) and isinstance(request_setting, Mapping)):
        return request_setting
    merged = dict_class(list(session_setting.items()))
    merged.update(list(request_setting.items()))
    for key in [k for (k, v) in merged.items() if v is None]:
        del merged[key]
    return merged


def _body_bytes(request: Any) -> bytes:
    body = request.body
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    # A file or generator body: read it once and send the bytes instead, so
    # the decision sees the body and a forwarded request still has it.
    if hasattr(body, "read"):
        data = body.read()
    else:
        data = b"".join(c.encode("utf-8") if isinstance(c, str) else bytes(c) for c in body)
    data = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    request.body = data
    return data


def _read_timeout(timeout: Any) -> Optional[float]:
    if isinstance(timeout, tuple):
        timeout = timeout[1] if len(timeout) > 1 else timeout[0]
    if isinstance(timeout, (int, float)):
        return float(timeout)
    read = getattr(timeout, "read_timeout", None)  # urllib3 Timeout
    return float(read) if isinstance(read, (int, float)) else None


class _Body(io.BytesIO):
    """An answer's body for urllib3: closed once read to its end, as a
    network response's file is (urllib3's ``stream(None)``, which requests'
    ``iter_content(chunk_size=None)`` uses, reads until the file is closed)."""

    def _end(self, data: bytes) -> bytes:
        if self.tell() >= len(self.getbuffer()):
            self.close()
        return data

    def read(self, size: Optional[int] = -1) -> bytes:
        return self._end(super().read(size))

    def read1(self, size: Optional[int] = -1) -> bytes:
        return self._end(super().read1(size))


class _OriginalResponse:
    """What requests reads cookies from (``response._original_response.msg``)."""

    __slots__ = ("msg",)

    def __init__(self, msg: Any) -> None:
        self.msg = msg

    def isclosed(self) -> bool:  # urllib3 asks; there is no connection to release
        return True

    def close(self) -> None:
        pass


def _original_response(headers: List[Tuple[str, str]]) -> Any:
    if not any(name.lower() == "set-cookie" for name, _ in headers):
        return None  # requests extracts cookies only when this is set
    msg = http.client.HTTPMessage()
    for name, value in headers:
        msg[name] = value
    return _OriginalResponse(msg)


def _decide(session: Any, request: Any) -> Any:
    # The prepared URL and header lines as requests sends them: the core makes them canonical.
    return session._decide(request.method, request.url, list(request.headers.items()), _body_bytes(request))


def install() -> Optional[Callable[[], None]]:
    try:
        import requests.adapters
        import requests.exceptions
        import requests.sessions
        from requests.cookies import RequestsCookieJar, cookiejar_from_dict, merge_cookies
        from requests.models import PreparedRequest, Request
        from requests.sessions import merge_hooks
        from requests.structures import CaseInsensitiveDict
        from urllib3._collections import HTTPHeaderDict
        from urllib3.response import HTTPResponse
    except ImportError:  # pragma: no cover - requests is optional
        return None

    adapter_cls = requests.adapters.HTTPAdapter
    session_cls = requests.sessions.Session
    original_send = adapter_cls.__dict__["send"]
    original_request = session_cls.__dict__["request"]
    original_prepare = session_cls.__dict__["prepare_request"]
    if getattr(original_send, "_softprobe", False):
        return None
    ReadTimeout = requests.exceptions.ReadTimeout

    def _uses_http_adapter(session: Any, url: Any) -> bool:
        if not isinstance(url, str):
            return False
        try:
            return isinstance(session.get_adapter(url), adapter_cls)
        except Exception:  # e.g. a URL without a scheme: requests raises its own error
            return False

    def prepare(session: Any, request: Any) -> Any:
        """``Session.prepare_request`` (requests 2.x), with ``_merge_setting``."""
        if type(session).prepare_request is not original_prepare:
            return session.prepare_request(request)
        cookies = request.cookies or {}
        if not isinstance(cookies, cookielib.CookieJar):
            cookies = cookiejar_from_dict(cookies)
        merged_cookies = merge_cookies(merge_cookies(RequestsCookieJar(), session.cookies), cookies)
        auth = request.auth
        if session.trust_env and not auth and not session.auth:
            auth = requests.sessions.get_netrc_auth(request.url)
        p = PreparedRequest()
        p.prepare(
            method=request.method.upper(),
            url=request.url,
            files=request.files,
            data=request.data,
            json=request.json,
            headers=_merge_setting(request.headers, session.headers, dict_class=CaseInsensitiveDict),
            params=_merge_setting(request.params, session.params),
            auth=_merge_setting(auth, session.auth),
            cookies=merged_cookies,
            hooks=merge_hooks(request.hooks, session.hooks),
        )
        return p

    def answer(adapter: Any, session: Any, request: Any, d: Any, timeout: Any) -> Any:
        method = request.method
        if d.is_strict_miss:
            note_strict_miss(session, d, method, request.url)
        latency = d.latency_ms
        if latency:
            limit = _read_timeout(timeout)
            if limit is not None and limit < latency / 1000.0:
                time.sleep(limit)
                raise ReadTimeout(f"softprobe: the rule's latencyMs ({latency}) exceeds the read timeout ({limit}s)",
                                  request=request)
            time.sleep(latency / 1000.0)
        status, rheaders, rbody = d.response()
        hd = HTTPHeaderDict(rheaders)
        no_body = status in (204, 304) or 100 <= status < 200
        if not no_body and "content-length" not in hd:
            hd["content-length"] = str(len(rbody))
        if no_body or method == "HEAD":
            rbody = b""  # what a server sends (the header still tells the length)
        raw = HTTPResponse(
            body=_Body(rbody),
            headers=hd,
            status=status,
            reason=reason_phrase(status),
            version=11,
            preload_content=False,
            decode_content=False,
            request_method=method,
            request_url=request.url,
            original_response=_original_response(rheaders),
        )
        return adapter.build_response(request, raw)

    def forward_and_record(adapter: Any, session: Any, request: Any, start: int, timeout: Any, verify: Any, cert: Any,
                           proxies: Any) -> Any:
        """Forwards the request; the response is teed (``_tee``): requests
        reads it from the network as it arrives (``stream=True`` and
        ``iter_content`` get each chunk as it comes), and it is recorded when
        it ends, or with the body received so far when it is closed earlier."""
        resp = original_send(adapter, request, True, timeout, verify, cert, proxies)
        raw = resp.raw
        fp = getattr(raw, "_fp", None)
        url = request.url
        req_headers = list(request.headers.items())
        req_body = _body_bytes(request)

        def finish(framer: ResponseFramer, complete: bool) -> None:
            if not complete:
                note_partial(session, request.method, url, framer)
            session._record(request.method, url, req_headers, req_body, framer.status,
                            recorded_headers(framer.headers, body_decoded=False), framer.body(), start, now_ns())

        if isinstance(fp, http.client.HTTPResponse) and fp.fp is not None:
            headers = list(fp.msg.items())  # one entry per header line, as received
            framer = ResponseFramer.after_head(request.method, fp.status, headers, bool(fp.chunked), fp.length)
            fp.fp = TeeFile(fp.fp, framer, finish)
            return resp
        # Not an http.client response underneath (or already read): read it
        # whole here and hand it to requests from memory.
        data = raw.read(decode_content=False)
        raw.release_conn()
        framer = ResponseFramer.after_head(request.method, raw.status, list(raw.headers.items()), False, len(data))
        framer.feed(data)
        finish(framer, True)
        resp.raw = HTTPResponse(
            body=_Body(data),
            headers=raw.headers,
            status=raw.status,
            reason=raw.reason,
            version=raw.version,
            preload_content=False,
            decode_content=False,
            request_method=request.method,
            request_url=request.url,
        )
        return resp

    def send(self: Any, request: Any, stream: bool = False, timeout: Any = None, verify: Any = True, cert: Any = None,
             proxies: Any = None) -> Any:
        session = active_session.get()
        if session is None or bypass.get():
            return original_send(self, request, stream, timeout, verify, cert, proxies)
        early = _decided.get()
        if early is not None and early[0] is request:
            _decided.set(None)
            d, start = early[1], early[2]
        else:
            start = now_ns()
            d = _decide(session, request)
        outcome = d.outcome
        if outcome <= ERROR:
            return answer(self, session, request, d, timeout)
        token = bypass.set(True)
        try:
            if records(session, outcome):
                return forward_and_record(self, session, request, start, timeout, verify, cert, proxies)
            return original_send(self, request, stream, timeout, verify, cert, proxies)
        finally:
            bypass.reset(token)

    def request(self: Any, method: str, url: Any, params: Any = None, data: Any = None, headers: Any = None,
                cookies: Any = None, files: Any = None, auth: Any = None, timeout: Any = None,
                allow_redirects: bool = True, proxies: Any = None, hooks: Any = None, stream: Any = None,
                verify: Any = None, cert: Any = None, json: Any = None) -> Any:
        session = active_session.get()
        if session is None or bypass.get():
            return original_request(self, method, url, params, data, headers, cookies, files, auth, timeout,
                                    allow_redirects, proxies, hooks, stream, verify, cert, json)
        if not _uses_http_adapter(self, url):
            # A custom adapter (a test double, another mocking library) answers
            # this URL: leave the request to requests and that adapter.
            return original_request(self, method, url, params, data, headers, cookies, files, auth, timeout,
                                    allow_redirects, proxies, hooks, stream, verify, cert, json)
        # As requests.Session.request does, with the decision taken before
        # the environment is merged.
        req = Request(method=method.upper(), url=url, headers=headers, files=files, data=data or {}, json=json,
                      params=params or {}, auth=auth, cookies=cookies, hooks=hooks)
        prep = prepare(self, req)
        start = now_ns()
        d = _decide(session, prep)
        proxies = proxies or {}
        if d.outcome <= ERROR:
            settings = {"proxies": _merge_setting(proxies, self.proxies), "stream": _merge_setting(stream, self.stream),
                        "verify": _merge_setting(verify, self.verify), "cert": _merge_setting(cert, self.cert)}
        else:
            settings = self.merge_environment_settings(prep.url, proxies, stream, verify, cert)
        token = _decided.set((prep, d, start))
        try:
            return self.send(prep, timeout=timeout, allow_redirects=allow_redirects, **settings)
        finally:
            _decided.reset(token)

    for fn, original in ((send, original_send), (request, original_request)):
        mark_patch(fn, original)
    adapter_cls.send = send  # type: ignore[method-assign]
    session_cls.request = request  # type: ignore[method-assign]

    def uninstall() -> None:
        restore(adapter_cls, "send", original_send)
        restore(session_cls, "request", original_request)

    return uninstall
