"""What every interceptor shares: outcome codes, strict-miss logging, timing."""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any, Optional

from .. import _core

if TYPE_CHECKING:  # pragma: no cover
    from ..session import Session

MOCK = _core.OUTCOME_MOCK
ERROR = _core.OUTCOME_ERROR
PASSTHROUGH = _core.OUTCOME_PASSTHROUGH
CAPTURE_ONLY = _core.OUTCOME_CAPTURE_ONLY

logger = logging.getLogger("softprobe")
now_ns = time.time_ns


def answered(outcome: int) -> bool:
    """Mock and error outcomes are answered in process."""
    return outcome <= ERROR


def records(session: "Session", outcome: int) -> bool:
    """Whether a forwarded exchange (``outcome`` passthrough or capture_only)
    is read whole and recorded: in capture and generate sessions, never after
    close. A replay session keeps no exchanges (the core drops them: it
    writes no case), so a capture_only rule there forwards like passthrough
    and the response is not buffered."""
    return session._records and not session._closed


def note_strict_miss(session: "Session", decision: _core.Decision, method: str, url: str, why: str = "") -> None:
    """Logs one strict miss with the core's near-miss explanation (or `why`
    it was decided by the policy alone)."""
    if not logger.isEnabledFor(logging.WARNING):
        return
    explanation = ""
    try:
        explanation = json.loads(decision.explain()).get("explanation", "")
    except Exception:  # pragma: no cover - explain never fails for a valid decision
        pass
    if why:
        what = f"was answered 599 by the strict policy: {why}"
    elif session._closed:
        what = "was answered 599 by the strict policy: the session is closed"
    else:
        what = "matched no rule and was answered 599"
    logger.warning(
        "softprobe strict miss in session %s: %s %s %s%s",
        session.id,
        method,
        url,
        what,
        f"; {explanation}" if explanation and not why else "",
    )


def mark_patch(fn: Any, original: Any) -> None:
    """Tags a patched function (so it is never wrapped twice) and links the original."""
    fn._softprobe = True
    fn.__wrapped__ = original
    fn.__doc__ = getattr(original, "__doc__", None)


def restore(cls: type, name: str, original: Any) -> None:
    """Puts the original back, unless another library patched the seam over
    ours meanwhile (a mocking library activated during a session): removing
    ours then would remove theirs too, so ours stays under theirs, inert
    without a session."""
    if getattr(cls.__dict__.get(name), "_softprobe", False):
        setattr(cls, name, original)
