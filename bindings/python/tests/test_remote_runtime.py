"""Remote-runtime mode against the real softprobe-runtime binary
(runtime_process.py finds and starts it)."""

from __future__ import annotations

import json
import os
import socket
import urllib.request
from typing import Any, Dict, Iterator

import pytest
import requests

import softprobe
from runtime_process import Runtime
from support import CASES, Upstream


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    rt = Runtime(str(tmp_path_factory.mktemp("runtime")))
    yield rt
    rt.stop()


@pytest.fixture
def remote(runtime: Runtime) -> Iterator[softprobe.Softprobe]:
    client = softprobe.Softprobe(runtime.url)
    yield client
    for s in client.sessions():
        s.close()


def test_sessions_live_in_the_runtime_with_a_local_mirror(remote: softprobe.Softprobe, runtime: Runtime) -> None:
    s = remote.start_session("replay", policy={"externalHttp": "strict"})
    assert s.base_url == runtime.url and remote.base_url == runtime.url
    assert s.id in runtime.session_ids()
    state = runtime.get(f"/v1/sessions/{s.id}/state")
    assert state["mode"] == "replay" and state["policy"]["externalHttp"] == "strict"
    s.close()
    assert s.id not in runtime.session_ids()


def test_rules_go_to_the_runtime_and_decide_in_process(remote: softprobe.Softprobe, runtime: Runtime) -> None:
    with remote.start_session(policy={"externalHttp": "strict"}) as s:
        s.mock_outbound(method="GET", host="api.example.test", path="/items/1", response={"body": "one"})
        s.mock_outbound(method="GET", host="api.example.test", path="/items/2", response={"body": "two"})
        remote_rules = runtime.get(f"/v1/sessions/{s.id}/rules")
        assert remote_rules == s.dump_rules() and len(remote_rules["rules"]) == 2
        assert requests.get("http://api.example.test/items/1").text == "one"
        miss = requests.get("http://api.example.test/items/3")
        assert miss.status_code == 599 and miss.json()["sessionId"] == s.id
        stats = s.get_stats()["stats"]
        assert (stats["injectedSpans"], stats["strictMisses"], stats["decisions"]) == (1, 1, 2)
        assert stats["lastStrictMiss"]["path"] == "/items/3"
        s.clear_rules()
        assert runtime.get(f"/v1/sessions/{s.id}/rules")["rules"] == []
        assert requests.get("http://api.example.test/items/1").status_code == 599


def test_stats_add_the_runtimes_and_keep_both_sources(remote: softprobe.Softprobe) -> None:
    with remote.start_session(policy={"externalHttp": "strict"}) as s:
        s.mock_outbound(path="/hit", response={"body": "hit"})
        assert requests.get("http://api.example.test/hit").text == "hit"
        stats = s.get_stats()
        assert set(stats["sources"]) == {"runtime", "local"}
        assert stats["sources"]["local"]["stats"]["injectedSpans"] == 1
        assert stats["sources"]["runtime"]["stats"]["injectedSpans"] == 0  # no proxy called the runtime
        assert stats["stats"]["injectedSpans"] == 1


def test_stats_after_close_are_this_processs(remote: softprobe.Softprobe) -> None:
    s = remote.start_session(policy={"externalHttp": "strict"})
    with s.activate():
        assert requests.get("http://api.example.test/missed").status_code == 599
    s.close()
    stats = s.get_stats()  # the runtime's session is gone: the mirror's counters, read locally
    assert stats["sessionId"] == s.id and "sources" not in stats
    assert (stats["stats"]["decisions"], stats["stats"]["strictMisses"]) == (1, 1)
    assert stats["stats"]["lastStrictMiss"]["path"] == "/missed"


def test_pytest_plugin_sessions_live_in_the_runtime(pytester: pytest.Pytester, runtime: Runtime,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOFTPROBE_RUNTIME_URL", runtime.url)
    before = set(runtime.session_ids())
    pytester.makepyfile(
        """
        import pytest, requests

        @pytest.mark.softprobe_options(policy={"externalHttp": "strict"})
        def test_hit(softprobe_session):
            assert softprobe_session.base_url == %r
            softprobe_session.mock_outbound(method="GET", path="/items/1", response={"body": "x"})
            assert requests.get("http://api.example.test/items/1").text == "x"

        @pytest.mark.softprobe_options(policy={"externalHttp": "strict"})
        def test_miss(softprobe_session):
            assert requests.get("http://api.example.test/items/2").status_code == 599
        """ % runtime.url
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*1 request(s) were blocked by the strict policy of session *",
                                 "*GET api.example.test/items/2 (fingerprint *)"])
    assert set(runtime.session_ids()) == before  # every session the plugin started was closed in the runtime


# Regression: RemoteSession::merge_stats read ruleHits as an object keyed by rule, but sessions
# give a list of {layer, index, hits}: the merged ruleHits was always {}.
def test_stats_keep_rule_hits(remote: softprobe.Softprobe) -> None:
    with remote.start_session(policy={"externalHttp": "strict"}) as s:
        s.mock_outbound(path="/hit", response={"body": "hit"})
        assert requests.get("http://api.example.test/hit").text == "hit"
        hits = s.get_stats()["stats"]["ruleHits"]
        assert isinstance(hits, list) and [h["hits"] for h in hits] == [1]


def test_control_calls_are_never_intercepted(remote: softprobe.Softprobe, runtime: Runtime) -> None:
    # A strict session with no rule for the runtime's host is active while the
    # package talks to the runtime: those calls must still reach it.
    with remote.start_session(policy={"externalHttp": "strict"}) as s:
        s.set_policy(external_http="strict", block_hosts=["127.0.0.1"])
        s.mock_outbound(path="/x", response={"body": "x"})
        assert runtime.get(f"/v1/sessions/{s.id}/state")["policy"]["blockHosts"] == ["127.0.0.1"]
        assert s.get_stats()["stats"]["strictMisses"] == 0


def test_case_and_fixtures_are_sent_and_mirrored(remote: softprobe.Softprobe, runtime: Runtime) -> None:
    with remote.start_session(policy={"externalHttp": "strict"}) as s:
        s.load_case_from_file(os.path.join(CASES, "checkout.case.json"))
        assert runtime.get(f"/v1/sessions/{s.id}/state")["caseSummary"]["caseId"] == "checkout-happy-path"
        item = s.find_in_case(method="GET", path="/items/1")
        s.mock_outbound(method="GET", path="/items/1", response=item.response)
        assert requests.get("https://api.example.test/items/1").json()["source"] == "case"
        s.set_auth_fixtures(tokens=["tok"])
        assert runtime.get(f"/v1/sessions/{s.id}/state")["fixtures"]["tokens"] == ["tok"]


def test_invalid_documents_are_refused_before_reaching_the_runtime(remote: softprobe.Softprobe,
                                                                   runtime: Runtime) -> None:
    s = remote.start_session()
    s.mock_outbound(path="/ok", response={"body": "ok"})
    revision = runtime.get(f"/v1/sessions/{s.id}/state")["sessionRevision"]
    with pytest.raises(softprobe.InvalidRuleError) as exc:
        s.mock_outbound(when_typo="/x", response={"body": "x"})
    assert exc.value.rule_index == 0  # the index in the appended document: the rule given
    with pytest.raises(softprobe.InvalidPolicyError):
        s.set_policy(external_http="maybe")
    with pytest.raises(softprobe.CaseLoadError):
        s.load_case({"caseId": 7, "traces": []})  # (a missing version is filled in: issue 11)
    state = runtime.get(f"/v1/sessions/{s.id}/state")
    assert state["sessionRevision"] == revision and len(state["rules"]["rules"]) == 1


def test_attach_from_another_client_mirrors_rules_and_policy(remote: softprobe.Softprobe, runtime: Runtime) -> None:
    s = remote.start_session(policy={"externalHttp": "strict"})
    s.mock_outbound(host="api.example.test", path="/shared", response={"body": "shared"})
    other = softprobe.Softprobe(runtime.url)  # as another process would
    attached = other.attach(s.id)
    assert attached.id == s.id and attached.mode == "replay"
    with attached.activate():
        assert requests.get("http://api.example.test/shared").text == "shared"
        assert requests.get("http://api.example.test/other").status_code == 599
    attached.close()
    assert s.id not in runtime.session_ids()
    with pytest.raises(softprobe.UnknownSessionError) as exc:
        other.attach(s.id)
    assert exc.value.session_id == s.id and exc.value.url and runtime.url in exc.value.url


def test_remote_capture_is_written_by_the_runtime(remote: softprobe.Softprobe, runtime: Runtime,
                                                  upstream: Upstream) -> None:
    # `out` is relative to the runtime's capture directory (its --capture-dir).
    with remote.start_session("capture") as s:
        assert requests.get(f"{upstream.url}/items/5").json()["source"] == "upstream"
        requests.post(f"{upstream.url}/echo", data=b"payload")
        written = s.close(f"remote-{s.id}.case.json")
    out = os.path.join(runtime.capture_dir, f"remote-{s.id}.case.json")
    assert written is not None and os.path.realpath(written) == os.path.realpath(out)
    with open(out) as f:
        case = json.load(f)
    spans = [sp for t in case["traces"] for rs in t["resourceSpans"] for ss in rs["scopeSpans"] for sp in ss["spans"]]
    paths = sorted(a["value"]["stringValue"] for sp in spans for a in sp["attributes"] if a["key"] == "url.path")
    assert paths == ["/echo", "/items/5"]
    # And it replays offline like any case.
    with remote.start_session(policy={"externalHttp": "strict"}) as r:
        r.load_case_from_file(out)
        r.mock_outbound(path="/items/5", response=r.find_in_case(path="/items/5").response)
        before = upstream.count()
        assert requests.get(f"{upstream.url}/items/5").json() == {"id": "5", "source": "upstream"}
        assert upstream.count() == before


def test_environment_variable_selects_the_runtime(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOFTPROBE_RUNTIME_URL", runtime.url)
    client = softprobe.Softprobe()
    s = client.start_session()
    try:
        assert s.id in runtime.session_ids()
    finally:
        s.close()


def test_unreachable_runtime() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = softprobe.Softprobe(f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(softprobe.RuntimeUnreachableError) as exc:
        client.start_session()
    assert exc.value.url == f"http://127.0.0.1:{port}/v1/sessions"
    assert "softprobe-runtime" in str(exc.value) and "SOFTPROBE_RUNTIME_URL" in str(exc.value)


def test_runtime_error_carries_status_body_and_url(tmp_path: Any) -> None:
    rt = Runtime(str(tmp_path), "--token", "s3cret")
    try:
        with pytest.raises(softprobe.RuntimeError) as exc:
            softprobe.Softprobe(rt.url, token="").start_session()
        err = exc.value
        assert err.status == 401 and err.url == rt.url + "/v1/sessions" and err.status_name == "SP_E_RUNTIME"
        # The runtime's message, as the core passes it on, and what to check.
        assert 'needs an "Authorization: Bearer <token>" header' in str(err) and "SOFTPROBE_API_TOKEN" in str(err)
        with pytest.raises(softprobe.RuntimeError) as wrong:
            softprobe.Softprobe(rt.url, token="nope").start_session()
        assert wrong.value.status == 403
        s = softprobe.Softprobe(rt.url, token="s3cret").start_session()
        assert s.id in [x["sessionId"] for x in rt.get("/v1/sessions", token="s3cret")["sessions"]]
        s.close()
    finally:
        rt.stop()


def test_remote_capture_is_kept_when_the_runtime_lost_the_session(runtime: Runtime, upstream: Upstream) -> None:
    # The core keeps what the runtime did not take and sends it on the next close.
    client = softprobe.Softprobe(runtime.url)
    s = client.start_session("capture")
    with s.activate():
        requests.get(f"{upstream.url}/items/8")
    # Another client closes the session in the runtime (as an idle timeout would).
    softprobe.Softprobe(runtime.url).attach(s.id).close()
    for attempt in range(2):
        # The runtime answers the upload 404 unknown_session (as the reference runtime does); the
        # core says so as a RuntimeError, never as UnknownSessionError ("closed elsewhere, nothing left").
        with pytest.raises(softprobe.RuntimeError) as exc:
            s.close()
        err = exc.value
        assert err.status == 404 and err.details["sessionId"] == s.id
        assert err.details["unsentTraces"] == 1, attempt  # the same trace, still kept
        assert "capture is kept: close again" in str(err)
        assert not s.closed and client.sessions() == [s]


def test_attach_to_rules_posted_as_a_bare_list_then_mock_outbound_appends(runtime: Runtime) -> None:
    # Regression: rules another client posted as a bare list (or one rule on its own) attached as
    # a list that _current_rules could not read, and mock_outbound failed or replaced them.
    def post(path: str, body: Any) -> Dict[str, Any]:
        req = urllib.request.Request(runtime.url + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"content-type": "application/json"})
        with softprobe.without_interception(), urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read())

    sid = post("/v1/sessions", {"mode": "replay"})["sessionId"]
    post(f"/v1/sessions/{sid}/rules",
         [{"id": "cli-rule", "when": {"path": "/cli"}, "then": {"action": "mock", "response": {"body": "cli"}}}])
    s = softprobe.Softprobe(runtime.url).attach(sid)
    try:
        s.mock_outbound(path="/sdk", response={"body": "sdk"})
        rules = runtime.get(f"/v1/sessions/{sid}/rules")["rules"]
        assert [r.get("id") or r["when"]["path"] for r in rules] == ["cli-rule", "/sdk"]
    finally:
        s.close()
