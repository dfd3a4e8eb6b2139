"""The pytest plugin, run on generated test files (pytester)."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from support import CASES


@pytest.fixture
def case_dir(pytester: pytest.Pytester) -> str:
    os.makedirs(pytester.path / "cases", exist_ok=True)
    shutil.copy(os.path.join(CASES, "checkout.case.json"), pytester.path / "cases" / "checkout.case.json")
    return str(pytester.path / "cases")


def test_plugin_is_registered_through_its_entry_point(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    for marker in ("softprobe_case(path)", "softprobe_options(", "softprobe_allow_strict_misses"):
        result.stdout.fnmatch_lines([f"@pytest.mark.{marker}*"])
    result = pytester.runpytest("--fixtures")
    result.stdout.fnmatch_lines(["*softprobe -- *", "*softprobe_session -- *"])


def test_case_marker_and_session_fixture(pytester: pytest.Pytester, case_dir: str) -> None:
    pytester.makepyfile(
        """
        import pytest, requests, softprobe

        @pytest.mark.softprobe_case("cases/checkout.case.json")
        @pytest.mark.softprobe_options(policy={"externalHttp": "strict"})
        def test_checkout(softprobe_session):
            assert softprobe.current_session() is softprobe_session
            item = softprobe_session.find_in_case(method="GET", path="/items/1")
            softprobe_session.mock_outbound(method="GET", path="/items/1", response=item.response)
            assert requests.get("https://api.example.test/items/1").json()["source"] == "case"
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([
        "*- softprobe -*",
        "1 session(s): 1 requests decided, 1 rule hits, 0 strict misses (0 near misses), 0 exchanges captured",
    ])


def test_strict_miss_fails_the_test_with_the_explanation(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest, requests

        @pytest.mark.softprobe_options(policy={"externalHttp": "strict"})
        def test_misses(softprobe_session):
            softprobe_session.mock_outbound(method="GET", path="/items/1", response={"body": "x"})
            r = requests.get("http://api.example.test/items/2")
            assert r.status_code == 599  # the app saw the strict-miss response; the test body passes

        def test_clean(softprobe_session):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*1 request(s) were blocked by the strict policy of session *",
        "*GET api.example.test/items/2 (fingerprint *)",
        "*path expected /items/1 but the request has /items/2*",
        "*softprobe_allow_strict_misses*",
        "2 session(s): 1 requests decided, 0 rule hits, 1 strict misses (1 near misses), 0 exchanges captured",
        "*strict miss in test_strict_miss_fails_the_test_with_the_explanation.py::test_misses: GET "
        "api.example.test/items/2 - closest rule*",
    ])


def test_allow_marker_keeps_the_test_green(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest, requests

        @pytest.mark.softprobe_allow_strict_misses
        @pytest.mark.softprobe_options(policy={"externalHttp": "strict"})
        def test_expected_miss(softprobe_session):
            assert requests.get("http://blocked.example.test/").status_code == 599
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*1 strict misses (0 near misses)*"])


def test_softprobe_fixture_closes_every_session_and_checks_them(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import requests

        SEEN = []

        def test_two_sessions(softprobe):
            a = softprobe.start_session()
            b = softprobe.start_session(policy={"externalHttp": "strict"})
            SEEN.extend([a, b])
            with b.activate():
                requests.get("http://nowhere.example.test/")

        def test_they_were_closed():
            assert [s.closed for s in SEEN] == [True, True]
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*blocked by the strict policy*", "*GET nowhere.example.test/*"])


def test_capture_options_write_the_case(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import http.server, threading, pytest, requests

        class H(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200); self.send_header("content-length", "5"); self.end_headers()
                self.wfile.write(b"hello")
            def log_message(self, *a):
                pass

        @pytest.fixture
        def server():
            s = http.server.HTTPServer(("127.0.0.1", 0), H)
            t = threading.Thread(target=s.serve_forever, daemon=True); t.start()
            yield s.server_address[1]
            s.shutdown(); s.server_close()

        @pytest.mark.softprobe_options(mode="capture", out="out/captured.case.json", case_id="from-pytest")
        def test_capture(server, softprobe_session):
            assert requests.get(f"http://127.0.0.1:{server}/hello").text == "hello"
        """
    )
    os.makedirs(pytester.path / "out")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*1 exchanges captured*"])
    case = json.loads((pytester.path / "out" / "captured.case.json").read_text())
    assert case["caseId"] == "from-pytest"
    span = case["traces"][0]["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    attrs = {a["key"]: a["value"] for a in span["attributes"]}
    assert attrs["http.response.body"] == {"stringValue": "hello"}


def test_bad_case_path_is_an_error_naming_the_file(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.softprobe_case("cases/missing.case.json")
        def test_x(softprobe_session):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*CaseLoadError*missing.case.json*"])


def test_unframeable_request_fails_the_test_like_a_strict_miss(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import http.client, pytest

        @pytest.mark.softprobe_options(policy={"externalHttp": "strict"})
        def test_unframed(softprobe_session):
            conn = http.client.HTTPConnection("api.example.test", 80)
            conn.putrequest("POST", "/upload")
            conn.putheader("Content-Length", "not-a-length")
            conn.endheaders(b"x")
            assert conn.getresponse().status == 599
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*1 request(s) were blocked by the strict policy of session *",
                                 "*POST api.example.test/upload (fingerprint *)",
                                 "*answered 599 by the strict policy: it cannot be framed as HTTP/1.1 (Content-Length "
                                 "'not-a-length' is not a length)*"])
