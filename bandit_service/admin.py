"""Admin use cases: create and change experiments, report their status, import history.

Changes are compare-and-set on the experiment's epoch, retried a few times, and installed
on this replica at once; other replicas see the new epoch within one refresh interval.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from . import domain
from .config import Settings
from .domain import Experiment
from .engine import Engine, now_ms
from .errors import (
    ConflictError,
    ExperimentNotFoundError,
    InvalidArgumentError,
    SegmentNotFoundError,
)
from .guardrails import Evidence, ObservationHistory, parse_observations
from .history import MAX_ENTRIES as MAX_HISTORY_ENTRIES
from .history import HistoryEntry
from .stats import ArmStats, ArmStatus, Readiness, arm_statuses
from .store import RawStats, StateStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Status:
    experiment: Experiment
    arms: list[ArmStatus]
    readiness: Readiness
    # The segment described ("" = all decisions) and the segments with statistics.
    segment: str
    segments: list[str]


_CAS_ATTEMPTS = 5
MAX_IMPORT_ID_BYTES = 128
DEFAULT_HISTORY_LIMIT = 100


def describe_limits(limits: domain.ArmLimits) -> str:
    """Limits in one line for the history, e.g. "cap 5% until 1000 rewards, ramp 5%>25%"."""
    parts = []
    if limits.cap is not None:
        until = f" until {limits.cap_until_rewards} rewards" if limits.cap_until_rewards else ""
        parts.append(f"cap {limits.cap:.0%}{until}")
    if limits.floor is not None:
        parts.append(f"floor {limits.floor:.0%}")
    if limits.ramp is not None and limits.ramp.steps:
        parts.append("ramp " + ">".join(f"{s:.0%}" for s in limits.ramp.steps))
    return ", ".join(parts) or "none"


class AdminService:
    def __init__(
        self,
        store: StateStore,
        engine: Engine,
        settings: Settings,
        history: ObservationHistory | None = None,
    ) -> None:
        self._store = store
        self._engine = engine
        self._settings = settings
        # Shared with the autopilot: guardrails in status are judged on the same windows.
        self._history = history

    def _load(self, name: str) -> Experiment:
        domain.validate_name(name, "experiment")
        experiment = self._store.get_experiment(name)
        if experiment is None:
            raise ExperimentNotFoundError(name)
        return experiment

    def create_experiment(self, experiment: Experiment, actor: str = "admin") -> Experiment:
        at = now_ms()
        entry = HistoryEntry(
            at,
            actor,
            "create_experiment",
            detail=f"{experiment.policy.name.value}, arms: {', '.join(experiment.arm_names)}",
        )
        created = self._store.create_experiment(domain.stamp_created(experiment, at), entry)
        self._engine.apply(created)
        logger.info(
            "created experiment '%s' (%s, arms: %s)",
            created.name,
            created.policy.name.value,
            ", ".join(created.arm_names),
        )
        return created

    def get_experiment(self, name: str) -> Experiment:
        return self._load(name)

    def list_experiments(self) -> list[Experiment]:
        found = (self._store.get_experiment(n) for n in self._store.list_experiment_names())
        return [e for e in found if e is not None]

    def change(
        self,
        name: str,
        action: str,
        apply: Callable[[Experiment], Experiment],
        *,
        arm: str = "",
        detail: str = "",
        actor: str = "admin",
    ) -> Experiment:
        """Applies a pure change with compare-and-set on the epoch, retrying on conflict.

        The change and its history entry are written together; a change that changes
        nothing writes neither.
        """
        for _ in range(_CAS_ATTEMPTS):
            current = self._load(name)
            changed = apply(current)
            if changed == current:
                return current
            entry = HistoryEntry(now_ms(), actor, action, arm, detail)
            try:
                saved = self._store.save_experiment(changed, entry)
            except ConflictError:
                continue
            self._engine.apply(saved)
            logger.info(
                "experiment '%s': %s%s by %s (epoch %d)%s",
                name,
                action,
                f" of arm '{arm}'" if arm else "",
                actor,
                saved.epoch,
                f": {detail}" if detail else "",
            )
            return saved
        raise ConflictError(f"experiment '{name}' kept changing while applying {action}; retry")

    def add_arm(
        self,
        name: str,
        arm: str,
        version: str,
        weight: float,
        *,
        shadow: bool = False,
        limits: domain.ArmLimits | None = None,
        actor: str = "admin",
    ) -> Experiment:
        def apply(e: Experiment) -> Experiment:
            return domain.add_arm(
                e, arm, version, weight, shadow=shadow, limits=limits, now_unix_ms=now_ms()
            )

        detail = f"version '{version}'" + (", shadow" if shadow else "")
        return self.change(name, "add_arm", apply, arm=arm, detail=detail, actor=actor)

    def retire_arm(self, name: str, arm: str, actor: str = "admin") -> Experiment:
        return self.change(
            name, "retire_arm", lambda e: domain.retire_arm(e, arm), arm=arm, actor=actor
        )

    def promote_arm(self, name: str, arm: str, actor: str = "admin") -> Experiment:
        return self.change(
            name, "promote_arm", lambda e: domain.promote_arm(e, arm), arm=arm, actor=actor
        )

    def set_default_arm(self, name: str, arm: str, actor: str = "admin") -> Experiment:
        return self.change(
            name, "set_default_arm", lambda e: domain.set_default_arm(e, arm), arm=arm, actor=actor
        )

    def set_policy(
        self, name: str, policy: domain.PolicyConfig, actor: str = "admin"
    ) -> Experiment:
        detail = policy.name.value
        if policy.params or policy.weights:
            values = {**policy.params, **policy.weights}
            detail += " (" + ", ".join(f"{k}={v:g}" for k, v in values.items()) + ")"
        return self.change(
            name,
            "set_policy",
            lambda e: domain.set_policy(e, policy),
            detail=detail,
            actor=actor,
        )

    def set_paused(self, name: str, paused: bool, actor: str = "admin") -> Experiment:
        action = "pause" if paused else "resume"
        return self.change(name, action, lambda e: domain.set_paused(e, paused), actor=actor)

    def set_arm_limits(
        self, name: str, arm: str, limits: domain.ArmLimits, actor: str = "admin"
    ) -> Experiment:
        def apply(e: Experiment) -> Experiment:
            pulls = ArmStats.from_raw(e, self._store.read_stats(name)).pulls[e.arm_index(arm)]
            return domain.set_arm_limits(e, arm, limits, now_ms(), int(pulls))

        return self.change(
            name, "set_arm_limits", apply, arm=arm, detail=describe_limits(limits), actor=actor
        )

    def switch_arm(self, name: str, arm: str, actor: str = "admin") -> Experiment:
        return self.change(
            name,
            "switch_arm",
            lambda e: domain.switch_arm(e, arm),
            arm=arm,
            detail=f"all traffic to '{arm}'",
            actor=actor,
        )

    def readmit_arm(self, name: str, arm: str, actor: str = "admin") -> Experiment:
        current = self._load(name).arms
        rollback = next((a.rollback for a in current if a.name == arm and a.rollback), None)
        detail = "" if rollback is None else f"was rolled back by '{rollback.guardrail}'"
        return self.change(
            name,
            "readmit_arm",
            lambda e: domain.readmit_arm(e, arm),
            arm=arm,
            detail=detail,
            actor=actor,
        )

    def set_guardrails(
        self, name: str, guardrails: list[domain.Guardrail], actor: str = "admin"
    ) -> Experiment:
        detail = ", ".join(g.name for g in guardrails) or "none"
        return self.change(
            name,
            "set_guardrails",
            lambda e: domain.set_guardrails(e, guardrails),
            detail=detail,
            actor=actor,
        )

    def set_promotion(
        self, name: str, rule: domain.PromotionRule, actor: str = "admin"
    ) -> Experiment:
        checked = domain.validate_promotion(rule)
        detail = (
            f"P(best) >= {checked.prob_best:g}, expected loss <= {checked.max_expected_loss:g}, "
            f"{checked.min_samples} samples" + (", auto-promote" if checked.auto_promote else "")
        )
        return self.change(
            name,
            "set_promotion_rule",
            lambda e: domain.set_promotion(e, rule),
            detail=detail,
            actor=actor,
        )

    def set_timing(
        self, name: str, timing: domain.RewardTiming, actor: str = "admin"
    ) -> Experiment:
        default = "" if timing.default_reward is None else f", default {timing.default_reward:g}"
        detail = f"wait {timing.reward_wait_s:g} s{default}, window {timing.window_s:g} s"
        return self.change(
            name,
            "set_reward_timing",
            lambda e: domain.set_timing(e, timing),
            detail=detail,
            actor=actor,
        )

    def set_segmentation(
        self, name: str, segmentation: domain.Segmentation, actor: str = "admin"
    ) -> Experiment:
        detail = f"by '{segmentation.attribute}'" if segmentation.attribute else "off"
        return self.change(
            name,
            "set_segmentation",
            lambda e: domain.set_segmentation(e, segmentation),
            detail=detail,
            actor=actor,
        )

    def history(self, name: str, limit: int) -> list[HistoryEntry]:
        self._load(name)
        if limit == 0:
            limit = DEFAULT_HISTORY_LIMIT
        if not 1 <= limit <= MAX_HISTORY_ENTRIES:
            raise InvalidArgumentError(
                f"limit must be between 1 and {MAX_HISTORY_ENTRIES}, got {limit}"
            )
        return self._store.read_history(name, limit)

    def status(self, name: str, segment: str = "") -> Status:
        """All-history statistics of every arm, of the whole experiment or one segment."""
        experiment = self._load(name)
        # Write this replica's own counts first, so the status includes them.
        self._engine.flush()
        segments: dict[str, RawStats] = {}
        if experiment.segmentation.enabled:
            (segments,) = self._store.read_segment_stats([name])
        if segment:
            if segment not in segments:
                raise SegmentNotFoundError(name, segment, sorted(segments))
            raw_stats = segments[segment]
            raw_observations = self._store.read_segment_observations(name, [segment])[segment]
        else:
            raw_stats = self._store.read_stats(name)
            (raw_observations,) = self._store.read_observations([name])
        stats = ArmStats.from_raw(experiment, raw_stats)
        observations = parse_observations(raw_observations, experiment.arm_names)
        scoped = sorted({g.segment for g in experiment.guardrails if g.segment} & set(segments))
        raw_segments = {}
        if scoped and not segment:
            raw_segments = self._store.read_segment_observations(name, scoped)
        evidence = Evidence(
            experiment, raw_observations, raw_segments, self._history, time.time(), segment
        )
        # Segment statistics are all-history; the experiment's follow its reward timing.
        decision_stats = None if segment else self._engine.decision_stats(experiment, stats)
        statuses, readiness = arm_statuses(
            experiment,
            stats,
            observations,
            evidence,
            self._settings.status_draws,
            decision_stats,
        )
        return Status(experiment, statuses, readiness, segment, sorted(segments))

    def import_outcomes(
        self,
        name: str,
        arm: str,
        import_id: str,
        pulls: int,
        rewards: int,
        reward_sum: float,
        reward_sum_squares: float,
    ) -> bool:
        """Adds historical outcomes to an arm once per import_id; True if it was a repeat."""
        experiment = self._load(name)
        experiment.arm_index(arm)
        if not import_id:
            raise InvalidArgumentError(
                "import_id is required, so that a retried import is not counted twice"
            )
        if len(import_id.encode()) > MAX_IMPORT_ID_BYTES:
            raise InvalidArgumentError(f"import_id is longer than {MAX_IMPORT_ID_BYTES} bytes")
        for field, value in (
            ("reward_sum", reward_sum),
            ("reward_sum_squares", reward_sum_squares),
        ):
            if value != value or value in (float("inf"), float("-inf")):
                raise InvalidArgumentError(f"{field} must be a finite number, got {value}")
        if experiment.reward_type is domain.RewardType.BINARY:
            if rewards > pulls or not 0 <= reward_sum <= rewards:
                raise InvalidArgumentError(
                    f"binary experiment '{name}': need reward_sum (successes) <= rewards <= pulls, "
                    f"got reward_sum={reward_sum:g}, rewards={rewards}, pulls={pulls}"
                )
        elif rewards and not (
            experiment.reward_min * rewards <= reward_sum <= experiment.reward_max * rewards
        ):
            raise InvalidArgumentError(
                f"reward_sum {reward_sum:g} is impossible for {rewards} rewards within "
                f"[{experiment.reward_min:g}, {experiment.reward_max:g}]"
            )
        applied = self._store.import_outcomes(
            name, arm, import_id, pulls, rewards, reward_sum, reward_sum_squares
        )
        if applied:
            logger.info("experiment '%s': imported %d pulls for arm '%s'", name, pulls, arm)
        return not applied
