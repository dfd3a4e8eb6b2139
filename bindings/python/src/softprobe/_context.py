"""Which session is active, per thread and per asyncio task (contextvars)."""

from __future__ import annotations

import contextlib
from contextvars import ContextVar
from typing import TYPE_CHECKING, Iterator, Optional

if TYPE_CHECKING:  # pragma: no cover
    from .session import Session

#: The session whose rules decide this context's outbound HTTP. A new thread
#: starts with none; an asyncio task starts with its creator's.
active_session: ContextVar[Optional["Session"]] = ContextVar("softprobe_active_session", default=None)

#: True while a request is already being handled by an outer interceptor (or
#: is the package's own call to the runtime): inner layers let it through.
bypass: ContextVar[bool] = ContextVar("softprobe_bypass", default=False)


def current_session() -> Optional["Session"]:
    """The session active in this context, or None."""
    return active_session.get()


@contextlib.contextmanager
def bypassed() -> Iterator[None]:
    """Lets every request made inside the block through, undecided (public as
    ``softprobe.without_interception()``: e.g. a test client calling the app
    under test while a session is active)."""
    token = bypass.set(True)
    try:
        yield
    finally:
        bypass.reset(token)
