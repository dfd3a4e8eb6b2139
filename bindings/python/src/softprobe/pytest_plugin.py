"""pytest plugin (registered through the ``pytest11`` entry point).

Fixtures (function scope):

- ``softprobe``: a ``Softprobe`` client (embedded, or the runtime named by
  ``$SOFTPROBE_RUNTIME_URL``). Every session started through it is closed
  when the test ends.
- ``softprobe_session``: a session started through ``softprobe`` and active
  for the whole test (its rules decide the test's outbound HTTP).

Markers:

- ``@pytest.mark.softprobe_case("cases/x.case.json")``: load this case into
  ``softprobe_session`` (a relative path is resolved from the test file).
- ``@pytest.mark.softprobe_options(mode="capture", policy={...}, out="x.case.json")``:
  how ``softprobe_session`` is started and where a capture is written.
- ``@pytest.mark.softprobe_allow_strict_misses``: do not fail the test when
  its sessions had strict misses.

A test whose sessions answered any request with a strict miss fails, with
the core's explanation of each miss. The terminal summary adds the hits,
misses and near misses of all sessions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List

import pytest

from .client import Softprobe
from .session import Session, describe_strict_misses

_SESSIONS = pytest.StashKey[List[Session]]()
_SUMMARY = pytest.StashKey["_Summary"]()


@dataclass
class _TestRecord:
    nodeid: str
    session_id: str
    mode: str
    decided: int
    hits: int
    captured: int
    misses: List[Dict[str, Any]]


@dataclass
class _Summary:
    records: List[_TestRecord] = field(default_factory=list)


class _FixtureClient(Softprobe):
    """A Softprobe client that remembers every session it started or attached."""

    def __init__(self, item: pytest.Item) -> None:
        super().__init__()
        self._item = item

    def _track(self, session: Session) -> Session:
        self._item.stash.setdefault(_SESSIONS, []).append(session)
        return super()._track(session)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "softprobe_case(path): load this case file into the softprobe_session fixture "
        "(relative paths are resolved from the test file's directory)")
    config.addinivalue_line(
        "markers", "softprobe_options(mode='replay', policy=None, out=None, **start_session_options): "
        "how the softprobe_session fixture is started and where a capture is written")
    config.addinivalue_line(
        "markers", "softprobe_allow_strict_misses: do not fail the test when its softprobe sessions had strict misses")
    config.stash[_SUMMARY] = _Summary()


@pytest.fixture
def softprobe(request: pytest.FixtureRequest) -> Iterator[Softprobe]:
    """A Softprobe client whose sessions are closed when the test ends."""
    client = _FixtureClient(request.node)
    yield client
    for session in request.node.stash.get(_SESSIONS, []):
        _record(request.node, session)
        if not session.closed:
            session.close()


@pytest.fixture
def softprobe_session(softprobe: Softprobe, request: pytest.FixtureRequest) -> Iterator[Session]:
    """A session active for the whole test (see the softprobe_case and
    softprobe_options markers)."""
    options: Dict[str, Any] = {}
    marker = request.node.get_closest_marker("softprobe_options")
    if marker is not None:
        options.update(marker.kwargs)
        if marker.args:
            options.setdefault("mode", marker.args[0])
    out = options.pop("out", None)
    mode = options.pop("mode", "replay")
    policy = options.pop("policy", None)
    session = softprobe.start_session(mode, policy, **options)
    case = request.node.get_closest_marker("softprobe_case")
    if case is not None:
        if not case.args:
            raise pytest.UsageError("@pytest.mark.softprobe_case needs the case file path")
        path = os.fspath(case.args[0])
        if not os.path.isabs(path):
            path = os.path.join(os.path.dirname(os.fspath(request.node.path)), path)
        session.load_case_from_file(path)
    with session.activate():
        yield session
    if not session.closed:
        if out is not None and not os.path.isabs(os.fspath(out)):
            out = os.path.join(os.path.dirname(os.fspath(request.node.path)), os.fspath(out))
        session.close(out)


@pytest.hookimpl(trylast=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """Runs after the test body (only when it passed): fails the test when
    its sessions had strict misses."""
    if item.get_closest_marker("softprobe_allow_strict_misses") is not None:
        return
    failures = []
    for session in item.stash.get(_SESSIONS, []):
        misses = session.strict_misses()
        # The counter also covers misses beyond the core's recent list and,
        # with a runtime, the ones its proxy decided.
        count = int(session.get_stats().get("stats", {}).get("strictMisses", 0))
        if misses or count:
            text = describe_strict_misses(session.id, misses) if misses else (
                f"session {session.id} had strict misses")
            if count > len(misses):
                text += f"\n({count} strict misses in all, counting the runtime's; see get_stats())"
            failures.append(text)
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)


def _record(item: pytest.Item, session: Session) -> None:
    summary = item.config.stash.get(_SUMMARY, None)
    if summary is None:
        return
    try:
        stats = session.get_stats().get("stats", {})
    except Exception:  # a runtime gone away must not hide the test's own result
        return
    summary.records.append(_TestRecord(
        nodeid=item.nodeid,
        session_id=session.id,
        mode=session.mode,
        decided=int(stats.get("decisions", 0)),  # injectedSpans counts mock/error answers only
        hits=sum(int(h.get("hits", 0)) for h in stats.get("ruleHits", [])),
        captured=int(stats.get("extractedSpans", 0)),
        misses=session.strict_misses(),
    ))


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    summary = config.stash.get(_SUMMARY, None)
    if not summary or not summary.records:
        return
    records = summary.records
    misses = [(r, m) for r in records for m in r.misses]
    near = [m for _, m in misses if m.get("nearMiss")]
    tr = terminalreporter
    tr.write_sep("-", "softprobe")
    tr.write_line(
        f"{len(records)} session(s): {sum(r.decided for r in records)} requests decided, "
        f"{sum(r.hits for r in records)} rule hits, {len(misses)} strict misses ({len(near)} near misses), "
        f"{sum(r.captured for r in records)} exchanges captured")
    for r, m in misses:
        tr.write_line(f"  strict miss in {r.nodeid}: {m.get('method', '?')} {m.get('host', '?')}{m.get('path', '')}"
                      f"{' - ' + m['explanation'] if m.get('explanation') else ''}")
