"""Routing scenarios: sticky units when shares change, and a shadow arm measured next to
production without serving anyone."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from banditd.v1 import admin_pb2
from banditd_client import policy_config  # type: ignore[import-untyped]
from numpy.typing import NDArray

from ._scenario_traffic import REWARD_EVENT, Connection, Pacer, rounded, sleep_until, wait_for


@dataclass(frozen=True)
class StickySettings:
    seed: int = 7
    units: int = 50_000
    arms: tuple[str, ...] = ("a", "b", "c", "d")
    weights_before: tuple[float, ...] = (10.0, 30.0, 30.0, 30.0)
    weights_after: tuple[float, ...] = (20.0, 80 / 3, 80 / 3, 80 / 3)
    # Unit ids per DecideBatch call (at most 10000).
    batch: int = 10_000

    @classmethod
    def quick(cls) -> StickySettings:
        return cls(units=5_000, batch=2_500)


def _normalised(weights: tuple[float, ...]) -> NDArray[np.float64]:
    values = np.array(weights, dtype=np.float64)
    normalised: NDArray[np.float64] = values / values.sum()
    return normalised


def sticky(conn: Connection, settings: StickySettings) -> dict[str, Any]:
    """Units assigned under 10/30/30/30, then again under 20/26.7/26.7/26.7."""
    name = f"sticky-{settings.seed}"
    before = dict(zip(settings.arms, settings.weights_before, strict=True))
    after = dict(zip(settings.arms, settings.weights_after, strict=True))
    conn.admin.create_experiment(
        name,
        [(arm, f"model-{arm}") for arm in settings.arms],
        policy=policy_config("fixed", weights=before),
        description="rollout scenario",
    )
    rng = np.random.default_rng(settings.seed)
    # Distinct unit ids: 62-bit random numbers, so a repeat is practically impossible.
    units = [f"user-{n:x}" for n in np.unique(rng.integers(0, 2**62, size=settings.units))]

    def assign() -> tuple[np.ndarray, set[int]]:
        arms: list[str] = []
        epochs: set[int] = set()
        for start in range(0, len(units), settings.batch):
            decisions = conn.client.decide_batch(
                name, unit_ids=units[start : start + settings.batch]
            )
            arms += [d.arm for d in decisions]
            epochs |= {d.epoch for d in decisions}
        return np.array(arms), epochs

    began = time.monotonic()
    first, first_epochs = assign()
    again, _ = assign()
    changed = conn.admin.set_policy(name, policy_config("fixed", weights=after))
    # One replica applies its own admin changes at once; wait anyway, as a client must.
    wait_for(
        "the new weights",
        lambda: conn.client.decide_batch(name, 1)[0].epoch >= changed.epoch,
        timeout_s=10.0,
    )
    second, second_epochs = assign()
    switched = float(np.mean(first != second))
    p, q = _normalised(settings.weights_before), _normalised(settings.weights_after)
    minimum = 0.5 * float(np.abs(p - q).sum())
    moves = Counter(
        f"{old}->{new}"
        for old, new in zip(first.tolist(), second.tolist(), strict=True)
        if old != new
    )

    def shares(assigned: np.ndarray) -> dict[str, float]:
        return {arm: round(float(np.mean(assigned == arm)), 4) for arm in settings.arms}

    return {
        "switched_fraction": round(switched, 4),
        "minimum_fraction": round(minimum, 4),
        "switched_over_minimum": round(switched / minimum, 3) if minimum else None,
        "repeat_switched_fraction": round(float(np.mean(first != again)), 4),
        "units": len(units),
        "shares_before": shares(first),
        "shares_after": shares(second),
        "target_shares_before": {
            a: round(float(s), 4) for a, s in zip(settings.arms, p, strict=True)
        },
        "target_shares_after": {
            a: round(float(s), 4) for a, s in zip(settings.arms, q, strict=True)
        },
        "moves": dict(moves.most_common()),
        "epochs": {"before": sorted(first_epochs), "after": sorted(second_epochs)},
        "seconds": round(time.monotonic() - began, 2),
        "settings": asdict(settings),
    }


@dataclass(frozen=True)
class ShadowSettings:
    seed: int = 11
    arms: tuple[str, ...] = ("v1", "v2")
    arm_rates: tuple[float, ...] = (0.05, 0.055)
    shadow_arm: str = "v3-shadow"
    shadow_rate: float = 0.06
    rate: float = 3000.0
    seconds: float = 20.0
    tick_s: float = 0.02

    @classmethod
    def quick(cls) -> ShadowSettings:
        return cls(rate=2000.0, seconds=3.0)


def shadow(conn: Connection, settings: ShadowSettings) -> dict[str, Any]:
    """Production under Thompson sampling, every request mirrored to a shadow model."""
    name = f"shadow-{settings.seed}"
    rates = dict(zip(settings.arms, settings.arm_rates, strict=True))
    conn.admin.create_experiment(
        name,
        [(arm, f"model-{arm}") for arm in settings.arms],
        policy="thompson",
        description="rollout scenario",
    )
    conn.admin.add_arm(name, settings.shadow_arm, f"model-{settings.shadow_arm}", shadow=True)
    rng = np.random.default_rng(settings.seed)
    served = Counter[str]()
    converted = Counter[str]()
    mirrored = shadow_conversions = missing_shadows = 0
    started = time.monotonic()
    pacer = Pacer(settings.rate, started)
    next_tick = started
    with conn.reporter() as reporter:
        while time.monotonic() < started + settings.seconds:
            count = pacer.due(time.monotonic())
            if count:
                decisions = conn.client.decide_batch(name, count)
                pacer.count(count)
                chosen = [d.arm for d in decisions]
                wins = rng.random(count) < np.array([rates[a] for a in chosen])
                shadow_wins = rng.random(count) < settings.shadow_rate
                for decision, win, shadow_win in zip(
                    decisions, wins.tolist(), shadow_wins.tolist(), strict=True
                ):
                    # Binary rewards: a decision without a conversion counts as a failure,
                    # so only conversions are reported, as an application would.
                    if win:
                        reporter.report(decision.decision_id, 1.0, REWARD_EVENT)
                    mirror = [s for s in decision.shadows if s.arm == settings.shadow_arm]
                    if not mirror:
                        missing_shadows += 1
                        continue
                    mirrored += 1
                    if shadow_win:
                        reporter.report(mirror[0].decision_id, 1.0, REWARD_EVENT)
                served.update(chosen)
                converted.update(a for a, w in zip(chosen, wins.tolist(), strict=True) if w)
                shadow_conversions += int(shadow_wins.sum())
            next_tick += settings.tick_s
            sleep_until(next_tick)
        flushed = reporter.flush(timeout_s=30.0)
        accepted, rejected = reporter.accepted, reporter.rejected
    status = {arm.name: arm for arm in conn.admin.status(name).arms}
    live = [status[a] for a in settings.arms]
    production_pulls = sum(a.pulls for a in live)
    production_successes = sum(a.reward_sum for a in live)
    shadow_status = status[settings.shadow_arm]
    decisions = sum(served.values())
    return {
        "shadow_mean_reward": rounded(shadow_status.mean_reward, 5),
        "production_mean_reward": rounded(production_successes / max(production_pulls, 1), 5),
        "shadow_true_rate": settings.shadow_rate,
        "production_true_rates": rates,
        # What production should earn given the traffic it actually served.
        "production_expected_rate": rounded(
            sum(rates[a] * n for a, n in served.items()) / max(decisions, 1), 5
        ),
        "shadow_interval": [
            rounded(shadow_status.interval_low, 5),
            rounded(shadow_status.interval_high, 5),
        ],
        "client_shadow_rate": rounded(shadow_conversions / max(decisions, 1), 5),
        "client_production_rate": rounded(sum(converted.values()) / max(decisions, 1), 5),
        "shadow_state": admin_pb2.ArmState.Name(shadow_status.state),
        "shadow_pulls": shadow_status.pulls,
        "shadow_rewards": shadow_status.rewards,
        "shadow_traffic_share": shadow_status.traffic_share,
        "production_pulls": production_pulls,
        "decisions": decisions,
        "mirrored_decisions": mirrored,
        "decisions_without_shadow": missing_shadows,
        "served_shares": {a: round(served[a] / max(decisions, 1), 4) for a in settings.arms},
        "arms": {
            a: {
                "pulls": status[a].pulls,
                "reward_sum": status[a].reward_sum,
                "mean_reward": rounded(status[a].mean_reward, 5),
                "traffic_share": rounded(status[a].traffic_share),
                "prob_best": rounded(status[a].prob_best),
            }
            for a in settings.arms
        },
        "rewards_all_acknowledged": flushed,
        "rewards_accepted": accepted,
        "rewards_rejected": rejected,
        "settings": asdict(settings),
    }
