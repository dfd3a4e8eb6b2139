"""The real softprobe-runtime binary, started for the remote-mode tests.

The binary is $SOFTPROBE_RUNTIME_BIN, else the first of build-python/ and
build/ in the checkout that has it. When it is missing the tests skip,
unless $SOFTPROBE_REQUIRE_RUNTIME=1 (test.sh sets it), where they fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, Iterator, List, Optional

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def runtime_bin() -> str:
    candidates = [os.environ.get("SOFTPROBE_RUNTIME_BIN", "")] + [
        os.path.join(REPO, d, "runtime-server", "softprobe-runtime") for d in ("build-python", "build")
    ]
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return path
    message = "softprobe-runtime not found: set SOFTPROBE_RUNTIME_BIN (bindings/python/test.sh builds it)"
    if os.environ.get("SOFTPROBE_REQUIRE_RUNTIME") == "1":
        pytest.fail(message)
    pytest.skip(message)


class Runtime:
    def __init__(self, tmp: str, *args: str) -> None:
        # The runtime's capture directory is the default capture path's: tmp.
        self.capture_dir = tmp
        env = dict(os.environ, SOFTPROBE_CAPTURE_CASE_PATH=os.path.join(tmp, "runtime-default.case.json"))
        env.pop("SOFTPROBE_API_TOKEN", None)
        self.proc = subprocess.Popen([runtime_bin(), "--port", "0", "--log-level", "warn", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("http"):
            self.stop()
            raise AssertionError(f"softprobe-runtime did not print its address: {line!r} {self.proc.stderr.read()!r}")
        self.url = line

    def get(self, path: str, token: Optional[str] = None) -> Dict[str, Any]:
        """GET from the runtime, from a new thread: no session is active there,
        so this test helper's call is not intercepted (unlike the test's own calls)."""
        req = urllib.request.Request(self.url + path, headers={"authorization": f"Bearer {token}"} if token else {})

        def fetch() -> Dict[str, Any]:
            with urllib.request.urlopen(req, timeout=5) as r:
                return json.loads(r.read())

        with ThreadPoolExecutor(1) as pool:
            return pool.submit(fetch).result()

    def session_ids(self) -> List[str]:
        return [s["sessionId"] for s in self.get("/v1/sessions")["sessions"]]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()

    @contextlib.contextmanager
    def stopped(self) -> Iterator[None]:
        """Inside the block the runtime process is stopped (SIGSTOP): the
        kernel still accepts connections and takes requests, nothing answers."""
        os.kill(self.proc.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.proc.pid, signal.SIGCONT)
