"""Shared fixtures (the upstream server lives in support.py)."""

from __future__ import annotations

from typing import Any, Iterator

import pytest

from support import Upstream

pytest_plugins = ["pytester"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fidelity(behaviour): the column of docs/python.md's client x behaviour table "
                            "this test is counted in (test_fidelity.py, fidelity_table.py)")


@pytest.fixture(scope="session")
def upstream_server() -> Iterator[Upstream]:
    server = Upstream()
    yield server
    server.close()


@pytest.fixture
def upstream(upstream_server: Upstream) -> Upstream:
    with upstream_server.lock:
        upstream_server.hits.clear()
        upstream_server.heads = 0
    return upstream_server


@pytest.fixture
def sp() -> Iterator[Any]:
    """An embedded Softprobe client whose sessions are closed after the test."""
    import softprobe

    client = softprobe.Softprobe(base_url="")
    yield client
    for s in client.sessions():
        s.close()


@pytest.fixture(autouse=True)
def _default_capture_path(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Captures closed without a path land in the test's tmp dir, never in the cwd."""
    monkeypatch.setenv("SOFTPROBE_CAPTURE_CASE_PATH", str(tmp_path / "default-capture.case.json"))
    monkeypatch.delenv("SOFTPROBE_RUNTIME_URL", raising=False)
