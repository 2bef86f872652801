"""Drives a running banditd with simulated model versions whose true reward rates are known.

Each decision's outcome is drawn from its arm's true conversion rate and reported through
the client's background reward reporter, exactly as an application would. Prints the
traffic share per arm as it shifts, and ends with one line of JSON:
  {"decisions", "rewards", "best_arm", "final_shares", "cumulative_regret", "uniform_regret"}
Regret is pseudo-regret against always serving the best arm: the sum over decisions of
(best rate - rate of the arm served); uniform_regret is what an even split loses.

  python -m loadtest.simulate --target 127.0.0.1:50051 --experiment demo \
      --arm v1=0.04 --arm v2=0.05 --arm v3=0.06 --decisions 200000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from banditd_client import AdminClient, BanditClient


@dataclass(frozen=True)
class Scenario:
    arms: tuple[str, ...]
    rates: tuple[float, ...]

    @property
    def best_arm(self) -> str:
        return self.arms[int(np.argmax(self.rates))]


def parse_arm(text: str) -> tuple[str, float]:
    name, sep, rate = text.partition("=")
    try:
        value = float(rate)
    except ValueError:
        value = -1.0
    if not sep or not name or not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected ARM=RATE with RATE in [0, 1], got '{text}'")
    return name, value


@dataclass
class Tally:
    """Decisions per arm, overall and since the last progress line."""

    total: np.ndarray
    window: np.ndarray
    regret: float = 0.0
    rewards: int = 0

    def shares(self, counts: np.ndarray) -> np.ndarray:
        return counts / max(int(counts.sum()), 1)


def run(
    client: BanditClient,
    experiment: str,
    scenario: Scenario,
    *,
    decisions: int,
    batch: int,
    max_seconds: float,
    report_every_s: float,
    seed: int,
    rate: float = 0.0,
    out=sys.stdout,
) -> dict[str, object]:
    """Runs the simulation and returns the summary (also printed as the last line)."""
    rng = np.random.default_rng(seed)
    rates = np.array(scenario.rates)
    index_of = {name: i for i, name in enumerate(scenario.arms)}
    n_arms = len(scenario.arms)
    tally = Tally(np.zeros(n_arms, dtype=np.int64), np.zeros(n_arms, dtype=np.int64))
    # The last tenth of the run is what "final shares" describes.
    final_from = decisions - decisions // 10
    final = np.zeros(n_arms, dtype=np.int64)
    started = time.monotonic()
    next_report = started + report_every_s
    done = 0
    with client.reward_reporter(batch_size=1000, flush_interval_s=0.02) as reporter:
        while done < decisions and time.monotonic() - started < max_seconds:
            chosen = client.decide_batch(experiment, min(batch, decisions - done))
            arms = np.array([index_of[d.arm] for d in chosen])
            wins = rng.random(len(arms)) < rates[arms]
            # Binary rewards: an unrewarded decision counts as a failure, so only
            # conversions are reported, as a real application would.
            for decision, won in zip(chosen, wins, strict=True):
                if won:
                    reporter.report(decision.decision_id, 1.0)
            counts = np.bincount(arms, minlength=n_arms)
            if done + len(arms) > final_from:
                tail = arms[max(0, final_from - done) :]
                final += np.bincount(tail, minlength=n_arms)
            tally.total += counts
            tally.window += counts
            tally.regret += float(np.sum(rates.max() - rates[arms]))
            tally.rewards += int(wins.sum())
            done += len(arms)
            if rate > 0:
                # Paced against the start, so a slow call is caught up rather than lost.
                ahead_s = started + done / rate - time.monotonic()
                if ahead_s > 0:
                    time.sleep(ahead_s)
            if time.monotonic() >= next_report:
                next_report += report_every_s
                print_progress(out, started, done, scenario, tally.shares(tally.window))
                tally.window[:] = 0
        if tally.window.any():
            print_progress(out, started, done, scenario, tally.shares(tally.window))
        flushed = reporter.flush(timeout_s=30)
        acknowledged, rejected = reporter.accepted + reporter.duplicates, reporter.rejected
    if not final.any():
        final = tally.total
    summary: dict[str, object] = {
        "decisions": done,
        "rewards": tally.rewards,
        "best_arm": scenario.best_arm,
        "final_shares": {
            arm: round(float(s), 4)
            for arm, s in zip(scenario.arms, tally.shares(final), strict=True)
        },
        "cumulative_regret": round(tally.regret, 2),
        "uniform_regret": round(done * float(rates.max() - rates.mean()), 2),
        "seconds": round(time.monotonic() - started, 2),
        "rewards_acknowledged": acknowledged,
        "rewards_rejected": rejected,
        "rewards_all_flushed": flushed,
    }
    return summary


def print_progress(out, started: float, done: int, scenario: Scenario, shares: np.ndarray) -> None:
    columns = "  ".join(
        f"{arm} {share:6.1%}" for arm, share in zip(scenario.arms, shares, strict=True)
    )
    print(f"t={time.monotonic() - started:6.1f}s  decisions={done:>8}  {columns}", file=out)
    out.flush()


def create_experiment(target: str, token: str | None, experiment: str, scenario: Scenario) -> None:
    with AdminClient(target, token=token) as admin:
        admin.create_experiment(
            experiment,
            arms=[(arm, f"model-{arm}") for arm in scenario.arms],
            policy="thompson",
            reward_type="binary",
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest.simulate",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--target", default="127.0.0.1:50051")
    parser.add_argument("--experiment", default="demo-checkout")
    parser.add_argument(
        "--arm",
        action="append",
        type=parse_arm,
        dest="arms",
        help="ARM=RATE, the arm's true conversion rate (repeat; default v1=0.04 v2=0.05 v3=0.06)",
    )
    parser.add_argument("--decisions", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=200, help="decisions per DecideBatch call")
    parser.add_argument("--rate", type=float, default=0.0, help="decisions/s at most (0: no limit)")
    parser.add_argument("--max-seconds", type=float, default=100.0, help="stop early after this")
    parser.add_argument("--report-every", type=float, default=2.0, help="seconds between lines")
    parser.add_argument("--seed", type=int, default=7, help="seeds the simulated outcomes")
    parser.add_argument(
        "--create", action="store_true", help="create the experiment first (Thompson, binary)"
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("BANDITD_ADMIN_TOKEN"),
        help="admin token for --create (env BANDITD_ADMIN_TOKEN)",
    )
    args = parser.parse_args(argv)
    arms = args.arms or [("v1", 0.04), ("v2", 0.05), ("v3", 0.06)]
    scenario = Scenario(tuple(a for a, _ in arms), tuple(r for _, r in arms))
    if args.create:
        create_experiment(args.target, args.token, args.experiment, scenario)
    with BanditClient(args.target, timeout_s=5.0) as client:
        summary = run(
            client,
            args.experiment,
            scenario,
            decisions=args.decisions,
            batch=args.batch,
            max_seconds=args.max_seconds,
            report_every_s=args.report_every,
            seed=args.seed,
            rate=args.rate,
        )
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
