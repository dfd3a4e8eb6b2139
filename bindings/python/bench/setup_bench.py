"""Setup cost: N mock_outbound calls of one rule each on a fresh session (issue 15).

    python bindings/python/bench/setup_bench.py [--n 10000] [--rounds 3] [--base-url URL]

Each call appends one rule with its own path_prefix on one host
(sp_session_add_rules). Embedded by default; --base-url runs it against a
softprobe-runtime (remote mode: the core sends the runtime the whole list on
each call). Prints the median over rounds of the total time in ms.
"""

from __future__ import annotations

import argparse
import statistics
import time

import softprobe


def one_round(n: int, base_url: str | None) -> float:
    sp = softprobe.Softprobe(base_url=base_url) if base_url else softprobe.Softprobe()
    s = sp.start_session()
    t0 = time.perf_counter()
    for i in range(n):
        s.mock_outbound(method="GET", host="api.example.com", path_prefix=f"/items/{i}/",
                        response={"status": 200, "body": "x"})
    elapsed = (time.perf_counter() - t0) * 1000
    if len(s.dump_rules()["rules"]) != n:
        raise SystemExit("rules lost")
    s.close()
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--base-url", default=None)
    args = ap.parse_args()
    runs = [one_round(args.n, args.base_url) for _ in range(args.rounds)]
    mode = "remote" if args.base_url else "embedded"
    print(f"{args.n} mock_outbound calls, {mode}: median {statistics.median(runs):.1f} ms "
          f"(runs {', '.join(f'{r:.1f}' for r in runs)})")


if __name__ == "__main__":
    main()
