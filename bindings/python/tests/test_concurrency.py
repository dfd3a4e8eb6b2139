"""Sessions are scoped to their thread / asyncio task (contextvars): concurrent
tests in one process never see each other's rules."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List

import aiohttp
import httpx
import requests

import softprobe
from support import Upstream

URL = "http://shared.example.test/whoami"


def _session_answering(sp: softprobe.Softprobe, name: str) -> softprobe.Session:
    s = sp.start_session(policy={"externalHttp": "strict"})
    s.mock_outbound(host="shared.example.test", path="/whoami", response={"body": name})
    return s


def test_threads_with_separate_sessions_stay_isolated(sp: softprobe.Softprobe, upstream: Upstream) -> None:
    n_threads, n_requests = 8, 40
    sessions = [_session_answering(sp, f"session-{i}") for i in range(n_threads)]
    barrier = threading.Barrier(n_threads + 1)
    seen: Dict[int, List[str]] = {}
    errors: List[BaseException] = []

    def worker(i: int) -> None:
        try:
            with sessions[i].activate(), httpx.Client() as client:
                barrier.wait()
                seen[i] = [
                    (requests.get(URL).text if k % 2 else client.get(URL).text) for k in range(n_requests)
                ]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    barrier.wait()
    # Meanwhile this thread has no active session: it reaches the real server.
    assert requests.get(f"{upstream.url}/items/main").json()["source"] == "upstream"
    for t in threads:
        t.join()
    assert not errors
    for i in range(n_threads):
        assert seen[i] == [f"session-{i}"] * n_requests
        stats = sessions[i].get_stats()["stats"]
        assert (stats["injectedSpans"], stats["strictMisses"]) == (n_requests, 0)


def test_a_new_thread_does_not_inherit_the_active_session(sp: softprobe.Softprobe, upstream: Upstream) -> None:
    with _session_answering(sp, "mine"):
        with ThreadPoolExecutor(2) as pool:
            other = pool.submit(lambda: requests.get(f"{upstream.url}/items/pool").json()["source"]).result()
        assert requests.get(URL).text == "mine"
    assert other == "upstream"


def test_asyncio_gather_with_separate_sessions(sp: softprobe.Softprobe) -> None:
    sessions = [_session_answering(sp, f"task-{i}") for i in range(6)]

    async def task(i: int) -> List[str]:
        with sessions[i].activate():
            out = []
            async with httpx.AsyncClient() as hc, aiohttp.ClientSession() as ac:
                for k in range(10):
                    if k % 2:
                        out.append((await hc.get(URL)).text)
                    else:
                        async with ac.get(URL) as r:
                            out.append(await r.text())
                    await asyncio.sleep(0)  # interleave with the other tasks
            return out

    async def main() -> List[List[str]]:
        return await asyncio.gather(*(task(i) for i in range(6)))

    results = asyncio.run(main())
    for i, answers in enumerate(results):
        assert answers == [f"task-{i}"] * 10
        assert sessions[i].get_stats()["stats"]["injectedSpans"] == 10


def test_child_tasks_inherit_the_session(sp: softprobe.Softprobe) -> None:
    async def main() -> str:
        async def child() -> str:
            async with httpx.AsyncClient() as c:
                return (await c.get(URL)).text

        with _session_answering(sp, "parent"):
            return await asyncio.create_task(child())

    assert asyncio.run(main()) == "parent"


def test_one_session_shared_by_threads_counts_every_request(sp: softprobe.Softprobe) -> None:
    s = _session_answering(sp, "shared")
    s.mock_outbound(host="shared.example.test", path="/once", consume="once", response={"body": "first"})

    def worker() -> List[str]:
        with s.activate():
            return [requests.get(URL).text for _ in range(25)] + [requests.get("http://shared.example.test/once").text]

    with ThreadPoolExecutor(4) as pool:
        results = [f.result() for f in [pool.submit(worker) for _ in range(4)]]
    assert all(r[:25] == ["shared"] * 25 for r in results)
    # consume="once" is enforced by the core atomically: exactly one thread got it.
    assert sorted(r[25] for r in results).count("first") == 1
    stats = s.get_stats()["stats"]
    assert stats["decisions"] == 104  # every request decided, once
    assert stats["injectedSpans"] + stats["passthroughs"] + stats["strictMisses"] == 104
