"""`make scenarios`: rollout scenarios against a real banditd, with figures in a report.

Starts `banditd serve` as a child process (embedded redis-server, temporary data dir, free
loopback port), drives it only through the Python client, and measures six rollout
situations: a canary going bad (bad_canary), healthy canaries and false alarms
(healthy_canary), a change of the best arm with a sliding window (drift), sticky units
under changing weights (sticky), a shadow arm (shadow), and delayed conversions with a
reward wait (delayed). Outcomes are drawn with numpy's default_rng from each scenario's
seed; the server's own sampling (Thompson draws) is not seeded.

Writes scenarios.json and scenarios.md to --out (default loadtest/results).

    .venv/bin/python -m loadtest.scenarios [--only bad_canary,sticky] [--quick] [--out DIR]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any

import grpc
import numpy as np

from ._scenario_guardrails import CanarySettings, HealthySettings, bad_canary, healthy_canary
from ._scenario_routing import ShadowSettings, StickySettings, shadow, sticky
from ._scenario_server import ScenarioServer, ServerError
from ._scenario_timing import DelayedSettings, DriftSettings, delayed, drift
from ._scenario_traffic import Connection

RESULTS_DIR = Path(__file__).resolve().parent / "results"

Scenario = Callable[[Connection, Any], dict[str, Any]]
SettingsType = (
    type[CanarySettings]
    | type[HealthySettings]
    | type[DriftSettings]
    | type[StickySettings]
    | type[ShadowSettings]
    | type[DelayedSettings]
)
# Run order: the timing-sensitive canary first, the long delayed scenario last.
SCENARIOS: dict[str, tuple[SettingsType, Scenario]] = {
    "bad_canary": (CanarySettings, bad_canary),
    "healthy_canary": (HealthySettings, healthy_canary),
    "drift": (DriftSettings, drift),
    "sticky": (StickySettings, sticky),
    "shadow": (ShadowSettings, shadow),
    "delayed": (DelayedSettings, delayed),
}


def settings_for(name: str, quick: bool, seed: int | None) -> Any:
    cls = SCENARIOS[name][0]
    settings = cls.quick() if quick else cls()
    return settings if seed is None else replace(settings, seed=seed)


def machine() -> dict[str, Any]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    redis_bin = shutil.which("redis-server")
    redis_version = ""
    if redis_bin:
        redis_version = subprocess.run(
            [redis_bin, "--version"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": model,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "numpy": np.__version__,
        "redis_server": redis_version,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def headline(name: str, result: dict[str, Any]) -> str:
    if "error" in result:
        return f"FAILED: {result['error']}"
    keys = {
        "bad_canary": ("exposed_decisions", "seconds_to_rollback", "seconds_to_stop_serving"),
        "healthy_canary": ("runs", "rollbacks"),
        "drift": ("rewards_to_follow", "rewards_to_follow_80", "regret_vs_stationary_ts"),
        "sticky": ("switched_fraction", "minimum_fraction"),
        "shadow": ("shadow_mean_reward", "production_mean_reward"),
        "delayed": ("max_share_bias", "max_share_bias_without_wait"),
    }[name]
    return ", ".join(f"{key}={result.get(key)}" for key in keys)


def run(selected: list[str], quick: bool, seed: int | None) -> dict[str, Any]:
    began = time.monotonic()
    results: dict[str, Any] = {}
    with ScenarioServer() as server:
        print(
            f"scenarios: banditd serve (pid {server.pid}) on {server.target}, ready in "
            f"{server.ready_s:.1f} s",
            flush=True,
        )
        conn = Connection(server.target, server.token, server.settings)
        try:
            for name in selected:
                settings = settings_for(name, quick, seed)
                print(f"scenarios: {name} ...", flush=True)
                started = time.monotonic()
                try:
                    result = SCENARIOS[name][1](conn, settings)
                except (KeyboardInterrupt, ServerError):
                    raise
                except Exception as exc:
                    traceback.print_exc()
                    result = {"error": f"{type(exc).__name__}: {exc}"}
                result["seconds"] = round(time.monotonic() - started, 1)
                results[name] = result
                print(
                    f"scenarios: {name} done in {result['seconds']} s: {headline(name, result)}",
                    flush=True,
                )
        finally:
            conn.close()
        server_info = {
            "mode": "child process: python -m bandit_service serve, embedded redis-server "
            "(no BANDITD_REDIS_URL, data in a temporary directory), 127.0.0.1 free port",
            "ready_seconds": round(server.ready_s, 2),
            "autopilot_interval_ms": server.settings.get("autopilot_interval_ms"),
            "refresh_interval_ms": server.settings.get("refresh_interval_ms"),
            "flush_interval_ms": server.settings.get("flush_interval_ms"),
            "effective_settings": {
                k: v
                for k, v in server.settings.items()
                if k not in ("listen", "data_dir", "redis_url")
            },
        }
    return {
        "generated_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "wall_seconds": round(time.monotonic() - began, 1),
        "quick": quick,
        "scenarios_run": selected,
        "seeding": "Outcomes (and delays, unit ids) from numpy default_rng(seed) per scenario; "
        "the server's own sampling (Thompson draws, share estimates) is not seeded",
        "machine": machine(),
        "server": server_info,
        **results,
    }


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _split(values: Any) -> str:
    """A share or rate vector for people: 10/30/30/30 or 0.06/0.04."""
    return "/".join(f"{float(v):.4g}" for v in values)


def markdown(summary: dict[str, Any]) -> str:
    server, host = summary["server"], summary["machine"]
    rows: list[tuple[str, str, Any]] = []
    notes: list[str] = []
    got = {name: summary[name] for name in SCENARIOS if name in summary}
    for name, result in got.items():
        if "error" in result:
            rows.append((name, "FAILED", result["error"]))
            continue
        settings = result["settings"]
        if name == "bad_canary":
            rollback = result["rollback"] or {}
            rows += [
                (name, "exposed decisions after the jump (median)", result["exposed_decisions"]),
                (name, "s from jump to ROLLED_BACK (median)", result["seconds_to_rollback"]),
                (name, "s from jump to canary share 0 (median)", result["seconds_to_stop_serving"]),
                (name, "rollback probability (first run)", rollback.get("probability")),
            ]
            long_history = result.get("long_history")
            if long_history:
                rows += [
                    (
                        name,
                        f"after {long_history['healthy_s']:g} s of healthy traffic: exposed",
                        long_history["exposed_decisions"],
                    ),
                    (
                        name,
                        f"after {long_history['healthy_s']:g} s of healthy traffic: s to rollback",
                        long_history["seconds_to_rollback"],
                    ),
                ]
            notes.append(
                f"**bad_canary**: fixed split {1 - settings['canary_share']:.0%}/"
                f"{settings['canary_share']:.0%}, {settings['rate']:g} decisions/s via "
                f"DecideBatch, every decision's error flag reported on the reward stream; the "
                f"canary's error rate jumps from {settings['canary_error_before']:.0%} to "
                f"{settings['canary_error_after']:.0%} after {settings['healthy_s']:g} s "
                f"(control {settings['control_error']:.0%}); guardrail +"
                f"{settings['max_increase']:g}, min_samples {settings['min_samples']}, level "
                f"{settings['level']:g}. Exposure = canary decisions the client was served after "
                f"the jump; time to rollback from polling GetExperiment every "
                f"{settings['poll_s'] * 1000:.0f} ms; share 0 = first batch whose propensities "
                f"give the canary nothing. {result['aggregate'][0].upper()}"
                f"{result['aggregate'][1:]}; one more run with {settings['long_history_s']:g} s "
                f"of healthy traffic first."
            )
        elif name == "healthy_canary":
            rows += [
                (name, "runs", result["runs"]),
                (name, "runs rolled back (false alarms)", result["rollbacks"]),
                (
                    name,
                    "approx. guardrail judgments, all runs",
                    result["approx_guardrail_judgments"],
                ),
            ]
            notes.append(
                f"**healthy_canary**: {result['runs']} experiments at once, both arms at "
                f"{settings['error_rate_both_arms']:.0%} errors, same guardrail and split as "
                f"bad_canary, {result['decisions_per_run']} decisions each; a rollback is a false "
                f"alarm. Budget 1 - level = {result['budget_per_run']:g} per run, i.e. "
                f"{result['expected_false_rollbacks_at_budget']:g} expected in "
                f"{result['runs']} runs."
            )
        elif name == "drift":
            end = result["windowed_end_share"]
            rows += [
                (
                    name,
                    "rewards after the change until new best > 50%",
                    result["rewards_to_follow"],
                ),
                (name, "... until > 80%", result["rewards_to_follow_80"]),
                (name, "regret windowed / stationary TS", result["regret_vs_stationary_ts"]),
            ]
            notes.append(
                f"**drift**: Thompson sampling, true rates {_split(settings['rates_before'])} then "
                f"{_split(settings['rates_after'])} after {settings['phase_s']:g} s, "
                f"{settings['rate']:g} decisions/s per run; the same per-arm outcome streams "
                f"with a {settings['window_s']:g} s sliding window and without one (both at "
                f"once). Share = new best arm among the last {settings['share_window']} "
                f"decisions; regret = pseudo-regret (best true rate - served arm's) over the "
                f"whole run. At the end the windowed run served the new best arm at "
                f"{_fmt(end['served_propensity'])} while GetStatus gave it "
                f"{_fmt(end['status_traffic_share'])} "
                "(status reports what the policy decides from)."
            )
        elif name == "sticky":
            rows += [
                (name, "units that switched arm", result["switched_fraction"]),
                (name, "least possible (total variation)", result["minimum_fraction"]),
            ]
            notes.append(
                f"**sticky**: {result['units']} unit ids through DecideBatch(unit_ids), fixed "
                f"weights {_split(settings['weights_before'])} then "
                f"{_split(settings['weights_after'])}; realised shares "
                f"{_split(result['shares_before'].values())} -> "
                f"{_split(result['shares_after'].values())}; the same units asked "
                f"twice before the change switched {result['repeat_switched_fraction']}."
            )
        elif name == "shadow":
            rows += [
                (name, "shadow mean reward (status)", result["shadow_mean_reward"]),
                (name, "production mean reward (status)", result["production_mean_reward"]),
            ]
            notes.append(
                f"**shadow**: Thompson over "
                f"{', '.join(f'{a} {r:g}' for a, r in result['production_true_rates'].items())} "
                f"plus a shadow arm "
                f"at {result['shadow_true_rate']}; every decision's shadow outcome reported on "
                f"its shadow decision id; figures from GetStatus (production = successes / pulls "
                f"over live arms; {result['production_expected_rate']} expected from the traffic "
                f"served), {result['decisions']} decisions."
            )
        elif name == "delayed":
            waited = result["status_at_end"]["wait"]
            rows += [
                (name, "largest share bias, reward wait vs oracle", result["max_share_bias"]),
                (
                    name,
                    "largest share bias, no wait vs oracle",
                    result["max_share_bias_without_wait"],
                ),
                (
                    name,
                    "largest share bias, reward wait vs oracle one wait earlier",
                    result["max_share_bias_lag_adjusted"],
                ),
                (name, "largest standard error of a window", result["max_standard_error"]["wait"]),
            ]
            notes.append(
                f"**delayed**: two arms both converting at {settings['conversion_rate']:.0%}, old "
                f"arm with {settings['old_history']} matured decisions of history, new arm with "
                f"{settings['new_history']}; Thompson sampling, {settings['decisions_per_s']:g} "
                f"decisions/s, {settings['seconds']:g} s, conversions arriving 0-"
                f"{settings['max_delay_s']:g} s late. Three variants on the same per-arm outcome "
                f"streams x {settings['seeds']} seeds at once: oracle (instant rewards), "
                f"reward_wait_s={settings['reward_wait_s']:g}, no wait. Bias = new arm's traffic "
                f"share (propensity) averaged over {settings['average_s']:g} s windows and seeds, "
                f"minus the oracle's; the largest absolute value over windows. The wait run "
                f"decides from decisions older than the wait, so it is also compared with the "
                f"oracle one wait earlier. At the end GetStatus gave the wait run's new arm "
                f"traffic share {_fmt(waited['status_traffic_share_new'])} and P(best) "
                f"{_fmt(waited['status_prob_best_new'])} while it was served at "
                f"{_fmt(waited['served_propensity_new'])} "
                "(status reports what the policy decides from)."
            )
    lines = [
        "## banditd rollout scenarios",
        "",
        f"{summary['generated_at']}, {summary['wall_seconds']} s wall time"
        f"{' (--quick)' if summary['quick'] else ''}. Server: {server['mode']}; "
        f"autopilot_interval_ms {server['autopilot_interval_ms']}, refresh_interval_ms "
        f"{server['refresh_interval_ms']}. Machine: {host['cpu_count']} CPUs "
        f"({host['cpu_model'] or 'unknown'}), {host['platform']}, load average at start "
        f"{host['load_average_at_start']}. {summary['seeding']}.",
        "",
        "| scenario | figure | value |",
        "|---|---|---:|",
        *(f"| {name} | {figure} | {_fmt(value)} |" for name, figure, value in rows),
        "",
        *(f"- {note}" for note in notes),
        "",
    ]
    return "\n".join(lines)


def raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # so the finally blocks stop the server on SIGTERM too


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.scenarios",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--only",
        default="",
        help=f"comma-separated subset of: {', '.join(SCENARIOS)} (default: all)",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="where the results go")
    parser.add_argument(
        "--seed", type=int, help="one seed for every scenario (default: each its own)"
    )
    args = parser.parse_args(argv)
    selected = [name.strip() for name in args.only.split(",") if name.strip()] or list(SCENARIOS)
    unknown = [name for name in selected if name not in SCENARIOS]
    if unknown:
        parser.error(
            f"unknown scenario(s) {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}"
        )
    selected = [name for name in SCENARIOS if name in selected]
    signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        summary = run(selected, args.quick, args.seed)
    except KeyboardInterrupt:
        print("scenarios: interrupted; the server it started is stopped", file=sys.stderr)
        return 130
    except ServerError as exc:
        print(f"scenarios: {exc}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scenarios.json").write_text(json.dumps(summary, indent=2) + "\n")
    report = markdown(summary)
    (args.out / "scenarios.md").write_text(report)
    print()
    print(report)
    print(f"scenarios: wrote {args.out / 'scenarios.json'} and scenarios.md")
    failed = [name for name in selected if "error" in summary.get(name, {})]
    if failed:
        print(f"scenarios: FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
