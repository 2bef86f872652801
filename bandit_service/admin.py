"""Admin use cases: create and change experiments, report their status, import history.

Changes are compare-and-set on the experiment's epoch, retried a few times, and installed
on this replica at once; other replicas see the new epoch within one refresh interval.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from . import domain
from .config import Settings
from .domain import Experiment
from .engine import Engine, now_ms
from .errors import ConflictError, ExperimentNotFoundError, InvalidArgumentError
from .stats import ArmStats, ArmStatus, arm_statuses
from .store import StateStore

logger = logging.getLogger(__name__)

_CAS_ATTEMPTS = 5
MAX_IMPORT_ID_BYTES = 128


class AdminService:
    def __init__(self, store: StateStore, engine: Engine, settings: Settings) -> None:
        self._store = store
        self._engine = engine
        self._settings = settings

    def _load(self, name: str) -> Experiment:
        domain.validate_name(name, "experiment")
        experiment = self._store.get_experiment(name)
        if experiment is None:
            raise ExperimentNotFoundError(name)
        return experiment

    def create_experiment(self, experiment: Experiment) -> Experiment:
        created = self._store.create_experiment(replace(experiment, created_unix_ms=now_ms()))
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

    def change(self, name: str, what: str, apply: Callable[[Experiment], Experiment]) -> Experiment:
        """Applies a pure change with compare-and-set on the epoch, retrying on conflict."""
        for _ in range(_CAS_ATTEMPTS):
            current = self._load(name)
            changed = apply(current)
            if changed == current:
                return current
            try:
                saved = self._store.save_experiment(changed)
            except ConflictError:
                continue
            self._engine.apply(saved)
            logger.info("experiment '%s': %s (epoch %d)", name, what, saved.epoch)
            return saved
        raise ConflictError(f"experiment '{name}' kept changing while applying '{what}'; retry")

    def add_arm(self, name: str, arm: str, version: str, weight: float) -> Experiment:
        return self.change(
            name, f"added arm '{arm}'", lambda e: domain.add_arm(e, arm, version, weight)
        )

    def retire_arm(self, name: str, arm: str) -> Experiment:
        return self.change(name, f"retired arm '{arm}'", lambda e: domain.retire_arm(e, arm))

    def promote_arm(self, name: str, arm: str) -> Experiment:
        return self.change(name, f"promoted arm '{arm}'", lambda e: domain.promote_arm(e, arm))

    def set_default_arm(self, name: str, arm: str) -> Experiment:
        return self.change(
            name, f"default arm is now '{arm}'", lambda e: domain.set_default_arm(e, arm)
        )

    def set_policy(self, name: str, policy: domain.PolicyConfig) -> Experiment:
        return self.change(
            name, f"policy is now {policy.name.value}", lambda e: domain.set_policy(e, policy)
        )

    def set_paused(self, name: str, paused: bool) -> Experiment:
        what = "paused" if paused else "resumed"
        return self.change(name, what, lambda e: domain.set_paused(e, paused))

    def status(self, name: str) -> tuple[Experiment, list[ArmStatus]]:
        experiment = self._load(name)
        # Write this replica's own counts first, so the status includes them.
        self._engine.flush()
        stats = ArmStats.from_raw(experiment, self._store.read_stats(name))
        return experiment, arm_statuses(experiment, stats, self._settings.status_draws)

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
