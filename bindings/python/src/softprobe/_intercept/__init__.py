"""Installs the HTTP interceptors while at least one session is active.

Each interceptor patches one client library at its documented or most
stable seam and restores it on uninstall. The patches only act in a context
where a session is active (``softprobe._context.active_session``), so other
threads and tasks keep talking to the network untouched, and the package's
own runtime calls run bypassed.

Libraries that are installed but not imported yet are imported on first
install, so code that imports them lazily later is intercepted too.
"""

from __future__ import annotations

import threading
from typing import Callable, List

_lock = threading.Lock()
_active = 0
_uninstallers: List[Callable[[], None]] = []


def _install_all() -> None:
    from . import aiohttp_client, http_client, httpx_transport, requests_adapter

    for module in (http_client, requests_adapter, httpx_transport, aiohttp_client):
        undo = module.install()
        if undo is not None:
            _uninstallers.append(undo)


def acquire() -> None:
    """One more active session; installs the interceptors on the first."""
    global _active
    with _lock:
        if _active == 0:
            try:
                _install_all()
            except BaseException:
                _uninstall_all()
                raise
        _active += 1


def release() -> None:
    """One active session less; uninstalls everything after the last."""
    global _active
    with _lock:
        _active -= 1
        if _active == 0:
            _uninstall_all()


def _uninstall_all() -> None:
    while _uninstallers:
        _uninstallers.pop()()


def installed() -> bool:
    """True while the interceptors are in place."""
    with _lock:
        return bool(_uninstallers)
