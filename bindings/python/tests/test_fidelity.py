"""Interception fidelity (issue 12): under softprobe every supported client
shows the application what the real server showed it. Capture must not change
what the application sees; offline replay of the captured case must show the
same; strict mode answers what is not in the case with the strict miss.

Each test compares, for one client and one behaviour, the live view (no
session), the view while capturing, and the view when replaying the captured
case offline under the strict policy (the server sees nothing). The table in
docs/python.md ("client x behaviour") is generated from these tests' outcomes
by fidelity_table.py; each test carries ``@pytest.mark.fidelity(behaviour)``.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable, Dict, Iterator, List, Tuple

import pytest

import softprobe
from fidelity_clients import CLIENTS, Aiohttp, Client, Seen
from fidelity_server import BINARY, GZIP_TEXT, PAGE, SET_COOKIES, STREAM_CHUNKS, FidelityServer

# Column of the table -> what its tests check (the generator prints these).
BEHAVIOURS: Dict[str, str] = {
    "capture + replay": "a GET's status, content-type, content-length and body equal live, while capturing and on "
                        "offline replay",
    "strict miss": "a request not in the case gets the 599 strict-miss answer, nothing reaches the server",
    "redirects": "a 302 shows as live: followed by the clients that follow redirects (final path, redirect "
                 "statuses; each hop recorded and replayed), a plain 302 in http.client",
    "HEAD": "HEAD keeps the server's content-length (90, no body) in capture and replay",
    "204": "a 204 shows no body and the server's content-length",
    "Set-Cookie": "two Set-Cookie lines stay two lines and two cookies in the client's jar",
    "gzip": "content-encoding shown as live, body decoded (or not) as live",
    "1 MiB binary": "a 1 MiB binary body arrives byte for byte",
    "streaming": "while capturing, the first chunk reaches the application before the server sends the last",
    "timeouts": "a mock's latencyMs longer than the client's own read timeout raises the same timeout error as a "
                "slow live server, before the latency ends",
    "pool before session": "a pool/connection opened and used before the session is captured and replayed",
}

STRICT = {"externalHttp": "strict"}
NO_REDACTION = {"enabled": False}


def fidelity(behaviour: str) -> Any:
    assert behaviour in BEHAVIOURS, behaviour
    return pytest.mark.fidelity(behaviour)


@pytest.fixture(scope="module")
def server() -> Iterator[FidelityServer]:
    s = FidelityServer()
    yield s
    s.close()


@pytest.fixture(params=list(CLIENTS))
def client_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def client(client_name: str, server: FidelityServer) -> Iterator[Client]:
    server.reset()
    c = CLIENTS[client_name](server.url)
    yield c
    server.first_chunk_seen.set()
    server.slow_release.set()
    c.close()


def _spans(path: str) -> List[Dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        case = json.load(f)
    return [span for trace in case["traces"] for rs in trace["resourceSpans"] for ss in rs["scopeSpans"]
            for span in ss["spans"]]


def _attr(span: Dict[str, Any], key: str) -> Any:
    for a in span["attributes"]:
        if a["key"] == key:
            return a["value"]
    return None


def capture(sp: softprobe.Softprobe, tmp_path: Any, run: Callable[[], Any]) -> Tuple[Any, str]:
    out = str(tmp_path / "fidelity.case.json")
    s = sp.start_session("capture", redaction=NO_REDACTION)
    with s.activate():
        seen = run()
    s.close(out)
    return seen, out


def replay(sp: softprobe.Softprobe, server: FidelityServer, case: str, run: Callable[[], Any]) -> Any:
    """Runs ``run`` in a strict replay session answering every captured span
    from the case; the server must see nothing."""
    before = server.count()
    with sp.start_session("replay", policy=STRICT) as r:
        r.load_case_from_file(case)
        done = set()
        for span in _spans(case):
            key = (_attr(span, "http.request.method")["stringValue"], _attr(span, "url.path")["stringValue"])
            if key in done:
                continue
            done.add(key)
            r.mock_outbound(method=key[0], path=key[1], response=r.find_all_in_case(method=key[0], path=key[1])[0])
        seen = run()
        assert r.get_stats()["stats"]["strictMisses"] == 0
    assert server.count() == before, "replay reached the server"
    return seen


# (behaviour, method, path) compared live / capture / replay.
EXCHANGES = [
    pytest.param("GET", "/page", marks=fidelity("capture + replay"), id="page"),
    pytest.param("HEAD", "/page", marks=fidelity("HEAD"), id="head"),
    pytest.param("GET", "/empty", marks=fidelity("204"), id="204"),
    pytest.param("GET", "/redirect", marks=fidelity("redirects"), id="redirect"),
    pytest.param("GET", "/gzip", marks=fidelity("gzip"), id="gzip"),
    pytest.param("GET", "/binary", marks=fidelity("1 MiB binary"), id="binary"),
    pytest.param("GET", "/cookies", marks=fidelity("Set-Cookie"), id="cookies"),
]


@pytest.mark.parametrize("method,path", EXCHANGES)
def test_live_capture_and_replay_agree(client: Client, server: FidelityServer, sp: softprobe.Softprobe, tmp_path: Any,
                                       method: str, path: str) -> None:
    live = client.fetch(method, path)
    captured, case = capture(sp, tmp_path, lambda: client.fetch(method, path))
    replayed = replay(sp, server, case, lambda: client.fetch(method, path))
    assert captured.view() == live.view(), "capture changed what the application sees"
    assert replayed.view() == live.view(), "replay differs from what the server showed"
    if path == "/page" and method == "HEAD":
        assert live.header("content-length") == str(len(PAGE)) and live.body == b""
    if path == "/binary":
        assert live.body == BINARY
    if path == "/redirect" and client.follows_redirects:
        assert live.path == "/target" and live.body == b"the target"
        assert [_attr(s, "url.path")["stringValue"] for s in _spans(case)] == ["/redirect", "/target"]
    if path == "/gzip":
        assert live.header("content-encoding") == "gzip"
        assert live.body == GZIP_TEXT or len(live.body) < len(GZIP_TEXT)  # decoded by the client, or still gzip


@fidelity("Set-Cookie")
def test_capture_keeps_set_cookie_lines(client: Client, sp: softprobe.Softprobe, tmp_path: Any) -> None:
    """Capture shows both cookies (two lines, two jar entries) and records
    each line as its own header entry."""
    live = client.fetch("GET", "/cookies")
    captured, case = capture(sp, tmp_path, lambda: client.fetch("GET", "/cookies"))
    assert live.set_cookies == list(SET_COOKIES) and live.jar == ["a", "b"]
    assert captured.view() == live.view()
    value = _attr(_spans(case)[0], "http.response.header.set-cookie")  # one arrayValue element per line
    assert [v["stringValue"] for v in value["arrayValue"]["values"]] == list(SET_COOKIES)


@fidelity("Set-Cookie")
def test_mocked_set_cookie_lines_reach_the_jar(client: Client, sp: softprobe.Softprobe) -> None:
    with sp.start_session(policy=STRICT) as s:
        s.mock_outbound(path="/cookies", response={"status": 200, "headers": {"set-cookie": list(SET_COOKIES)},
                                                   "body": "ok"})
        seen = client.fetch("GET", "/cookies")
    assert seen.set_cookies == list(SET_COOKIES) and seen.jar == ["a", "b"]


@fidelity("strict miss")
def test_strict_miss_outside_the_case(client: Client, server: FidelityServer, sp: softprobe.Softprobe,
                                      tmp_path: Any) -> None:
    _, case = capture(sp, tmp_path, lambda: client.fetch("GET", "/page"))
    seen = None

    def run() -> None:
        nonlocal seen
        seen = client.fetch("GET", "/target")

    before = server.count()
    with sp.start_session("replay", policy=STRICT) as r:
        r.load_case_from_file(case)
        run()
        assert r.get_stats()["stats"]["strictMisses"] == 1
    assert server.count() == before
    assert seen is not None and seen.status == 599 and seen.header("x-softprobe-strict-miss") == "1"


@fidelity("streaming")
def test_capture_streams_each_chunk_as_it_arrives(client: Client, server: FidelityServer, sp: softprobe.Softprobe,
                                                  tmp_path: Any) -> None:
    whole = b"".join(STREAM_CHUNKS)
    assert client.stream("/stream", server.first_chunk_seen.set) == whole
    server.first_chunk_seen.clear()
    captured, case = capture(sp, tmp_path, lambda: client.stream("/stream", server.first_chunk_seen.set))
    # The server held its last chunk until the client had the first one.
    assert server.stream_released == [True, True], "the first chunk reached the application only at the end"
    assert captured == whole
    span = _spans(case)[0]
    assert _attr(span, "http.response.body")["stringValue"] == whole.decode()
    assert replay(sp, server, case, lambda: client.stream("/stream", lambda: None)) == whole


@fidelity("timeouts")
def test_mocked_latency_raises_the_clients_own_timeout(client: Client, server: FidelityServer,
                                                       sp: softprobe.Softprobe) -> None:
    with pytest.raises(client.timeout_error) as live:
        client.fetch_with_timeout("/slow", 0.2)
    server.slow_release.set()
    with sp.start_session(policy=STRICT) as s:
        s.mock_outbound(path="/slow", response={"status": 200, "body": "late"}, latency_ms=3000)
        start = time.monotonic()
        with pytest.raises(client.timeout_error) as mocked:
            client.fetch_with_timeout("/slow", 0.2)
        elapsed = time.monotonic() - start
    live_type, mocked_type = type(live.value), type(mocked.value)
    del live, mocked  # their tracebacks hold the interceptors' frames (and the session): no cycle through this frame
    assert mocked_type is live_type
    assert elapsed < 2.0, "the client waited for the mock's whole latency"


@fidelity("pool before session")
def test_pool_opened_before_the_session(client: Client, server: FidelityServer, sp: softprobe.Softprobe,
                                        tmp_path: Any) -> None:
    if not client.has_pool:
        pytest.skip(f"{client.name} keeps no connection between requests")
    live = client.fetch("GET", "/page")  # opens the pool's connection, kept alive
    captured, case = capture(sp, tmp_path, lambda: client.fetch("GET", "/page"))
    assert [_attr(s, "url.path")["stringValue"] for s in _spans(case)] == ["/page"]
    replayed = replay(sp, server, case, lambda: client.fetch("GET", "/page"))
    assert captured.view() == live.view() and replayed.view() == live.view()


def test_aiohttp_capture_leaves_every_content_reader_working(server: FidelityServer, sp: softprobe.Softprobe,
                                                             tmp_path: Any) -> None:
    """Issue 12, item 1: resp.content was empty while capturing."""
    server.reset()
    server.first_chunk_seen.set()  # /stream sends both chunks at once
    c = Aiohttp(server.url)

    async def every_reader() -> List[bytes]:
        out = []
        for how in ("read", "readline", "iter_chunked", "iter_any", "lines"):
            async with c.session.get(server.url + "/stream") as r:
                if how == "read":
                    out.append(await r.content.read())
                elif how == "readline":
                    out.append(await r.content.readline() + await r.content.readline())
                elif how == "iter_chunked":
                    out.append(b"".join([p async for p in r.content.iter_chunked(3)]))
                elif how == "iter_any":
                    out.append(b"".join([p async for p in r.content.iter_any()]))
                else:
                    out.append(b"".join([line async for line in r.content]))
        return out

    try:
        (got, case) = capture(sp, tmp_path, lambda: c.run(every_reader()))
    finally:
        c.close()
    assert got == [b"".join(STREAM_CHUNKS)] * 5
    assert len(_spans(case)) == 5
    from softprobe._intercept import aiohttp_client

    assert not aiohttp_client._tees and not aiohttp_client._raw_bodies  # nothing kept after the responses ended


@pytest.mark.parametrize("name", ["http.client", "urllib3", "requests", "httpx", "httpx-async", "aiohttp"])
def test_a_response_closed_early_is_recorded_with_what_arrived(name: str, server: FidelityServer,
                                                               sp: softprobe.Softprobe, tmp_path: Any,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    server.reset()
    c = CLIENTS[name](server.url)

    class Stop(Exception):
        pass

    def first_only() -> None:
        def stop() -> None:
            raise Stop

        try:
            c.stream("/stream", stop)  # leaves after the first chunk, while the server holds the last
        except Stop:
            pass
        finally:
            server.first_chunk_seen.set()

    try:
        with caplog.at_level("WARNING", logger="softprobe"):
            _, case = capture(sp, tmp_path, first_only)
    finally:
        c.close()
    spans = _spans(case)
    assert len(spans) == 1
    body = _attr(spans[0], "http.response.body")["stringValue"].encode()
    assert body == STREAM_CHUNKS[0]
    assert any("closed by the client before its end" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("how", ["aiohttp-total", "requests-urllib3-Timeout"])
def test_other_timeout_options_fire_on_mocked_latency(how: str, server: FidelityServer,
                                                      sp: softprobe.Softprobe) -> None:
    """aiohttp's ClientTimeout(total=) and requests given a urllib3 Timeout
    raise on a mock's latency what they raise on a slow server."""
    import asyncio

    import aiohttp
    import requests
    import urllib3

    from fidelity_clients import Requests

    server.reset()
    c: Any = Aiohttp(server.url) if how == "aiohttp-total" else Requests(server.url)

    def call() -> None:
        if how == "aiohttp-total":
            c.fetch("GET", "/slow", timeout=aiohttp.ClientTimeout(total=0.2))
        else:
            c.fetch("GET", "/slow", timeout=urllib3.Timeout(connect=5.0, read=0.2))

    expected = asyncio.TimeoutError if how == "aiohttp-total" else requests.exceptions.ReadTimeout
    try:
        with pytest.raises(expected) as live:
            call()
        server.slow_release.set()
        live_type = type(live.value)
        with sp.start_session(policy=STRICT) as s:
            s.mock_outbound(path="/slow", response={"status": 200, "body": "late"}, latency_ms=3000)
            start = time.monotonic()
            with pytest.raises(expected) as mocked:
                call()
            elapsed = time.monotonic() - start
        mocked_type = type(mocked.value)
        del live, mocked  # no cycle through this frame keeps the session
    finally:
        c.close()
    assert mocked_type is live_type
    assert elapsed < 2.0

