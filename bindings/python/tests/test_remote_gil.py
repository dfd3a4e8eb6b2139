"""A remote call waits on the network without the GIL: other Python threads
(a test's own HTTP server, the application's threads) keep running while it
is pending, and each call is bounded by the client's timeout.

How it is told apart: a thread can only run Python code while it holds the
GIL, so a thread that records time.monotonic() in a loop has no entry inside
the span of a call that holds it. The runtime is made to take requests and
never answer (a socket nobody reads from, or the real runtime stopped with
SIGSTOP), so each call below is pending until the timeout.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from typing import Any, Callable, Dict, Iterator, List

import pytest
import requests

import softprobe
from runtime_process import Runtime
from support import CASES

TIMEOUT = 0.6  # seconds: each pending call below fails after this
MARGIN = 0.15  # a call's first and last seconds that are not looked at


@contextlib.contextmanager
def ticker() -> Iterator[List[float]]:
    """A thread appending time.monotonic() every 5 ms while the block runs."""
    ticks: List[float] = []
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.005)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        yield ticks
    finally:
        stop.set()
        t.join(5)


def pending(call: Callable[[], Any]) -> Dict[str, Any]:
    """Runs `call` (which must fail with RuntimeUnreachableError after the
    timeout) beside a ticker; returns how long it took and how many ticks the
    other thread made inside it."""
    with ticker() as ticks:
        time.sleep(0.02)
        start = time.monotonic()
        with pytest.raises(softprobe.RuntimeUnreachableError) as exc:
            call()
        end = time.monotonic()
    inside = [t for t in ticks if start + MARGIN < t < end - MARGIN]
    return {"seconds": end - start, "ticks_inside": len(inside), "error": exc.value}


def test_a_pending_create_lets_the_tests_own_server_thread_run() -> None:
    # The test's own server accepts and reads the request, then never answers.
    seen: Dict[str, Any] = {}
    release = threading.Event()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]

        def serve() -> None:
            conn, _ = listener.accept()
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                seen["at"] = time.monotonic()  # needs the GIL
                seen["request_line"] = data.split(b"\r\n", 1)[0]
                release.wait(10)

        server = threading.Thread(target=serve, daemon=True)
        server.start()
        client = softprobe.Softprobe(f"http://127.0.0.1:{port}", timeout=TIMEOUT)
        start = time.monotonic()
        with pytest.raises(softprobe.RuntimeUnreachableError) as exc:
            client.start_session()
        end = time.monotonic()
        release.set()
        server.join(5)
    assert seen["request_line"].startswith(b"POST /v1/sessions ")
    # The server thread read the request while the call was still waiting for its answer.
    assert start < seen["at"] < end - MARGIN, (start, seen["at"], end)
    assert TIMEOUT * 0.9 <= end - start < TIMEOUT + 5  # pending until the timeout, and bounded by it
    assert exc.value.url == f"http://127.0.0.1:{port}/v1/sessions"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    rt = Runtime(str(tmp_path_factory.mktemp("runtime")))
    yield rt
    rt.stop()


with open(os.path.join(CASES, "checkout.case.json"), "rb") as _f:
    CASE = _f.read()

# Every Session / Softprobe call that reaches the runtime.
CALLS: Dict[str, Callable[[softprobe.Session, Runtime], Any]] = {
    "mock_outbound": lambda s, rt: s.mock_outbound(path="/x", response={"body": "x"}),
    "clear_rules": lambda s, rt: s.clear_rules(),
    "set_policy": lambda s, rt: s.set_policy(external_http="strict"),
    "set_auth_fixtures": lambda s, rt: s.set_auth_fixtures(tokens=["t"]),
    "load_case": lambda s, rt: s.load_case(CASE),
    "load_case_from_file": lambda s, rt: s.load_case_from_file(os.path.join(CASES, "checkout.case.json")),
    "get_stats": lambda s, rt: s.get_stats(),
    "attach": lambda s, rt: softprobe.Softprobe(rt.url, timeout=TIMEOUT).attach(s.id),
    "start_session": lambda s, rt: softprobe.Softprobe(rt.url, timeout=TIMEOUT).start_session(),
    "close": lambda s, rt: s.close(),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_every_remote_call_waits_without_the_gil(runtime: Runtime, name: str) -> None:
    s = softprobe.Softprobe(runtime.url, timeout=TIMEOUT).start_session()
    revision = s.revision
    with runtime.stopped():
        result = pending(lambda: CALLS[name](s, runtime))
    assert result["ticks_inside"] > 0, result  # another thread ran while the call was pending
    assert TIMEOUT * 0.9 <= result["seconds"] < TIMEOUT + 5, result
    assert result["error"].url.startswith(runtime.url + "/v1/"), result
    assert s.revision == revision  # a call that got no answer changed nothing here
    if not s.closed:
        s.close()


def test_decisions_never_wait_on_the_runtime(runtime: Runtime) -> None:
    client = softprobe.Softprobe(runtime.url, timeout=TIMEOUT)
    with client.start_session(policy={"externalHttp": "strict"}) as s:
        s.mock_outbound(host="api.example.test", path="/decided", response={"body": "here"})
        with runtime.stopped():
            # Decided by the mirror in this process: the stopped runtime is not asked.
            assert requests.get("http://api.example.test/decided", timeout=5).text == "here"
            assert requests.get("http://api.example.test/other", timeout=5).status_code == 599
            assert len(s.strict_misses()) == 1 and s.dump_rules()["rules"][0]["when"]["path"] == "/decided"
