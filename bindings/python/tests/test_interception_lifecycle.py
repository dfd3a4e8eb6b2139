"""Interception is installed only while a session is active and is removed
cleanly afterwards; it never changes code that runs without a session."""

from __future__ import annotations

import gc
import http.client
import json

import aiohttp
import httpx
import requests
import urllib3.connection

import softprobe
from softprobe import _intercept
from support import Upstream

PATCHED = [
    (http.client.HTTPConnection, "connect"),
    (http.client.HTTPSConnection, "connect"),
    (http.client.HTTPConnection, "putrequest"),
    (http.client.HTTPConnection, "send"),
    (urllib3.connection.HTTPConnection, "connect"),
    (urllib3.connection.HTTPSConnection, "connect"),
    (urllib3.connection.HTTPConnection, "request"),
    (urllib3.connection.HTTPConnection, "getresponse"),
    (requests.adapters.HTTPAdapter, "send"),
    (requests.sessions.Session, "request"),
    (httpx.HTTPTransport, "handle_request"),
    (httpx.AsyncHTTPTransport, "handle_async_request"),
    (httpx.Cookies, "extract_cookies"),
    (aiohttp.ClientSession, "_request"),
    (aiohttp.connector.BaseConnector, "connect"),
]


def _originals() -> list:
    return [cls.__dict__[name] for cls, name in PATCHED]


def test_patches_exist_only_while_a_session_is_active(sp: softprobe.Softprobe) -> None:
    # A closed strict session of an earlier test holds the patches until it
    # is garbage; a reference cycle (an exception's traceback) frees it only here.
    gc.collect()
    before = _originals()
    assert not _intercept.installed()
    with sp.start_session():
        assert _intercept.installed()
        during = _originals()
        assert all(getattr(fn, "_softprobe", False) for fn in during)
        with sp.start_session():  # nested: still installed after the inner one ends
            pass
        assert _originals() == during
    assert not _intercept.installed()
    assert _originals() == before


def test_installs_again_after_uninstall(sp: softprobe.Softprobe) -> None:
    for _ in range(3):
        with sp.start_session() as s:
            s.mock_outbound(host="again.example.test", response={"body": "yes"})
            assert requests.get("http://again.example.test/").text == "yes"
    assert not _intercept.installed()


def test_pooled_connection_made_during_a_session_works_after_it(sp: softprobe.Softprobe, upstream: Upstream) -> None:
    pool = urllib3.PoolManager()
    try:
        with sp.start_session() as s:
            s.mock_outbound(path="/items/mocked", response={"body": "mocked"})
            assert pool.request("GET", f"{upstream.url}/items/mocked").data == b"mocked"
            assert json.loads(pool.request("GET", f"{upstream.url}/items/1").data)["source"] == "upstream"
        # Same pool, same (intercepted) keep-alive connection, no session any more.
        assert json.loads(pool.request("GET", f"{upstream.url}/items/mocked").data)["source"] == "upstream"
    finally:
        pool.clear()
    assert upstream.hits == [("GET", "/items/1"), ("GET", "/items/mocked")]


def test_custom_httpx_transports_and_requests_adapters_are_left_alone(sp: softprobe.Softprobe) -> None:
    mock = httpx.MockTransport(lambda request: httpx.Response(200, text="from MockTransport"))

    class Adapter(requests.adapters.BaseAdapter):
        def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
            r = requests.Response()
            r.status_code, r._content, r.url = 200, b"from a custom adapter", request.url
            return r

        def close(self) -> None:
            pass

    with sp.start_session(policy={"externalHttp": "strict"}) as s:
        with httpx.Client(transport=mock) as c:
            assert c.get("http://x.example.test/").text == "from MockTransport"
        with requests.Session() as rs:
            rs.mount("http://custom.example.test", Adapter())
            assert rs.get("http://custom.example.test/a").text == "from a custom adapter"
        assert s.get_stats()["stats"]["injectedSpans"] == 0


def test_without_interception_lets_requests_through(sp: softprobe.Softprobe, upstream: Upstream) -> None:
    with sp.start_session(policy={"externalHttp": "strict"}) as s:
        assert requests.get(f"{upstream.url}/items/1").status_code == 599
        with softprobe.without_interception():
            assert requests.get(f"{upstream.url}/items/1").json()["source"] == "upstream"
            assert httpx.get(f"{upstream.url}/items/2").json()["source"] == "upstream"
        stats = s.get_stats()["stats"]
        assert (stats["decisions"], stats["strictMisses"], stats["injectedSpans"]) == (1, 1, 0)


def test_a_closed_strict_session_holds_the_interceptors_until_it_is_garbage(sp: softprobe.Softprobe,
                                                                           upstream: Upstream) -> None:
    """A closed session with a strict policy can still be reached from a copy
    of its context (a thread, a task): the patches stay while it is alive, and
    go when it is garbage. A pooled connection is plain in both states."""
    import gc

    pool = urllib3.PoolManager()
    try:
        with sp.start_session(policy={"externalHttp": "strict"}) as s:
            assert pool.request("GET", f"{upstream.url}/items/1").status == 599
        assert _intercept.installed()
        assert pool.request("GET", f"{upstream.url}/items/2").status == 200  # no session in this context
        del s
        gc.collect()
        assert not _intercept.installed()
        assert _originals()[0] is http.client.HTTPConnection.__dict__["connect"]
        assert not getattr(http.client.HTTPConnection.__dict__["putrequest"], "_softprobe", False)
        assert pool.request("GET", f"{upstream.url}/items/3").status == 200
    finally:
        pool.clear()
    assert upstream.hits == [("GET", "/items/2"), ("GET", "/items/3")]


def test_an_allow_session_does_not_hold_the_interceptors(sp: softprobe.Softprobe) -> None:
    s = sp.start_session(policy={"externalHttp": "allow", "externalAllowlist": ["x.test"]})
    with s:
        pass
    assert s.closed and not _intercept.installed()


def test_a_patch_made_over_ours_survives_uninstall(sp: softprobe.Softprobe) -> None:
    """A mocking library activated during a session patches the same seam
    over ours: removing ours must not remove theirs."""
    cls = requests.adapters.HTTPAdapter
    original = cls.__dict__["send"]
    with sp.start_session():
        ours = cls.__dict__["send"]
        assert ours.__wrapped__ is original

        def theirs(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            return ours(self, *args, **kwargs)

        cls.send = theirs  # type: ignore[method-assign]
    try:
        assert not _intercept.installed()
        assert cls.__dict__["send"] is theirs
    finally:
        cls.send = original  # type: ignore[method-assign]
