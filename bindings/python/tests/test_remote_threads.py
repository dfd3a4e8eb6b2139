"""Remote mode from several Python threads at once: the calls run without the
GIL on one client (the core's libcurl handle takes turns), and each session
ends with what its own thread sent."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Iterator, List, Tuple

import pytest
import requests

import softprobe
from runtime_process import Runtime

THREADS = 6
SESSIONS_PER_THREAD = 4


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    rt = Runtime(str(tmp_path_factory.mktemp("runtime")))
    yield rt
    rt.stop()


def test_threads_share_one_remote_client(runtime: Runtime) -> None:
    client = softprobe.Softprobe(runtime.url)
    before = set(runtime.session_ids())

    def work(worker: int) -> List[Tuple[str, List[str], str]]:
        done = []
        for n in range(SESSIONS_PER_THREAD):
            tag = f"w{worker}-s{n}"
            with client.start_session(policy={"externalHttp": "strict"}) as s:
                for i in range(3):
                    s.mock_outbound(name=f"{tag}-{i}", host="api.example.test", path=f"/{tag}/{i}",
                                    response={"body": f"{tag}-{i}"})
                remote_rules = [r["name"] for r in runtime.get(f"/v1/sessions/{s.id}/rules")["rules"]]
                answer = requests.get(f"http://api.example.test/{tag}/2").text
                assert s.get_stats()["stats"]["injectedSpans"] == 1
                done.append((tag, remote_rules, answer))
        return done

    with ThreadPoolExecutor(THREADS) as pool:
        results = [r for rs in pool.map(work, range(THREADS)) for r in rs]
    assert len(results) == THREADS * SESSIONS_PER_THREAD
    for tag, remote_rules, answer in results:
        assert remote_rules == [f"{tag}-{i}" for i in range(3)] and answer == f"{tag}-2"
    assert set(runtime.session_ids()) == before and client.sessions() == []
