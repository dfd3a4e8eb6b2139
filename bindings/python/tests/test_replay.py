"""Replay through every intercepted client: mocks, errors, strict misses,
passthrough to a real server, latency, request matching."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from typing import Callable, Dict, Optional, Tuple

import aiohttp
import httpx
import pytest
import requests
import urllib3

import softprobe
from support import Upstream

# Every client as a function (method, url, body, headers) -> (status, headers, body).
Result = Tuple[int, Dict[str, str], bytes]


def via_requests(method: str, url: str, body: bytes = b"", headers: Optional[Dict[str, str]] = None) -> Result:
    r = requests.request(method, url, data=body or None, headers=headers or {})
    return r.status_code, {k.lower(): v for k, v in r.headers.items()}, r.content


def via_urllib(method: str, url: str, body: bytes = b"", headers: Optional[Dict[str, str]] = None) -> Result:
    req = urllib.request.Request(url, data=body or None, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    except urllib.error.HTTPError as e:
        with e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def via_urllib3(method: str, url: str, body: bytes = b"", headers: Optional[Dict[str, str]] = None) -> Result:
    with urllib3.PoolManager() as pool:
        r = pool.request(method, url, body=body or None, headers=headers or {})
        return r.status, {k.lower(): v for k, v in r.headers.items()}, r.data


def via_httpx(method: str, url: str, body: bytes = b"", headers: Optional[Dict[str, str]] = None) -> Result:
    with httpx.Client() as c:
        r = c.request(method, url, content=body or None, headers=headers or {})
        return r.status_code, dict(r.headers), r.content


def via_httpx_async(method: str, url: str, body: bytes = b"", headers: Optional[Dict[str, str]] = None) -> Result:
    async def go() -> Result:
        async with httpx.AsyncClient() as c:
            r = await c.request(method, url, content=body or None, headers=headers or {})
            return r.status_code, dict(r.headers), r.content

    return asyncio.run(go())


def via_aiohttp(method: str, url: str, body: bytes = b"", headers: Optional[Dict[str, str]] = None) -> Result:
    async def go() -> Result:
        async with aiohttp.ClientSession() as c:
            async with c.request(method, url, data=body or None, headers=headers or {}) as r:
                return r.status, {k.lower(): v for k, v in r.headers.items()}, await r.read()

    return asyncio.run(go())


CLIENTS: Dict[str, Callable[..., Result]] = {
    "requests": via_requests,
    "urllib": via_urllib,
    "urllib3": via_urllib3,
    "httpx": via_httpx,
    "httpx-async": via_httpx_async,
    "aiohttp": via_aiohttp,
}
clients = pytest.mark.parametrize("call", list(CLIENTS.values()), ids=list(CLIENTS))


@clients
def test_mock_is_answered_in_process(call: Callable[..., Result], sp: softprobe.Softprobe) -> None:
    with sp.start_session(policy={"externalHttp": "strict"}) as s:
        s.mock_outbound(method="GET", host="api.example.test", path="/items/1",
                        response={"status": 200, "headers": {"content-type": "application/json", "x-mocked": "yes"},
                                  "body": {"id": 1}})
        status, headers, body = call("GET", "http://api.example.test/items/1?expand=1")
        stats = s.get_stats()["stats"]
    assert (status, headers["content-type"], headers["x-mocked"], json.loads(body)) == (
        200, "application/json", "yes", {"id": 1})
    assert headers["content-length"] == str(len(body))
    assert stats["injectedSpans"] == 1 and stats["strictMisses"] == 0
    assert stats["ruleHits"][0]["hits"] == 1


@clients
def test_https_mock_never_touches_the_network(call: Callable[..., Result], sp: softprobe.Softprobe) -> None:
    with sp.start_session(policy={"externalHttp": "strict"}) as s:
        s.mock_outbound(host="secure.example.test", path="/v1/me", response={"status": 200, "body": "secret"})
        status, _, body = call("GET", "https://secure.example.test/v1/me")
    assert (status, body) == (200, b"secret")


@clients
def test_case_response_replays_through_find_in_case(call: Callable[..., Result], sp: softprobe.Softprobe) -> None:
    from support import CASES

    with sp.start_session(policy={"externalHttp": "strict"}) as s:
        s.load_case_from_file(f"{CASES}/checkout.case.json")
        charge = s.find_in_case(method="POST", path="/v1/charges")
        s.mock_outbound(method="POST", host="payments.example.test", path="/v1/charges", response=charge.response)
        status, headers, body = call("POST", "https://payments.example.test/v1/charges", b'{"amount":42}',
                                     {"content-type": "application/json"})
    assert status == 201 and json.loads(body) == {"charge": "ch_1", "status": "succeeded"}
    assert headers["content-type"] == "application/json"


@clients
def test_error_rule_and_status_are_kept(call: Callable[..., Result], sp: softprobe.Softprobe) -> None:
    with sp.start_session() as s:
        # (no Retry-After: urllib3 would honour it and retry, exactly as with a real server)
        s.mock_outbound(path="/down", error={"status": 503, "body": "maintenance", "headers": {"x-reason": "deploy"}})
        status, headers, body = call("GET", "http://api.example.test/down")
    assert (status, headers["x-reason"], body) == (503, "deploy", b"maintenance")


@clients
def test_strict_miss_has_the_contract_shape(call: Callable[..., Result], sp: softprobe.Softprobe) -> None:
    with sp.start_session(policy={"externalHttp": "strict"}) as s:
        s.mock_outbound(path="/items/1", response={"body": "x"})
        status, headers, body = call("GET", "http://api.example.test/items/2")
        misses = s.strict_misses()
        stats = s.get_stats()["stats"]
    assert status == 599
    assert headers["content-type"] == "application/json"
    assert headers["x-softprobe-strict-miss"] == "1"
    doc = json.loads(body)
    assert doc == {"error": "strict policy blocked unmatched outbound", "sessionId": s.id,
                   "requestFingerprint": softprobe.fingerprint("GET", "api.example.test", "/items/2")}
    assert stats["strictMisses"] == 1
    assert stats["lastStrictMiss"]["path"] == "/items/2"
    # The core's near-miss explanation names the closest rule and the failed predicate.
    assert misses[0]["nearMiss"]["failed"][0]["predicate"] == "path"
    assert "/items/1" in misses[0]["explanation"]


@clients
def test_passthrough_reaches_the_real_server(call: Callable[..., Result], upstream: Upstream,
                                             sp: softprobe.Softprobe) -> None:
    with sp.start_session() as s:  # default policy: unmatched traffic passes
        s.mock_outbound(path="/items/mocked", response={"body": "mocked"})
        status, headers, body = call("GET", f"{upstream.url}/items/7")
        mocked = call("GET", f"{upstream.url}/items/mocked")
    assert status == 200 and headers["x-upstream"] == "1" and json.loads(body) == {"id": "7", "source": "upstream"}
    assert mocked[2] == b"mocked"
    assert upstream.hits == [("GET", "/items/7")]


@clients
def test_passthrough_rule_beats_strict_policy(call: Callable[..., Result], upstream: Upstream,
                                              sp: softprobe.Softprobe) -> None:
    with sp.start_session(policy={"externalHttp": "strict"}) as s:
        s.mock_outbound(host="127.0.0.1", action="passthrough")
        status, _, body = call("POST", f"{upstream.url}/echo", b"hello", {"x-test": "1"})
    doc = json.loads(body)
    assert status == 201 and doc["body"] == "hello" and doc["headers"]["x-test"] == "1"


@clients
def test_body_and_header_predicates_see_the_request(call: Callable[..., Result], sp: softprobe.Softprobe) -> None:
    with sp.start_session(policy={"externalHttp": "strict"}) as s:
        s.mock_outbound(method="POST", path="/pay", body_json_path="$.amount", equals=42,
                        headers={"x-tenant": "acme"}, response={"status": 200, "body": "paid"})
        ok = call("POST", "http://api.example.test/pay", b'{"amount":42}', {"x-tenant": "acme"})
        wrong_body = call("POST", "http://api.example.test/pay", b'{"amount":7}', {"x-tenant": "acme"})
        wrong_header = call("POST", "http://api.example.test/pay", b'{"amount":42}', {"x-tenant": "other"})
    assert (ok[0], ok[2]) == (200, b"paid")
    assert wrong_body[0] == 599 and wrong_header[0] == 599


@clients
def test_latency_is_honoured(call: Callable[..., Result], sp: softprobe.Softprobe) -> None:
    with sp.start_session() as s:
        s.mock_outbound(path="/slow", latency_ms=150, response={"body": "late"})
        t = time.perf_counter()
        status, _, body = call("GET", "http://api.example.test/slow")
        elapsed = time.perf_counter() - t
    assert (status, body) == (200, b"late")
    assert elapsed >= 0.15


def test_latency_over_the_read_timeout_times_out(sp: softprobe.Softprobe) -> None:
    with sp.start_session() as s:
        s.mock_outbound(path="/slow", latency_ms=2000, response={"body": "late"})
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get("http://api.example.test/slow", timeout=0.05)
        with pytest.raises(httpx.ReadTimeout):
            httpx.get("http://api.example.test/slow", timeout=0.05)
        with pytest.raises(TimeoutError):
            urllib.request.urlopen("http://api.example.test/slow", timeout=0.05)


def test_requests_features_work_on_answers(sp: softprobe.Softprobe) -> None:
    with sp.start_session(policy={"externalHttp": "strict"}) as s:
        s.mock_outbound(path="/login", response={"status": 200, "headers": {"set-cookie": "sid=abc; Path=/"},
                                                 "body": "in"})
        s.mock_outbound(path="/old", response={"status": 302, "headers": {"location": "/new"}, "body": ""})
        s.mock_outbound(path="/new", response={"status": 200, "body": "moved here"})
        s.mock_outbound(path="/whoami", headers={"cookie": "sid=abc"}, response={"body": "abc"})
        with requests.Session() as http:
            assert http.get("http://api.example.test/login").text == "in"
            assert http.get("http://api.example.test/whoami").text == "abc"  # cookie jar fed by the answer
            r = http.get("http://api.example.test/old")
            assert (r.status_code, r.text, [h.status_code for h in r.history]) == (200, "moved here", [302])
            streamed = http.get("http://api.example.test/new", stream=True)
            assert b"".join(streamed.iter_content(3)) == b"moved here"
            # params, json= and a generator body are all seen by the decision
            s.mock_outbound(method="PUT", path="/doc", body_json_path="$.v", equals=1, response={"body": "put"})
            assert http.put("http://api.example.test/doc", params={"q": "1"}, json={"v": 1}).text == "put"
            gen = (part for part in [b'{"v"', b":1}"])
            assert http.put("http://api.example.test/doc", data=gen).text == "put"
        assert s.get_stats()["stats"]["strictMisses"] == 0


def test_requests_session_settings_merge_as_requests_merges_them(sp: softprobe.Softprobe) -> None:
    # The answered path prepares the request itself (a faster merge): session
    # headers and params merge under the request's, a None removes a key, and
    # a Session subclass's own prepare_request is still the one called.
    class Tagging(requests.Session):
        def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
            request.headers["x-tag"] = "sub"
            return super().prepare_request(request)

    with sp.start_session(policy={"externalHttp": "strict"}) as s:
        s.mock_outbound(path="/p", headers={"x-team": "blue"},
                        response={"body": "merged"})
        s.mock_outbound(path="/tagged", headers={"x-tag": "sub"}, response={"body": "tagged"})
        with requests.Session() as http:
            http.headers.update({"x-team": "red", "user-agent": None})
            http.params = {"a": "1", "gone": "x"}
            r = http.get("http://api.example.test/p", params={"b": "2", "gone": None}, headers={"x-team": "blue"})
            assert r.text == "merged"
            assert "user-agent" not in r.request.headers and r.request.url.endswith("/p?a=1&b=2")
        with Tagging() as http:
            assert http.get("http://api.example.test/tagged").text == "tagged"
        assert s.get_stats()["stats"]["strictMisses"] == 0


def test_head_and_no_content_answers(sp: softprobe.Softprobe) -> None:
    with sp.start_session() as s:
        s.mock_outbound(method="HEAD", path="/h", response={"status": 200, "body": "ignored"})
        s.mock_outbound(method="DELETE", path="/d", response={"status": 204})
        for call in CLIENTS.values():
            status, headers, body = call("HEAD", "http://api.example.test/h")
            assert (status, body) == (200, b"")
            status, _, body = call("DELETE", "http://api.example.test/d")
            assert (status, body) == (204, b"")


def test_raw_http_client_keep_alive_mixes_answers_and_network(upstream: Upstream, sp: softprobe.Softprobe) -> None:
    import http.client

    with sp.start_session() as s:
        s.mock_outbound(path="/items/mocked", response={"body": "from the session"})
        conn = http.client.HTTPConnection("127.0.0.1", upstream.port)
        try:
            for path, expect in [("/items/mocked", b"from the session"), ("/items/3", b'"3"'),
                                 ("/items/mocked", b"from the session"), ("/items/4", b'"4"')]:
                conn.request("GET", path)
                r = conn.getresponse()
                assert expect in r.read()
        finally:
            conn.close()
    assert upstream.hits == [("GET", "/items/3"), ("GET", "/items/4")]


def test_no_active_session_means_no_interception(upstream: Upstream, sp: softprobe.Softprobe) -> None:
    s = sp.start_session(policy={"externalHttp": "strict"})
    s.mock_outbound(path="/items/1", response={"body": "mocked"})
    # Started but not active: requests go to the network.
    assert requests.get(f"{upstream.url}/items/1").json()["source"] == "upstream"
    assert s.get_stats()["stats"]["injectedSpans"] == 0


def test_mocks_for_unresolvable_hosts_and_refused_passthrough(sp: softprobe.Softprobe) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with sp.start_session() as s:
        s.mock_outbound(host="does-not-resolve.invalid", response={"body": "ok"})
        assert requests.get("http://does-not-resolve.invalid/x").text == "ok"
        # A forwarded request to a closed port fails exactly as without softprobe.
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/x")
        with pytest.raises(urllib.error.URLError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/x")
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/x")


def test_assert_no_strict_misses_raises_with_the_explanations(sp: softprobe.Softprobe) -> None:
    with sp.start_session(policy={"externalHttp": "strict"}) as s:
        s.assert_no_strict_misses()
        assert requests.get("http://api.example.test/nothing").status_code == 599
        with pytest.raises(softprobe.StrictMissError) as exc:
            s.assert_no_strict_misses()
    assert [m["path"] for m in exc.value.misses] == ["/nothing"]
    assert "GET api.example.test/nothing" in str(exc.value) and "no rule is loaded" in str(exc.value)
