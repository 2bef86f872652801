"""Reward-timing scenarios: a sliding window following a change of the best arm (drift), and
a reward wait keeping delayed conversions from biasing Thompson sampling (delayed)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from banditd_client import Decision  # type: ignore[import-untyped]

from ._scenario_traffic import (
    REWARD_EVENT,
    ArmStreams,
    Connection,
    DelayedRewards,
    Pacer,
    RecentShare,
    arm_share,
    rounded,
    sleep_until,
)


# --- drift ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class DriftSettings:
    seed: int = 21
    arms: tuple[str, ...] = ("A", "B")
    rates_before: tuple[float, ...] = (0.06, 0.04)
    rates_after: tuple[float, ...] = (0.04, 0.06)
    # Decisions per second of each run (the windowed and the stationary one run at once).
    rate: float = 2500.0
    phase_s: float = 30.0
    window_s: float = 15.0
    # "Traffic share" while following = share of the new best arm among the last N decisions.
    share_window: int = 2000
    tick_s: float = 0.02
    series_every_s: float = 2.0

    @classmethod
    def quick(cls) -> DriftSettings:
        return cls(rate=1500.0, phase_s=6.0, window_s=3.0, share_window=500)


class DriftRun:
    """One experiment of the drift scenario and what its client saw."""

    def __init__(self, name: str, settings: DriftSettings) -> None:
        self.name = name
        # The arm that is best after the change; its share is what "following" means.
        self.tracked = settings.arms[int(np.argmax(settings.rates_after))]
        self.streams = ArmStreams(settings.seed, settings.arms)
        self.recent = RecentShare(settings.share_window)
        self.pacer: Pacer | None = None
        self.regret = 0.0
        self.regret_after_change = 0.0
        self.rewards = 0
        self.rewards_after_change = 0
        self.decisions_after_change = 0
        # threshold -> (rewards, seconds, decisions) after the change when first crossed
        self.followed: dict[float, tuple[int, float, int]] = {}
        self.last_share: float | None = None

    def step(
        self, conn: Connection, reporter: Any, count: int, rates: dict[str, float], since: float
    ) -> None:
        decisions = conn.client.decide_batch(self.name, count)
        success, _ = self.streams.outcomes(decisions, rates)
        for decision, won in zip(decisions, success.tolist(), strict=True):
            if won:
                reporter.report(decision.decision_id, 1.0, REWARD_EVENT)
        arms = [d.arm for d in decisions]
        best = max(rates.values())
        lost = float(sum(best - rates[a] for a in arms))
        self.regret += lost
        self.rewards += int(success.sum())
        self.recent.add(np.array([a == self.tracked for a in arms]))
        self.last_share = arm_share(decisions, self.tracked, list(rates))
        if since >= 0:
            self.regret_after_change += lost
            self.rewards_after_change += int(success.sum())
            self.decisions_after_change += len(decisions)
            for threshold in (0.5, 0.8):
                if threshold not in self.followed and self.recent.share > threshold:
                    self.followed[threshold] = (
                        self.rewards_after_change,
                        since,
                        self.decisions_after_change,
                    )

    def following(self, threshold: float) -> dict[str, Any]:
        if threshold not in self.followed:
            return {"rewards": None, "seconds": None, "decisions": None}
        rewards, seconds, decisions = self.followed[threshold]
        return {"rewards": rewards, "seconds": round(seconds, 2), "decisions": decisions}


def drift(conn: Connection, settings: DriftSettings) -> dict[str, Any]:
    """The best arm changes halfway; the same outcomes with and without a sliding window."""
    runs = {
        "windowed": DriftRun(f"drift-{settings.seed}-windowed", settings),
        "stationary": DriftRun(f"drift-{settings.seed}-stationary", settings),
    }
    for run in runs.values():
        conn.admin.create_experiment(
            run.name,
            [(arm, f"model-{arm}") for arm in settings.arms],
            policy="thompson",
            description="rollout scenario",
        )
    conn.set_reward_timing(runs["windowed"].name, window_s=settings.window_s)
    before = dict(zip(settings.arms, settings.rates_before, strict=True))
    after = dict(zip(settings.arms, settings.rates_after, strict=True))
    started = time.monotonic()
    change_at = started + settings.phase_s
    end_at = change_at + settings.phase_s
    for run in runs.values():
        run.pacer = Pacer(settings.rate, started)
    series: list[list[float]] = []
    next_sample = started
    next_tick = started
    with conn.reporter() as reporter:
        while (now := time.monotonic()) < end_at:
            rates = after if now >= change_at else before
            for run in runs.values():
                assert run.pacer is not None
                count = run.pacer.due(now)
                if count:
                    run.step(conn, reporter, count, rates, now - change_at)
                    run.pacer.count(count)
            if now >= next_sample:
                next_sample += settings.series_every_s
                series.append([round(now - started, 1), *(r.recent.share for r in runs.values())])
            next_tick += settings.tick_s
            sleep_until(next_tick)
        flushed = reporter.flush(timeout_s=30.0)
        accepted, rejected = reporter.accepted, reporter.rejected
    windowed, stationary = runs["windowed"], runs["stationary"]
    new_best = windowed.tracked
    status = {a.name: a for a in conn.admin.status(windowed.name).arms}
    return {
        "rewards_to_follow": windowed.following(0.5)["rewards"],
        "rewards_to_follow_80": windowed.following(0.8)["rewards"],
        "regret_vs_stationary_ts": round(windowed.regret / stationary.regret, 4)
        if stationary.regret
        else None,
        "windowed": {
            "follow_50": windowed.following(0.5),
            "follow_80": windowed.following(0.8),
            "cumulative_regret": round(windowed.regret, 1),
            "regret_after_change": round(windowed.regret_after_change, 1),
            "rewards": windowed.rewards,
            "decisions": windowed.pacer.done if windowed.pacer else 0,
            "final_share_new_best": rounded(windowed.recent.share),
        },
        "stationary": {
            "follow_50": stationary.following(0.5),
            "follow_80": stationary.following(0.8),
            "cumulative_regret": round(stationary.regret, 1),
            "regret_after_change": round(stationary.regret_after_change, 1),
            "rewards": stationary.rewards,
            "decisions": stationary.pacer.done if stationary.pacer else 0,
            "final_share_new_best": rounded(stationary.recent.share),
        },
        # The windowed policy's share of the new best arm at the end, as served (from the
        # propensities) and as the status view reports it.
        "windowed_end_share": {
            "served_propensity": rounded(windowed.last_share),
            "status_traffic_share": rounded(status[new_best].traffic_share),
            "status_prob_best": rounded(status[new_best].prob_best),
        },
        # [seconds since start, share of the arm that is best after the change among the
        # last share_window decisions: windowed, stationary]
        "series": series,
        "rewards_all_acknowledged": flushed,
        "rewards_accepted": accepted,
        "rewards_rejected": rejected,
        "settings": asdict(settings),
    }


# --- delayed rewards -----------------------------------------------------------------------
VARIANTS = ("oracle", "wait", "naive")


@dataclass(frozen=True)
class DelayedSettings:
    seed: int = 31
    # Independent repetitions of the three variants, all at once on the one server.
    seeds: int = 10
    # True conversion rate of both arms.
    conversion_rate: float = 0.10
    # Matured history each arm brings (imported at exactly the true rate): the old arm's
    # is long, the new arm's a short pilot, so fresh traffic dominates the new arm's stats.
    old_history: int = 500_000
    new_history: int = 50_000
    decisions_per_s: float = 300.0
    seconds: float = 120.0
    # A conversion arrives uniformly 0..max_delay_s after its decision.
    max_delay_s: float = 60.0
    reward_wait_s: float = 60.0
    # Shares are averaged over windows of this length (and over seeds).
    average_s: float = 15.0
    tick_s: float = 0.1

    @classmethod
    def quick(cls) -> DelayedSettings:
        return cls(
            seeds=2,
            old_history=50_000,
            new_history=5_000,
            decisions_per_s=200.0,
            seconds=16.0,
            max_delay_s=4.0,
            reward_wait_s=4.0,
            average_s=4.0,
        )


class DelayedRun:
    def __init__(self, variant: str, seed: int, settings: DelayedSettings) -> None:
        self.variant = variant
        self.name = f"delayed-{variant}-{seed}"
        self.streams = ArmStreams(seed, ("old", "new"), settings.max_delay_s)
        windows = int(np.ceil(settings.seconds / settings.average_s))
        # Per window: decisions, sum of the new arm's share over decisions, new-arm decisions.
        self.decisions = np.zeros(windows)
        self.share_sum = np.zeros(windows)
        self.new_served = np.zeros(windows)
        self.last_share: float | None = None

    def record(self, window: int, decisions: list[Decision]) -> None:
        share = arm_share(decisions, "new", ("old", "new"))
        if share is None or window >= len(self.decisions):
            return
        self.last_share = share
        self.decisions[window] += len(decisions)
        self.share_sum[window] += share * len(decisions)
        self.new_served[window] += sum(d.arm == "new" for d in decisions)

    @property
    def mean_share(self) -> np.ndarray:
        return np.divide(
            self.share_sum,
            self.decisions,
            out=np.full_like(self.share_sum, np.nan),
            where=self.decisions > 0,
        )


def delayed(conn: Connection, settings: DelayedSettings) -> dict[str, Any]:
    """Equal arms, conversions delayed 0..60 s: oracle vs reward wait vs naive."""
    p = settings.conversion_rate
    seeds = [settings.seed + i for i in range(settings.seeds)]
    runs = [DelayedRun(v, s, settings) for s in seeds for v in VARIANTS]
    for run in runs:
        conn.admin.create_experiment(
            run.name,
            [("old", "model-old"), ("new", "model-new")],
            policy="thompson",
            description="rollout scenario",
        )
        for arm, pulls in (("old", settings.old_history), ("new", settings.new_history)):
            successes = round(pulls * p)
            conn.admin.import_outcomes(
                run.name,
                arm,
                pulls=pulls,
                rewards=successes,
                reward_sum=float(successes),
                import_id=f"history-{arm}",
            )
        if run.variant == "wait":
            conn.set_reward_timing(run.name, reward_wait_s=settings.reward_wait_s)
    rates = {"old": p, "new": p}
    started = time.monotonic()
    pacers = [Pacer(settings.decisions_per_s, started) for _ in runs]
    end_at = started + settings.seconds
    next_tick = started
    with conn.reporter() as reporter:
        pending = DelayedRewards(reporter)
        while (now := time.monotonic()) < end_at:
            pending.deliver(now)
            window = int((now - started) / settings.average_s)
            for run, pacer in zip(runs, pacers, strict=True):
                count = pacer.due(now)
                if not count:
                    continue
                decisions = conn.client.decide_batch(run.name, count)
                received = time.monotonic()
                pacer.count(count)
                run.record(window, decisions)
                success, delay = run.streams.outcomes(decisions, rates)
                for decision, won, wait_s in zip(
                    decisions, success.tolist(), delay.tolist(), strict=True
                ):
                    if not won:
                        continue
                    if run.variant == "oracle":
                        reporter.report(decision.decision_id, 1.0, REWARD_EVENT)
                    else:
                        pending.add(received + wait_s, decision.decision_id)
            next_tick += settings.tick_s
            sleep_until(next_tick)
        undelivered = pending.waiting
        flushed = reporter.flush(timeout_s=30.0)
        accepted, rejected = reporter.accepted, reporter.rejected

    shares = {v: np.array([r.mean_share for r in runs if r.variant == v]) for v in VARIANTS}
    windows = shares["oracle"].shape[1]

    def bias(variant: str) -> tuple[np.ndarray, np.ndarray]:
        """Per window: mean over seeds of (variant's share - oracle's share), and its SE."""
        diff = shares[variant] - shares["oracle"]
        se = diff.std(axis=0, ddof=1) / np.sqrt(len(seeds)) if len(seeds) > 1 else diff[0] * 0
        return diff.mean(axis=0), se

    wait_bias, wait_se = bias("wait")
    naive_bias, naive_se = bias("naive")
    # The wait run decides from decisions at least reward_wait_s old: compared with the
    # oracle that much earlier, what is left is bias rather than the wait's lag.
    lag = round(settings.reward_wait_s / settings.average_s)
    lagged = (shares["wait"][:, lag:] - shares["oracle"][:, : windows - lag]).mean(axis=0)
    status_end = {}
    for variant in ("wait", "naive"):
        run = next(r for r in runs if r.variant == variant)
        status = conn.admin.status(run.name)
        arms = {a.name: a for a in status.arms}
        status_end[variant] = {
            "served_propensity_new": rounded(run.last_share),
            "status_traffic_share_new": rounded(arms["new"].traffic_share),
            "status_prob_best_new": rounded(arms["new"].prob_best),
            "status_mean_reward": {a: rounded(arms[a].mean_reward, 5) for a in arms},
            "status_ready_arm": status.ready_arm,
            "status_readiness": status.readiness,
        }

    def per_window(values: np.ndarray) -> list[float | None]:
        return [None if np.isnan(v) else round(float(v), 4) for v in values]

    return {
        "max_share_bias": round(float(np.nanmax(np.abs(wait_bias))), 4),
        "max_share_bias_without_wait": round(float(np.nanmax(np.abs(naive_bias))), 4),
        # Most negative mean deviation: how far the new arm's share fell below the oracle's.
        "max_bias_against_new_arm": {
            "wait": round(float(-min(0.0, np.nanmin(wait_bias))), 4),
            "naive": round(float(-min(0.0, np.nanmin(naive_bias))), 4),
        },
        "max_share_bias_lag_adjusted": round(float(np.nanmax(np.abs(lagged))), 4)
        if lagged.size
        else None,
        "lag_adjusted_by_window": per_window(lagged),
        "lag_adjusted_from_s": lag * settings.average_s,
        "max_standard_error": {
            "wait": round(float(np.nanmax(wait_se)), 4),
            "naive": round(float(np.nanmax(naive_se)), 4),
        },
        "window_starts_s": [round(i * settings.average_s, 1) for i in range(windows)],
        "mean_share_new": {v: per_window(np.nanmean(shares[v], axis=0)) for v in VARIANTS},
        "share_bias_by_window": {"wait": per_window(wait_bias), "naive": per_window(naive_bias)},
        "standard_error_by_window": {"wait": per_window(wait_se), "naive": per_window(naive_se)},
        "served_share_new_overall": {
            v: rounded(
                sum(r.new_served.sum() for r in runs if r.variant == v)
                / max(sum(r.decisions.sum() for r in runs if r.variant == v), 1)
            )
            for v in VARIANTS
        },
        "status_at_end": status_end,
        "decisions": sum(p.done for p in pacers),
        "rewards_not_yet_due_at_end": undelivered,
        "rewards_all_acknowledged": flushed,
        "rewards_accepted": accepted,
        "rewards_rejected": rejected,
        "settings": {**asdict(settings), "seed_list": seeds, "variants": list(VARIANTS)},
    }
