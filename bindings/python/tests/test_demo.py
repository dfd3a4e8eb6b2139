"""The Python main-job demo (examples/capture_replay_demo.py) runs end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

DEMO = os.path.join(os.path.dirname(__file__), "..", "examples", "capture_replay_demo.py")


def test_demo_captures_then_replays_offline(tmp_path: Any) -> None:
    run = subprocess.run([sys.executable, DEMO, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "OK: the replay matched the capture" in run.stdout
    assert "599 1 " in run.stdout and "closest rule" in run.stdout
    case = json.loads((tmp_path / "checkout-python.case.json").read_text())
    assert case["caseId"] == "checkout-python" and len(case["traces"]) >= 1
