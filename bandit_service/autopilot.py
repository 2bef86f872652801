"""Automatic actions: guardrail rollbacks and ramp steps, judged from the evidence in Redis.

Every replica runs the autopilot on its own thread. Actions are ordinary config changes
(compare-and-set on the epoch, with a history entry by "banditd"), and each is written so
that applying it twice changes nothing: when two replicas reach the same verdict, the
second finds the work done. A rolled-back arm leaves traffic on every replica at their
next refresh.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import domain
from .domain import Experiment, Rollback
from .engine import Engine
from .errors import BanditError, StoreUnavailableError
from .guardrails import Check, Evidence, ObservationHistory, judge
from .history import AUTOMATIC_ACTOR
from .stats import ArmStats, counted_stats, posteriors, promotion_readiness
from .store import StateStore

logger = logging.getLogger(__name__)

# A ramp step waits while any guardrail leans toward a breach, not only once it is breached.
RAMP_HOLD_PROBABILITY = 0.5


@dataclass(frozen=True, slots=True)
class Action:
    action: str
    arm: str
    detail: str
    apply: Callable[[Experiment], Experiment]


def _rollback_action(experiment: Experiment, check: Check, at_ms: int) -> Action:
    record = Rollback(
        guardrail=check.guardrail,
        reason=check.reason,
        probability=round(check.probability, 4),
        at_unix_ms=at_ms,
        samples=check.samples,
        control_samples=check.control_samples,
    )
    detail = (
        f"guardrail '{check.guardrail}' breached with probability {check.probability:.3f}: "
        f"{check.reason}"
    )
    return Action(
        "rollback", check.arm, detail, lambda e: domain.roll_back_arm(e, check.arm, record)
    )


def _ramp_action(experiment: Experiment, index: int, pulls: int, now_ms: int) -> Action:
    arm = experiment.arms[index]
    ramp = arm.limits.ramp
    assert ramp is not None
    step = ramp.step
    following = (
        f"{ramp.steps[step + 1]:.0%}" if step + 1 < len(ramp.steps) else "the policy (ramp done)"
    )
    detail = (
        f"ramp step {step + 1} of {len(ramp.steps)} held ({ramp.steps[step]:.0%}, "
        f"{pulls - ramp.step_start_pulls} decisions, "
        f"{(now_ms - ramp.step_started_unix_ms) / 1000:.0f} s); now {following}"
    )
    return Action(
        "ramp_step",
        arm.name,
        detail,
        lambda e: domain.advance_ramp(e, arm.name, step, now_ms, pulls),
    )


def plan(
    experiment: Experiment,
    stats: ArmStats,
    evidence: Evidence,
    now_ms: int,
    draws: int,
    decision_stats: ArmStats | None = None,
) -> list[Action]:
    """The automatic actions the evidence calls for, most urgent first.

    stats are all-history (ramp steps count decisions); promotion is judged on
    decision_stats, what the policy decides from (matured decisions in the window).
    """
    if experiment.paused:
        return []
    checks = judge(evidence, draws) if experiment.guardrails else {}
    levels = {g.name: g.level for g in experiment.guardrails}
    actions: list[Action] = []
    for arm_name, arm_checks in checks.items():
        breached = [c for c in arm_checks if c.breached(levels[c.guardrail])]
        if breached and arm_name != experiment.default_arm:
            worst = max(breached, key=lambda c: c.probability)
            actions.append(_rollback_action(experiment, worst, now_ms))
    rolling_back = {a.arm for a in actions}
    if experiment.promotion.auto_promote and not actions:
        current = stats if decision_stats is None else decision_stats
        readiness = promotion_readiness(
            experiment, posteriors(experiment, counted_stats(experiment, current), draws)
        )
        if readiness.ready_arm:
            ready = readiness.ready_arm
            actions.append(
                Action(
                    "promote_arm",
                    ready,
                    f"auto-promotion: {readiness.explanation}",
                    lambda e: domain.promote_arm(e, ready),
                )
            )
            return actions
    for index, arm in enumerate(experiment.arms):
        ramp = arm.limits.ramp
        if ramp is None or ramp.done or not arm.is_live or arm.name in rolling_back:
            continue
        pulls = int(stats.pulls[index])
        held = all(
            c.judged and c.probability < RAMP_HOLD_PROBABILITY for c in checks.get(arm.name, ())
        )
        if (
            held
            and pulls - ramp.step_start_pulls >= ramp.min_decisions
            and now_ms - ramp.step_started_unix_ms >= ramp.min_seconds * 1000
        ):
            actions.append(_ramp_action(experiment, index, pulls, now_ms))
    return actions


class Autopilot:
    """Runs plan() for every experiment that has guardrails or ramps, every interval."""

    def __init__(
        self,
        engine: Engine,
        store: StateStore,
        change: Callable[..., Experiment],
        interval_s: float,
        draws: int,
        history: ObservationHistory | None = None,
    ) -> None:
        self._history = history if history is not None else ObservationHistory()
        self._engine = engine
        self._store = store
        self._change = change
        self._interval_s = interval_s
        self._draws = draws
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_error_log = 0.0
        self.runs = 0
        self.actions_taken = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="banditd-autopilot", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.run_once()
            except StoreUnavailableError as exc:
                if time.monotonic() - self._last_error_log > 5.0:
                    self._last_error_log = time.monotonic()
                    logger.warning("autopilot cannot reach redis: %s", exc)
            except Exception:
                logger.exception("autopilot run failed; retrying next interval")

    def run_once(self) -> int:
        """Judges every experiment once; returns the number of actions applied."""
        snapshots = self._engine.autopilot_snapshots()
        if not snapshots:
            self.runs += 1
            return 0
        # Statistics come from the snapshots (at most one refresh old); only the guardrail
        # observations, which replicas do not keep, are read here.
        raw_observations = self._store.read_observations([s.experiment.name for s in snapshots])
        applied = 0
        now_ms = time.time_ns() // 1_000_000
        for snapshot, raw_obs in zip(snapshots, raw_observations, strict=True):
            experiment = snapshot.experiment
            stats = snapshot.totals
            scoped = sorted(
                {g.segment for g in experiment.guardrails if g.segment} & snapshot.segments
            )
            raw_segments = {}
            if scoped:
                raw_segments = self._store.read_segment_observations(experiment.name, scoped)
            now_s = now_ms / 1000
            self._history.record(experiment, "", now_s, raw_obs)
            for value, raw in raw_segments.items():
                self._history.record(experiment, value, now_s, raw)
            evidence = Evidence(experiment, raw_obs, raw_segments, self._history, now_s)
            actions = plan(
                experiment, stats, evidence, now_ms, self._draws, snapshot.decision_stats
            )
            for action in actions:
                try:
                    before = experiment.epoch
                    changed = self._change(
                        experiment.name,
                        action.action,
                        action.apply,
                        arm=action.arm,
                        detail=action.detail,
                        actor=AUTOMATIC_ACTOR,
                    )
                except BanditError as exc:
                    logger.warning(
                        "experiment '%s': %s of arm '%s' not applied: %s",
                        experiment.name,
                        action.action,
                        action.arm,
                        exc,
                    )
                    continue
                if changed.epoch != before:
                    applied += 1
                    experiment = changed
        self.runs += 1
        self.actions_taken += applied
        return applied
