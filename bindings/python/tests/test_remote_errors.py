"""Remote mode's errors: the core's status codes and details become the
package's exception classes (errors.from_core), against the real runtime
where it can produce them and directly where it cannot."""

from __future__ import annotations

import json
import os
import socket
from typing import Any, Iterator

import pytest
import requests

import softprobe
from softprobe import _core
from softprobe.errors import from_core
from runtime_process import Runtime
from support import Upstream


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    rt = Runtime(str(tmp_path_factory.mktemp("runtime")))
    yield rt
    rt.stop()


# ---- the mapping itself --------------------------------------------------------


def test_runtime_status_with_an_answer_is_runtime_error() -> None:
    details = {"url": "http://rt/v1/sessions", "status": 429, "limit": "maxSessions", "max": 1}
    err = from_core(-13, "SP_E_RUNTIME", "the runtime refused POST http://rt/v1/sessions with 429: full", json.dumps(details))
    assert type(err) is softprobe.RuntimeError and err.status_name == "SP_E_RUNTIME"
    assert (err.status, err.url, json.loads(err.body)) == (429, "http://rt/v1/sessions", {"limit": "maxSessions", "max": 1})
    assert err.details == details and str(err).startswith("the runtime refused POST")


def test_runtime_status_without_an_answer_is_unreachable() -> None:
    details = {"url": "http://rt/v1/sessions", "cause": "Couldn't connect to server"}
    err = from_core(-13, "SP_E_RUNTIME", "the runtime at http://rt could not be reached", json.dumps(details))
    assert type(err) is softprobe.RuntimeUnreachableError and err.url == "http://rt/v1/sessions"
    assert err.details["cause"] == "Couldn't connect to server" and "SOFTPROBE_RUNTIME_URL" in str(err)


def test_spans_the_runtime_did_not_take_are_runtime_error_without_status() -> None:
    details = {"sessionId": "abc", "partialSuccess": {"rejectedSpans": "2"}}
    err = from_core(-13, "SP_E_RUNTIME", "the runtime did not take 2 captured span(s)", json.dumps(details))
    assert type(err) is softprobe.RuntimeError and err.status is None and err.url == ""
    assert json.loads(err.body) == details


def test_unknown_session_from_the_runtime_names_the_session_and_url() -> None:
    details = {"sessionId": "abc", "url": "http://rt/v1/sessions/abc/rules", "status": 404}
    err = from_core(-7, "SP_E_UNKNOWN_SESSION", 'unknown session "abc"', json.dumps(details))
    assert type(err) is softprobe.UnknownSessionError
    assert (err.session_id, err.url) == ("abc", "http://rt/v1/sessions/abc/rules")
    local = from_core(-7, "SP_E_UNKNOWN_SESSION", 'unknown session "abc"', json.dumps({"sessionId": "abc"}))
    assert isinstance(local, softprobe.UnknownSessionError) and local.url is None


def test_the_document_codes_keep_their_embedded_classes() -> None:
    # What a runtime's 400 to a setter becomes in the core (RuntimeClient: invalid_rule for rules ...).
    rule = from_core(-4, "SP_E_INVALID_RULE", "rules[0].then: bad", json.dumps({"ruleIndex": 0, "field": "then",
                                                                              "status": 400}))
    policy = from_core(-5, "SP_E_INVALID_POLICY", "externalHttp: bad", json.dumps({"field": "externalHttp"}))
    case = from_core(-3, "SP_E_INVALID_CASE", "traces: missing", "{}")
    assert isinstance(rule, softprobe.InvalidRuleError) and (rule.rule_index, rule.field) == (0, "then")
    assert isinstance(policy, softprobe.InvalidPolicyError) and policy.field == "externalHttp"
    assert type(case) is softprobe.SoftprobeError and case.status_name == "SP_E_INVALID_CASE"


# ---- from the real runtime -------------------------------------------------------


def test_a_runtime_limit_is_runtime_error_with_the_runtimes_details(tmp_path: Any) -> None:
    rt = Runtime(str(tmp_path), "--max-sessions", "1")
    try:
        client = softprobe.Softprobe(rt.url)
        first = client.start_session()
        with pytest.raises(softprobe.RuntimeError) as exc:
            client.start_session()
        err = exc.value
        assert (err.status, err.url) == (429, rt.url + "/v1/sessions")
        assert json.loads(err.body) == {"limit": "maxSessions", "max": 1} and "--max-sessions" in str(err)
        assert client.sessions() == [first]  # nothing was made here either
        first.close()
    finally:
        rt.stop()


def test_a_setter_on_a_session_the_runtime_closed_is_unknown_session(runtime: Runtime) -> None:
    s = softprobe.Softprobe(runtime.url).start_session()
    softprobe.Softprobe(runtime.url).attach(s.id).close()  # as another process (or an idle timeout) would
    revision = s.revision
    with pytest.raises(softprobe.UnknownSessionError) as exc:
        s.mock_outbound(path="/x", response={"body": "x"})
    err = exc.value
    assert err.session_id == s.id and err.url == f"{runtime.url}/v1/sessions/{s.id}/rules/append"
    assert s.revision == revision and s.dump_rules()["rules"] == []  # the mirror took nothing
    assert s.close() is None and s.closed  # nothing of ours to hand over: closing is done


def test_a_call_that_times_out_is_unreachable_and_names_the_url() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # the kernel completes connections; nobody ever answers
        port = listener.getsockname()[1]
        client = softprobe.Softprobe(f"http://127.0.0.1:{port}", timeout=0.3)
        with pytest.raises(softprobe.RuntimeUnreachableError) as exc:
            client.start_session()
    assert exc.value.url == f"http://127.0.0.1:{port}/v1/sessions" and "cause" in exc.value.details
    assert client.sessions() == []


def test_a_refused_close_can_be_retried_and_keeps_the_capture(runtime: Runtime, upstream: Upstream) -> None:
    client = softprobe.Softprobe(runtime.url)
    s = client.start_session("capture")
    with s.activate():
        assert requests.get(f"{upstream.url}/items/9").json()["source"] == "upstream"
    with pytest.raises(softprobe.SoftprobeError) as exc:
        s.close("/etc/not-here.case.json")  # the runtime refuses an absolute path (400)
    assert exc.value.status_name == "SP_E_INVALID_ARGUMENT" and exc.value.details["status"] == 400
    assert not s.closed and client.sessions() == [s]
    written = s.close(f"retried-{s.id}.case.json")
    assert s.closed and written is not None
    with open(os.path.join(runtime.capture_dir, f"retried-{s.id}.case.json")) as f:
        assert "/items/9" in f.read()


def test_bad_urls_tokens_and_timeouts_are_refused_before_any_call() -> None:
    for url, what in (("127.0.0.1:8080", "is not a URL"), ("ftp://h", "http or https"),
                      ("http://h/?q=1", "query"), ("http://user:pw@h", "credentials"),
                      ("http://h/" + "a" * 2048, "over the limit of 2048")):
        with pytest.raises(softprobe.SoftprobeError) as exc:
            softprobe.Softprobe(url)
        assert exc.value.status_name == "SP_E_INVALID_ARGUMENT" and what in str(exc.value), url
    with pytest.raises(softprobe.SoftprobeError) as token:
        softprobe.Softprobe("http://127.0.0.1:1", token="a\nb")
    assert token.value.details["field"] == "token"
    with pytest.raises(softprobe.SoftprobeError, match="over the limit of 4096"):
        softprobe.Softprobe("http://127.0.0.1:1", token="t" * 4097)
    for timeout in (0, -1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="timeout must be a positive, finite number"):
            softprobe.Softprobe("http://127.0.0.1:1", timeout=timeout)


def test_a_remote_store_says_so() -> None:
    assert _core.Store("http://127.0.0.1:1").is_remote and not _core.Store().is_remote
    client = softprobe.Softprobe("http://127.0.0.1:1/")
    assert client.mode == "remote" and client.base_url == "http://127.0.0.1:1/"
    assert softprobe.Softprobe(base_url="").mode == "embedded"

