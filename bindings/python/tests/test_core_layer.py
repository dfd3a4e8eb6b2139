"""softprobe._core: the thin native layer over the C ABI."""

from __future__ import annotations

import json

import pytest

import softprobe
from softprobe import _core


def _session() -> _core.Session:
    store = _core.Store()
    s = store.new_session(json.dumps({"mode": "replay", "policy": {"externalHttp": "strict"}}))
    s.set_rules(json.dumps({"version": 1, "rules": [{"name": "users", "when": {"method": "GET", "path": "/users"},
                                                     "then": {"action": "mock", "response": {
                                                         "status": 201, "headers": {"x-a": "1"}, "body": "[]"}}}]}))
    return s


def test_constants_and_versions() -> None:
    assert _core.VERSION_NUMBER // 10000 == int(_core.VERSION.split(".")[0])
    outcomes = (_core.OUTCOME_MOCK, _core.OUTCOME_ERROR, _core.OUTCOME_PASSTHROUGH, _core.OUTCOME_CAPTURE_ONLY)
    assert outcomes == (0, 1, 2, 3)
    assert _core.status_name(-4) == "SP_E_INVALID_RULE"


def test_decide_accepts_str_and_bytes_views() -> None:
    s = _session()
    for args in (("GET", "http", "api.test", 0, "/users", "", [("Accept", "*/*")], b""),
                 (b"GET", b"http", b"api.test", 80, b"/users", b"a=1", [(b"accept", b"*/*")], None)):
        d = s.decide(*args)
        assert (d.outcome, d.status, d.rule, d.is_strict_miss, d.latency_ms) == (_core.OUTCOME_MOCK, 201, "users",
                                                                                False, 0)
        assert d.headers() == [("x-a", "1")] and d.raw_headers() == [(b"x-a", b"1")] and d.body() == b"[]"
        assert d.response() == (201, [("x-a", "1")], b"[]")
    miss = s.decide("GET", "http", "api.test", 0, "/user", "", None, b"")
    assert miss.is_strict_miss and miss.status == 599 and miss.outcome == _core.OUTCOME_ERROR
    explained = json.loads(miss.explain())
    assert explained["nearMiss"]["rule"] == "users" and explained["path"] == "/user"


def test_bad_argument_types_raise_type_error() -> None:
    s = _session()
    with pytest.raises(TypeError, match="method must be str or bytes"):
        s.decide(1, "http", "h", 0, "/", "", None, b"")
    with pytest.raises(TypeError, match="headers"):
        s.decide("GET", "http", "h", 0, "/", "", [("only-a-name",)], b"")


def test_status_codes_become_the_package_exceptions() -> None:
    s = _session()
    with pytest.raises(softprobe.InvalidRuleError) as exc:
        s.set_rules('{"rules":[{"then":{"action":"replay"}}]}')
    assert exc.value.status_name == "SP_E_INVALID_RULE" and exc.value.details["ruleIndex"] == 0
    with pytest.raises(softprobe.SoftprobeError) as bad_json:
        s.set_rules("{nope")
    assert bad_json.value.status_name == "SP_E_INVALID_JSON"
    assert bad_json.value.message == _core.last_error()  # the core's message, word for word
    assert "column 3" in bad_json.value.message
    assert s.close("") == ""
    with pytest.raises(softprobe.SessionClosedError):
        s.decide("GET", "http", "h", 0, "/", "", None, b"")


def test_record_and_capture_through_the_abi(tmp_path) -> None:
    store = _core.Store()
    s = store.new_session('{"mode":"capture","caseId":"abi"}')
    s.record("POST", "http", "api.test", 8080, "/v1/x", "q=1", [("content-type", "application/json")], b'{"a":1}',
             200, [("content-type", "text/plain")], b"ok", 1, 2)
    s.record("GET", "http", "api.test", 0, "/no-response", "", None, None, None, None, None)
    assert json.loads(s.stats())["stats"]["extractedSpans"] == 2
    out = tmp_path / "abi.case.json"
    assert s.close(str(out)) == str(out)
    text = out.read_text()
    assert '"api.test:8080"' in text and '"/no-response"' in text
