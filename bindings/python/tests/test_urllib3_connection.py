"""urllib3 answered at its connection (``_intercept/urllib3_connection.py``).

An answered urllib3 request skips the bytes: the request's header lines are
computed instead of written and parsed back, and the answer is built as the
objects http.client and urllib3 would build from its bytes. These tests hold
that path to the bytes path it replaces: the same request lines as urllib3
writes, the same response objects as http.client parses from the answer's
bytes (the bytes path is forced by making the two helpers give up), and
urllib3's own redirects, retries, streaming and connection release on top.
"""

from __future__ import annotations

import base64
import gzip
import http.client
import json
from typing import Any, Dict, List, Tuple

import pytest
import urllib3

from softprobe._intercept import urllib3_connection
from softprobe._intercept._wire import parse_request
from support import Upstream

STRICT = {"externalHttp": "strict"}
HOST = "api.u3.test"


# ---- the request lines -------------------------------------------------------------------


class _Recorder:
    """A connected socket that keeps what the client writes."""

    def __init__(self) -> None:
        self.data = bytearray()

    def sendall(self, data: Any, flags: int = 0) -> None:
        self.data += data

    def settimeout(self, timeout: Any) -> None:
        pass


REQUESTS: List[Tuple[str, Dict[str, Any]]] = [
    ("GET", {}),
    ("GET", {"headers": {"X-Trace": "  a b\t", "Accept": "*/*"}}),
    ("GET", {"headers": {"User-Agent": "mine/1", "Accept-Encoding": "gzip"}}),
    ("GET", {"headers": {"Host": "other.test:8443"}}),
    ("HEAD", {}),
    ("DELETE", {}),
    ("POST", {}),
    ("POST", {"body": b'{"a":1}', "headers": {"Content-Type": "application/json"}}),
    ("PUT", {"body": "h\u00e9llo"}),
    ("PATCH", {"body": b""}),
    ("POST", {"body": b"abc", "chunked": True}),
    ("POST", {"chunked": True}),
    ("GET", {"url": "/p/a%20th?q=1&r=%C3%A9"}),
]


@pytest.mark.parametrize("port", [80, 8080])
@pytest.mark.parametrize("method,kw", REQUESTS)
def test_request_lines_are_the_ones_urllib3_writes(method: str, kw: Dict[str, Any], port: int) -> None:
    conn = urllib3.connection.HTTPConnection(HOST, port)
    url = kw.get("url", "/items/1")
    headers = kw.get("headers")
    body = kw.get("body")
    chunked = kw.get("chunked", False)
    from urllib3.util.request import body_to_chunks

    computed = urllib3_connection._wire_lines(conn, method, url, body, headers, chunked, body_to_chunks,
                                              urllib3.connection._get_default_user_agent())
    assert computed is not None
    conn.sock = _Recorder()
    conn.request(method, url, body=body, headers=headers, chunked=chunked)  # no session: urllib3's own
    written = parse_request(bytes(conn.sock.data))
    assert written is not None and written.size == len(conn.sock.data)
    assert (written.method, written.target) == (method, url)
    assert computed == (written.headers, written.body)


@pytest.mark.parametrize("method,url,kw", [
    ("GET", "http://api.u3.test/items/1", {}),  # absolute form (a proxy)
    ("GET", "/items/1", {"headers": {"X-Bytes": b"v"}}),
    ("GET", "/items/1", {"headers": {"X-Skip": urllib3.util.SKIP_HEADER}}),
    ("GET", "/items/1", {"headers": {"User-Agent": urllib3.util.SKIP_HEADER}}),
    ("GET", "/items/1", {"headers": {"X-Utf8": "caf\u00e9"}}),
    ("POST", "/items/1", {"headers": {"Content-Length": "3"}, "body": b"abc"}),
    ("POST", "/items/1", {"body": iter([b"a", b"b"])}),
    ("G ET", "/items/1", {}),
])
def test_request_lines_not_reproduced_are_left_to_urllib3(method: str, url: str, kw: Dict[str, Any]) -> None:
    from urllib3.util.request import body_to_chunks

    conn = urllib3.connection.HTTPConnection(HOST, 80)
    assert urllib3_connection._wire_lines(conn, method, url, kw.get("body"), kw.get("headers"), False,
                                          body_to_chunks, "ua") is None


# ---- the answers, against the bytes path -------------------------------------------------

GZ = gzip.compress(b"compressed text " * 20)

ANSWERS: List[Tuple[str, str, Dict[str, Any]]] = [
    ("plain", "GET", {"status": 200, "headers": {"content-type": "application/json"}, "body": '{"id":1}'}),
    ("cookies", "GET", {"status": 200, "headers": {"Set-Cookie": ["a=1; Path=/", "b=2"], "X-Pad": "  v \t"},
                        "body": "x"}),
    ("head", "HEAD", {"status": 200, "headers": {"Content-Length": "1234"}, "body": ""}),
    ("204", "GET", {"status": 204, "headers": {"content-length": "0"}, "body": ""}),
    ("304", "GET", {"status": 304, "headers": {"ETag": '"e"'}, "body": ""}),
    ("stale framing", "GET", {"status": 200, "headers": {"Transfer-Encoding": "chunked", "Content-Length": "99"},
                              "body": "abc"}),
    ("close", "GET", {"status": 200, "headers": {"Connection": "close"}, "body": "bye"}),
    ("500", "GET", {"status": 500, "headers": {}, "body": "boom"}),
    ("599", "GET", {"status": 599, "headers": {}, "body": "odd"}),
    ("utf-8 header", "GET", {"status": 200, "headers": {"X-Name": "caf\u00e9"}, "body": "x"}),  # bytes path
    ("1xx", "GET", {"status": 103, "headers": {"Link": "</a>"}, "body": ""}),  # bytes path
]


def _gzip_answer() -> Dict[str, Any]:
    return {"status": 200, "headers": {"Content-Encoding": "gzip"}, "bodyBase64": base64.b64encode(GZ).decode()}


def _view(r: Any, pool: Any) -> Dict[str, Any]:
    raw = r._original_response
    conn_pool = pool.connection_from_host(HOST, 80, "http")
    return {
        "status": r.status, "reason": r.reason, "version": r.version, "version_string": r.version_string,
        "headers": list(r.headers.items()), "data": r.data,
        "raw": (type(raw), raw.status, raw.reason, raw.version, raw.chunked, raw.will_close, raw.isclosed(),
                raw.msg.items(), raw.msg.get_payload(), raw.msg.defects, type(raw.msg)),
        "length_remaining": r.length_remaining,
        "pool": (conn_pool.num_connections, conn_pool.pool.qsize()),
    }


@pytest.fixture
def bytes_path(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Call it to make the module give every request and answer to the bytes path."""

    def force() -> None:
        monkeypatch.setattr(urllib3_connection, "_wire_lines", lambda *a, **k: None)
        monkeypatch.setattr(urllib3_connection, "_response_lines", lambda *a, **k: None)

    return force


def _answer(sp: Any, method: str, response: Dict[str, Any], kw: Dict[str, Any], n: int = 2) -> List[Dict[str, Any]]:
    views = []
    with sp.start_session(policy=STRICT) as s:
        s.mock_outbound(method=method, host=HOST, path="/a", response=response)
        with urllib3.PoolManager() as pool:
            for _ in range(n):  # the second on the first's connection (unless it closed)
                r = pool.request(method, f"http://{HOST}/a", retries=False, **kw)
                views.append(_view(r, pool))
        assert s.get_stats()["stats"]["strictMisses"] == 0
    return views


@pytest.mark.parametrize("name,method,response", ANSWERS, ids=[a[0] for a in ANSWERS])
def test_answer_is_what_http_client_parses_from_its_bytes(sp: Any, bytes_path: Any, name: str, method: str,
                                                          response: Dict[str, Any]) -> None:
    fast = _answer(sp, method, response, {})
    bytes_path()
    slow = _answer(sp, method, response, {})
    assert fast == slow


@pytest.mark.parametrize("decode", [True, False])
def test_gzip_answer_decoded_as_from_bytes(sp: Any, bytes_path: Any, decode: bool) -> None:
    fast = _answer(sp, "GET", _gzip_answer(), {"decode_content": decode})
    assert fast[0]["data"] == (b"compressed text " * 20 if decode else GZ)
    bytes_path()
    assert fast == _answer(sp, "GET", _gzip_answer(), {"decode_content": decode})


def _streamed(sp: Any, response: Dict[str, Any]) -> Tuple[List[bytes], bytes, Any, int]:
    with sp.start_session(policy=STRICT) as s:
        s.mock_outbound(method="GET", host=HOST, path="/a", response=response)
        with urllib3.PoolManager(maxsize=1, block=True) as pool:
            r = pool.request("GET", f"http://{HOST}/a", preload_content=False, retries=False)
            chunks = list(r.stream(4))
            rest = r.read()
            closed = r.closed
            r.release_conn()
            # The pool (of one, blocking) has its connection back: a second request gets it.
            r2 = pool.request("GET", f"http://{HOST}/a", preload_content=False)
            first = r2.read(3)
            r2.release_conn()
            return chunks, rest + first, closed, pool.connection_from_host(HOST, 80, "http").num_connections


def test_preload_content_false_streams_and_releases_as_from_bytes(sp: Any, bytes_path: Any) -> None:
    response = {"status": 200, "headers": {"content-type": "text/plain"}, "body": "0123456789abcdef!"}
    fast = _streamed(sp, response)
    assert fast[0] == [b"0123", b"4567", b"89ab", b"cdef", b"!"] and fast[1] == b"012" and fast[2] is True
    assert fast[3] == 1
    bytes_path()
    assert fast == _streamed(sp, response)


def test_redirects_are_followed_by_urllib3(sp: Any) -> None:
    with sp.start_session(policy=STRICT) as s:
        s.mock_outbound(method="GET", host=HOST, path="/old",
                        response={"status": 302, "headers": {"Location": "/new"}, "body": "moved"})
        s.mock_outbound(method="GET", host=HOST, path="/new", response={"status": 200, "body": "here"})
        with urllib3.PoolManager() as pool:
            r = pool.request("GET", f"http://{HOST}/old")
            assert (r.status, r.data) == (200, b"here")
            assert [h.status for h in r.retries.history] == [302]
            r = pool.request("GET", f"http://{HOST}/old", redirect=False)
            assert (r.status, r.headers["Location"], r.data) == (302, "/new", b"moved")
        assert s.get_stats()["stats"]["decisions"] == 3


def test_status_retries_are_urllib3s(sp: Any) -> None:
    with sp.start_session(policy=STRICT) as s:
        s.mock_outbound(method="GET", host=HOST, path="/flaky", consume="once", priority=10,
                        response={"status": 503, "body": "busy"})
        s.mock_outbound(method="GET", host=HOST, path="/flaky", response={"status": 200, "body": "ok"})
        with urllib3.PoolManager() as pool:
            retry = urllib3.Retry(total=2, status_forcelist=[503], backoff_factor=0)
            r = pool.request("GET", f"http://{HOST}/flaky", retries=retry)
            assert (r.status, r.data) == (200, b"ok")
            assert [h.status for h in r.retries.history] == [503]
        with urllib3.PoolManager() as pool:
            with pytest.raises(urllib3.exceptions.MaxRetryError):
                pool.request("GET", f"http://{HOST}/flaky", retries=urllib3.Retry(total=0, status_forcelist=[200]))


def test_request_body_and_chunked_reach_the_decision(sp: Any) -> None:
    with sp.start_session(policy=STRICT) as s:
        s.mock_outbound(method="POST", host=HOST, path="/j", body_json_path="$.a", equals=1,
                        response={"status": 201, "body": "made"})
        with urllib3.PoolManager() as pool:
            r = pool.request("POST", f"http://{HOST}/j", body=b'{"a": 1}', headers={"Content-Type": "application/json"})
            assert (r.status, r.data) == (201, b"made")
            r = pool.request("POST", f"http://{HOST}/j", body=b'{"a": 1}', chunked=True)
            assert (r.status, r.data) == (201, b"made")
            r = pool.request("POST", f"http://{HOST}/j", body=b'{"a": 2}', retries=False)
            assert r.status == 599
        assert s.get_stats()["stats"]["strictMisses"] == 1


def test_read_timeout_shorter_than_latency_raises_urllib3s_timeout(sp: Any) -> None:
    with sp.start_session(policy=STRICT) as s:
        s.mock_outbound(method="GET", host=HOST, path="/slow", latency_ms=2000, response={"status": 200, "body": "z"})
        with urllib3.PoolManager() as pool:
            with pytest.raises(urllib3.exceptions.ReadTimeoutError):
                pool.request("GET", f"http://{HOST}/slow", retries=False, timeout=urllib3.Timeout(read=0.05))


def test_answers_skip_http_clients_parser(sp: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The plain answer does not go through http.client's head parser (the
    point of this path); an answer it must parse still does."""
    def refuse(self: Any) -> None:
        raise AssertionError("http.client parsed the answer")

    monkeypatch.setattr(http.client.HTTPResponse, "begin", refuse)
    with sp.start_session(policy=STRICT) as s:
        s.mock_outbound(method="GET", host=HOST, path="/a", response={"status": 200, "body": "fast"})
        s.mock_outbound(method="GET", host=HOST, path="/b", response={"status": 200, "headers": {"X": "caf\u00e9"},
                                                                     "body": "bytes"})
        with urllib3.PoolManager() as pool:
            assert pool.request("GET", f"http://{HOST}/a").data == b"fast"
            with pytest.raises(Exception, match="http.client parsed the answer"):
                pool.request("GET", f"http://{HOST}/b", retries=False)


# ---- forwarded requests: decided once, written by urllib3 --------------------------------


def test_passthrough_is_decided_once_and_reaches_the_server(sp: Any, upstream: Upstream) -> None:
    with sp.start_session(policy={"externalHttp": "allow"}) as s:
        with urllib3.PoolManager() as pool:
            for _ in range(3):
                r = pool.request("GET", f"{upstream.url}/items/1")
                assert r.status == 200
        stats = s.get_stats()["stats"]
        assert (stats["decisions"], stats["passthroughs"]) == (3, 3)
    assert upstream.hits == [("GET", "/items/1")] * 3


def test_capture_records_the_request_as_written(sp: Any, upstream: Upstream, tmp_path: Any) -> None:
    path = str(tmp_path / "u3.case.json")
    s = sp.start_session("capture", redaction={"enabled": False})
    with s.activate():
        with urllib3.PoolManager() as pool:
            r = pool.request("POST", f"{upstream.url}/items/1", body=b"abc", headers={"X-Mine": "1"})
            assert r.status == 200
    s.close(path)
    with open(path, encoding="utf-8") as f:
        case = json.load(f)
    spans = [span for t in case["traces"] for rs in t["resourceSpans"] for ss in rs["scopeSpans"]
             for span in ss["spans"]]
    assert len(spans) == 1
    attrs = {a["key"]: a["value"] for a in spans[0]["attributes"]}
    names = {k for k in attrs if k.startswith("http.request.header.")}
    for header in ("host", "accept-encoding", "user-agent", "x-mine", "content-length"):
        assert f"http.request.header.{header}" in names, sorted(names)
