"""Smoke test of the rollout scenario suite: `python -m loadtest.scenarios --quick` for two
cheap scenarios, against the `banditd serve` child process it starts itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_sticky_and_shadow_scenarios_write_their_figures(tmp_path: Path) -> None:
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "loadtest.scenarios",
            "--only",
            "sticky,shadow",
            "--quick",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=100,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    results = json.loads((tmp_path / "scenarios.json").read_text())
    assert results["scenarios_run"] == ["sticky", "shadow"]
    assert results["machine"]["cpu_count"] >= 1
    assert results["server"]["autopilot_interval_ms"] == 250

    sticky = results["sticky"]
    assert 0 <= sticky["switched_fraction"] <= 1
    assert sticky["minimum_fraction"] == 0.1
    assert sticky["repeat_switched_fraction"] == 0.0
    assert abs(sum(sticky["shares_after"].values()) - 1.0) < 1e-3

    shadow = results["shadow"]
    assert 0 <= shadow["shadow_mean_reward"] <= 1
    assert 0 <= shadow["production_mean_reward"] <= 1
    assert shadow["shadow_state"] == "ARM_STATE_SHADOW"
    assert shadow["shadow_pulls"] == shadow["production_pulls"] == shadow["decisions"] > 0
    assert shadow["rewards_rejected"] == 0

    report = (tmp_path / "scenarios.md").read_text()
    assert "| sticky | units that switched arm |" in report
    assert "| shadow | shadow mean reward (status) |" in report
