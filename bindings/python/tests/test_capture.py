"""Capture then replay, through every intercepted client: the real request goes
out, the core records request + response + timings, close() writes the case,
and a replay session built from that case answers without the network."""

from __future__ import annotations

import gzip
import json
from typing import Any, Callable, Dict, List

import pytest
import requests
import urllib3

import softprobe
from support import Upstream
from test_replay import CLIENTS, Result

clients = pytest.mark.parametrize("call", list(CLIENTS.values()), ids=list(CLIENTS))


def _spans(case: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [span for trace in case["traces"] for rs in trace["resourceSpans"] for ss in rs["scopeSpans"]
            for span in ss["spans"]]


def _attrs(span: Dict[str, Any]) -> Dict[str, Any]:
    out = {}
    for a in span["attributes"]:
        v = a["value"]
        out[a["key"]] = v.get("stringValue", v.get("intValue", v.get("bytesValue")))
    return out


@clients
def test_capture_then_replay_round_trip(call: Callable[..., Result], upstream: Upstream, sp: softprobe.Softprobe,
                                        tmp_path: Any) -> None:
    out = tmp_path / "captured.case.json"
    with sp.start_session("capture", case_id="round-trip") as s:
        live_get = call("GET", f"{upstream.url}/items/42?fields=all", b"", {"x-trace": "t1"})
        live_post = call("POST", f"{upstream.url}/echo", b'{"n":1}', {"content-type": "application/json"})
        assert s.get_stats()["stats"]["extractedSpans"] == 2
        assert s.close(out) == str(out)  # leaving the block does not close it again
    assert live_get[0] == 200 and live_post[0] == 201
    assert upstream.count() == 2
    case = json.loads(out.read_text())
    spans = [_attrs(sp_) for sp_ in _spans(case)]
    assert [(a["http.request.method"], a["url.path"]) for a in spans] == [("GET", "/items/42"), ("POST", "/echo")]
    get, post = spans
    assert get["url.host"] == upstream.host and get["url.query"] == "fields=all"
    assert get["http.request.header.x-trace"] == "t1"
    assert get["sp.span.type"] == "extract" and get["sp.session.id"] == s.id
    assert int(get["http.response.status_code"]) == 200
    assert json.loads(get["http.response.body"]) == {"id": "42", "source": "upstream"}
    assert post["http.request.body"] == '{"n":1}' and int(post["http.response.status_code"]) == 201
    for span in _spans(case):
        assert int(span["endTimeUnixNano"]) >= int(span["startTimeUnixNano"]) > 0

    # Replay offline from the captured file: strict, no request reaches the server.
    before = upstream.count()
    with sp.start_session("replay", policy={"externalHttp": "strict"}) as r:
        r.load_case_from_file(out)
        for method, path in (("GET", "/items/42"), ("POST", "/echo")):
            r.mock_outbound(method=method, path=path, response=r.find_in_case(method=method, path=path).response)
        replay_get = call("GET", f"{upstream.url}/items/42?fields=all", b"", {"x-trace": "t1"})
        replay_post = call("POST", f"{upstream.url}/echo", b'{"n":1}', {"content-type": "application/json"})
        assert r.get_stats()["stats"]["strictMisses"] == 0
    assert upstream.count() == before
    assert replay_get[0] == live_get[0] and json.loads(replay_get[2]) == json.loads(live_get[2])
    assert replay_post[0] == live_post[0] and json.loads(replay_post[2]) == json.loads(live_post[2])
    assert replay_get[1]["content-type"] == "application/json"


@clients
def test_capture_of_chunked_gzip_and_binary_bodies(call: Callable[..., Result], upstream: Upstream,
                                                    sp: softprobe.Softprobe, tmp_path: Any) -> None:
    out = tmp_path / "bodies.case.json"
    s = sp.start_session("capture")
    with s.activate():
        live = {p: call("GET", f"{upstream.url}{p}") for p in ("/chunked", "/gzip", "/binary")}
    s.close(out)
    assert live["/binary"][2] == bytes(range(256))
    assert json.loads(live["/chunked"][2]) == {"chunked": "yes, in two parts"}
    with sp.start_session(policy={"externalHttp": "strict"}) as r:
        r.load_case_from_file(out)
        for p in ("/chunked", "/gzip", "/binary"):
            r.mock_outbound(path=p, response=r.find_in_case(path=p).response)
        for p in ("/chunked", "/gzip", "/binary"):
            status, headers, body = call("GET", f"{upstream.url}{p}")
            assert status == 200 and body == live[p][2], p
            assert "transfer-encoding" not in headers
    # gzip: the client decoded it either way (stored encoded + header, or decoded without it).
    assert json.loads(live["/gzip"][2] if live["/gzip"][2].startswith(b"{") else gzip.decompress(live["/gzip"][2])) == {
        "compressed": True}


def test_capture_only_rule_in_a_replay_session_forwards_and_keeps_nothing(upstream: Upstream,
                                                                          sp: softprobe.Softprobe) -> None:
    """A replay session writes no case, so the core keeps no exchange of it
    (issue 8: no capture buffer in replay sessions): capture_only forwards."""
    with sp.start_session("replay", policy={"externalHttp": "strict"}) as s:
        s.mock_outbound(path_prefix="/items/", action="capture_only")
        assert requests.get(f"{upstream.url}/items/9").json()["id"] == "9"
        with urllib3.PoolManager() as pool:
            assert json.loads(pool.request("GET", f"{upstream.url}/items/10").data)["id"] == "10"
        state = json.loads(s._native.state())
        stats = s.get_stats()["stats"]
    assert state["capturedExchanges"] == 0 and stats["extractedSpans"] == 0 and stats["strictMisses"] == 0
    assert upstream.count() == 2


def test_capture_only_rule_in_a_capture_session_records(upstream: Upstream, sp: softprobe.Softprobe) -> None:
    with sp.start_session("capture") as s:
        s.mock_outbound(path_prefix="/items/", action="capture_only")
        assert requests.get(f"{upstream.url}/items/9").json()["id"] == "9"
        assert s.get_stats()["stats"]["extractedSpans"] == 1
        s.close("")


def test_capture_mode_still_answers_mocks(upstream: Upstream, sp: softprobe.Softprobe, tmp_path: Any) -> None:
    s = sp.start_session("capture")
    s.mock_outbound(path="/items/mocked", response={"body": "not recorded"})
    with s.activate():
        assert requests.get(f"{upstream.url}/items/mocked").text == "not recorded"
        requests.get(f"{upstream.url}/items/real")
    s.close(tmp_path / "c.case.json")
    case = json.loads((tmp_path / "c.case.json").read_text())
    assert [_attrs(x)["url.path"] for x in _spans(case)] == ["/items/real"]


def test_capture_redaction_is_done_by_the_core(upstream: Upstream, sp: softprobe.Softprobe, tmp_path: Any) -> None:
    s = sp.start_session("capture", redaction={"enabled": True, "headers": ["authorization"]})
    with s.activate():
        requests.get(f"{upstream.url}/items/1", headers={"authorization": "Bearer secret-token"})
    s.close(tmp_path / "r.case.json")
    text = (tmp_path / "r.case.json").read_text()
    assert "secret-token" not in text


@clients
def test_capture_over_its_limit_still_answers_the_client_and_logs_the_loss(
        call: Callable[..., Result], upstream: Upstream, sp: softprobe.Softprobe, tmp_path: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    """The core refuses to record what would not load back with the session's
    limits (issue 8, item 12); capture must still not change what the client
    sees: it gets every response, and the loss is logged with the limit."""
    out = tmp_path / "capped.case.json"
    with caplog.at_level("WARNING", logger="softprobe"):
        with sp.start_session("capture", limits={"maxSpans": 1}) as s:
            assert call("GET", f"{upstream.url}/items/1", b"", {})[0] == 200
            status, _, body = call("GET", f"{upstream.url}/items/2", b"", {})
            assert status == 200 and json.loads(body)["id"] == "2"
            s.close(str(out))
    assert len(_spans(json.loads(out.read_text()))) == 1
    assert any("raise limits.maxSpans" in r.getMessage() for r in caplog.records)
