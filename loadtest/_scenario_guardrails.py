"""Guardrail scenarios: a canary whose error rate jumps is rolled back (how fast, how many
requests it served meanwhile), and healthy canaries are left alone (false alarms)."""

from __future__ import annotations

import statistics
import threading
import time
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
from banditd.v1 import admin_pb2
from banditd_client import error_rate_guardrail, policy_config  # type: ignore[import-untyped]

from ._scenario_traffic import (
    OUTCOME_EVENT,
    Connection,
    Pacer,
    arm_share,
    rounded,
    sleep_until,
)

ARMS = ("control", "canary")


@dataclass(frozen=True)
class CanarySettings:
    seed: int = 1
    # Decisions per second through DecideBatch, one call every tick_s.
    rate: float = 3000.0
    tick_s: float = 0.02
    # Fixed weights: the canary's share of traffic.
    canary_share: float = 0.10
    control_error: float = 0.01
    canary_error_before: float = 0.01
    canary_error_after: float = 0.30
    # Healthy traffic before the jump, and traffic after it (longer if no rollback yet).
    healthy_s: float = 6.0
    after_jump_s: float = 4.0
    max_after_jump_s: float = 20.0
    # GetExperiment poll interval while waiting for ROLLED_BACK.
    poll_s: float = 0.02
    max_increase: float = 0.01
    min_samples: int = 200
    level: float = 0.95
    # Independent runs (seeds seed, seed+1, ...); the headline figures are their medians.
    repeats: int = 3
    # One more run with this much healthy traffic before the jump (0: none), to show how
    # the canary's healthy history slows the verdict (30 s is inside the guardrail's
    # default 15-minute window, so all of it is weighed).
    long_history_s: float = 30.0

    @classmethod
    def quick(cls) -> CanarySettings:
        return cls(
            rate=2000.0,
            healthy_s=2.0,
            after_jump_s=2.0,
            max_after_jump_s=8.0,
            repeats=1,
            long_history_s=0.0,
        )

    @property
    def planned_decisions(self) -> int:
        return int(self.rate * (self.healthy_s + self.after_jump_s))


def create_canary(conn: Connection, name: str, settings: CanarySettings) -> None:
    weights = {"control": 1.0 - settings.canary_share, "canary": settings.canary_share}
    conn.admin.create_experiment(
        name,
        [(arm, f"model-{arm}") for arm in ARMS],
        policy=policy_config("fixed", weights=weights),
        description="rollout scenario",
        guardrails=[
            error_rate_guardrail(
                "error-rate",
                settings.max_increase,
                control_arm="control",
                min_samples=settings.min_samples,
                level=settings.level,
            )
        ],
    )


def canary_state(conn: Connection, name: str) -> Any:
    experiment = conn.admin.get_experiment(name)
    return next(arm for arm in experiment.arms if arm.name == "canary")


class RollbackWatch:
    """Polls GetExperiment on its own thread; notes when the canary shows ROLLED_BACK."""

    def __init__(self, conn: Connection, name: str, poll_s: float) -> None:
        self._conn, self._name, self._poll_s = conn, name, poll_s
        self._stop = threading.Event()
        self.seen_at: float | None = None
        self.record: Any = None
        self.polls = 0
        self.failures = 0
        self._thread = threading.Thread(target=self._run, name="rollback-watch", daemon=True)

    def start(self) -> RollbackWatch:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set() and self.seen_at is None:
            try:
                arm = canary_state(self._conn, self._name)
            except Exception:
                self.failures += 1
            else:
                self.polls += 1
                if arm.state == admin_pb2.ARM_STATE_ROLLED_BACK:
                    self.seen_at = time.monotonic()
                    self.record = arm.rollback
                    return
            self._stop.wait(self._poll_s)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)


def run_bad_canary_once(conn: Connection, settings: CanarySettings) -> dict[str, Any]:
    name = f"bad-canary-{settings.seed}"
    create_canary(conn, name, settings)
    rng = np.random.default_rng(settings.seed)
    watch = RollbackWatch(conn, name, settings.poll_s).start()
    started, started_wall = time.monotonic(), time.time()
    jump_at = started + settings.healthy_s
    end_at = jump_at + settings.after_jump_s
    hard_end = jump_at + settings.max_after_jump_s
    pacer = Pacer(settings.rate, started)
    canary_before = errors_before = exposed = exposed_errors = after_stop = 0
    stopped_at: float | None = None
    last_canary_at: float | None = None
    rolled_back_before_jump = False
    next_tick = started
    try:
        with conn.reporter() as reporter:
            while True:
                now = time.monotonic()
                done_after_stop = stopped_at is not None and now >= stopped_at + 1.0
                if now >= hard_end or (now >= end_at and done_after_stop):
                    break
                count = pacer.due(now)
                if count:
                    decisions = conn.client.decide_batch(name, count)
                    received = time.monotonic()
                    pacer.count(count)
                    canary = np.array([d.arm == "canary" for d in decisions])
                    jumped = now >= jump_at
                    canary_rate = (
                        settings.canary_error_after if jumped else settings.canary_error_before
                    )
                    errors = rng.random(count) < np.where(
                        canary, canary_rate, settings.control_error
                    )
                    for decision, error in zip(decisions, errors.tolist(), strict=True):
                        reporter.report(decision.decision_id, None, OUTCOME_EVENT, error=error)
                    served = int(canary.sum())
                    if not jumped:
                        canary_before += served
                        errors_before += int((errors & canary).sum())
                        rolled_back_before_jump |= watch.seen_at is not None
                    elif stopped_at is None:
                        exposed += served
                        exposed_errors += int((errors & canary).sum())
                        if served:
                            last_canary_at = received
                        if arm_share(decisions, "canary", ARMS) == 0.0:
                            stopped_at = received
                    else:
                        after_stop += served
                next_tick += settings.tick_s
                sleep_until(next_tick)
            flushed = reporter.flush(timeout_s=30.0)
            accepted, rejected = reporter.accepted, reporter.rejected
    finally:
        watch.stop()
    history = [e for e in conn.admin.history(name) if e.action == "rollback"]
    status = {arm.name: arm for arm in conn.admin.status(name).arms}
    record = watch.record
    jump_wall = started_wall + settings.healthy_s

    def since_jump(at: float | None) -> float | None:
        return rounded(None if at is None else at - jump_at, 3)

    return {
        "seed": settings.seed,
        "experiment": name,
        "rolled_back": watch.seen_at is not None,
        "rolled_back_before_jump": rolled_back_before_jump,
        "exposed_decisions": exposed,
        "exposed_errors": exposed_errors,
        "seconds_to_rollback": since_jump(watch.seen_at),
        "seconds_to_stop_serving": since_jump(stopped_at),
        "seconds_to_last_canary_decision": since_jump(last_canary_at),
        "canary_decisions_after_stop": after_stop,
        "canary_decisions_before_jump": canary_before,
        "canary_errors_before_jump": errors_before,
        "decisions": pacer.done,
        "rollback": None
        if record is None
        else {
            "guardrail": record.guardrail,
            "probability": record.probability,
            "samples": record.samples,
            "control_samples": record.control_samples,
            "reason": record.reason,
            "seconds_after_jump_server_clock": round(record.at_unix_ms / 1000 - jump_wall, 3),
        },
        "history": [{"actor": e.actor, "arm": e.arm, "detail": e.detail} for e in history],
        "status": {
            arm: {
                "state": admin_pb2.ArmState.Name(s.state),
                "pulls": s.pulls,
                "observations": s.observations,
                "errors": s.errors,
                "traffic_share": rounded(s.traffic_share),
            }
            for arm, s in status.items()
        },
        "watch_polls": watch.polls,
        "watch_poll_failures": watch.failures,
        "outcomes_all_acknowledged": flushed,
        "outcomes_accepted": accepted,
        "outcomes_rejected": rejected,
    }


def bad_canary(conn: Connection, settings: CanarySettings) -> dict[str, Any]:
    """A canary at 1% errors jumps to 30%; the guardrail must take it out of traffic."""
    runs = [
        run_bad_canary_once(conn, replace(settings, seed=settings.seed + i))
        for i in range(settings.repeats)
    ]

    def median(key: str) -> float | None:
        values = [r[key] for r in runs if r[key] is not None]
        return statistics.median(values) if values and len(values) == len(runs) else None

    long_history = None
    if settings.long_history_s > 0:
        run = run_bad_canary_once(
            conn,
            replace(settings, seed=settings.seed + 100, healthy_s=settings.long_history_s),
        )
        long_history = {
            key: run[key]
            for key in (
                "seed",
                "canary_decisions_before_jump",
                "exposed_decisions",
                "exposed_errors",
                "seconds_to_rollback",
                "seconds_to_stop_serving",
                "rollback",
            )
        }
        long_history["healthy_s"] = settings.long_history_s
    return {
        "exposed_decisions": median("exposed_decisions"),
        "exposed_errors": median("exposed_errors"),
        "seconds_to_rollback": median("seconds_to_rollback"),
        "seconds_to_stop_serving": median("seconds_to_stop_serving"),
        "all_rolled_back": all(r["rolled_back"] for r in runs),
        "canary_decisions_after_stop": sum(r["canary_decisions_after_stop"] for r in runs),
        "rollback": runs[0]["rollback"],
        "aggregate": f"median of {len(runs)} runs (seeds {settings.seed}-"
        f"{settings.seed + len(runs) - 1})",
        "runs_detail": runs,
        "long_history": long_history,
        "settings": asdict(settings),
    }


@dataclass(frozen=True)
class HealthySettings:
    seed: int = 100
    runs: int = 20
    # Same guardrail, shares and volume per run as the bad canary.
    canary: CanarySettings = CanarySettings()
    # All runs at once on the one server, this many decisions per second in total.
    total_rate: float = 12_000.0
    tick_s: float = 0.05
    # Time for the autopilot to judge the last outcomes after the traffic ends.
    settle_s: float = 1.0

    @classmethod
    def quick(cls) -> HealthySettings:
        return cls(runs=4, canary=CanarySettings.quick(), total_rate=4000.0)


def healthy_canary(conn: Connection, settings: HealthySettings) -> dict[str, Any]:
    """Canaries exactly as good as the control: every rollback is a false alarm."""
    canary = replace(settings.canary, canary_error_after=settings.canary.canary_error_before)
    names = [f"healthy-canary-{settings.seed}-{i}" for i in range(settings.runs)]
    for name in names:
        create_canary(conn, name, canary)
    volume = canary.planned_decisions
    per_run_rate = settings.total_rate / settings.runs
    rngs = [np.random.default_rng([settings.seed, i]) for i in range(settings.runs)]
    started = time.monotonic()
    pacers = [Pacer(per_run_rate, started) for _ in names]
    canary_outcomes = [0] * settings.runs
    judged_from: list[float | None] = [None] * settings.runs
    planned_s = volume / per_run_rate
    hard_end = started + 3 * planned_s
    next_tick = started
    with conn.reporter() as reporter:
        while time.monotonic() < hard_end and any(p.done < volume for p in pacers):
            for i, (name, pacer) in enumerate(zip(names, pacers, strict=True)):
                count = min(pacer.due(time.monotonic()), volume - pacer.done)
                if count <= 0:
                    continue
                decisions = conn.client.decide_batch(name, count)
                pacer.count(count)
                is_canary = np.array([d.arm == "canary" for d in decisions])
                errors = rngs[i].random(count) < np.where(
                    is_canary, canary.canary_error_before, canary.control_error
                )
                for decision, error in zip(decisions, errors.tolist(), strict=True):
                    reporter.report(decision.decision_id, None, OUTCOME_EVENT, error=error)
                canary_outcomes[i] += int(is_canary.sum())
                if judged_from[i] is None and canary_outcomes[i] >= canary.min_samples:
                    judged_from[i] = time.monotonic()
            next_tick += settings.tick_s
            sleep_until(next_tick)
        traffic_s = time.monotonic() - started
        flushed = reporter.flush(timeout_s=60.0)
        ended = time.monotonic()
        accepted, rejected = reporter.accepted, reporter.rejected
    time.sleep(settings.settle_s)
    per_run = []
    for i, name in enumerate(names):
        arm = canary_state(conn, name)
        rollbacks = [e for e in conn.admin.history(name) if e.action == "rollback"]
        status = {a.name: a for a in conn.admin.status(name).arms}
        checks = list(status["canary"].guardrails)
        start = judged_from[i]
        per_run.append(
            {
                "experiment": name,
                "rolled_back": arm.state == admin_pb2.ARM_STATE_ROLLED_BACK or bool(rollbacks),
                "decisions": pacers[i].done,
                "canary_observations": status["canary"].observations,
                "canary_errors": status["canary"].errors,
                "control_observations": status["control"].observations,
                "control_errors": status["control"].errors,
                "final_breach_probability": rounded(checks[0].breach_probability)
                if checks
                else None,
                "seconds_judged": rounded(None if start is None else ended - start, 2),
            }
        )
    rollbacks = sum(r["rolled_back"] for r in per_run)
    interval_s = int(conn.settings.get("autopilot_interval_ms", 250)) / 1000
    judged_s = sum(r["seconds_judged"] or 0.0 for r in per_run)
    level = canary.level
    return {
        "runs": settings.runs,
        "rollbacks": rollbacks,
        "false_rollback_rate": round(rollbacks / settings.runs, 4),
        "budget_per_run": round(1 - level, 4),
        "expected_false_rollbacks_at_budget": round(settings.runs * (1 - level), 2),
        "within_budget": rollbacks <= max(1, round(settings.runs * (1 - level))),
        "approx_guardrail_judgments": int(judged_s / interval_s),
        "max_final_breach_probability": max(
            (r["final_breach_probability"] or 0.0 for r in per_run), default=0.0
        ),
        "decisions_per_run": volume,
        "traffic_seconds": round(traffic_s, 2),
        "outcomes_all_acknowledged": flushed,
        "outcomes_accepted": accepted,
        "outcomes_rejected": rejected,
        "runs_detail": per_run,
        "settings": {
            **{k: v for k, v in asdict(settings).items() if k != "canary"},
            "guardrail": {
                "max_increase": canary.max_increase,
                "min_samples": canary.min_samples,
                "level": canary.level,
            },
            "canary_share": canary.canary_share,
            "error_rate_both_arms": canary.control_error,
            "decisions_per_run": volume,
            "per_run_rate": per_run_rate,
        },
    }
