"""Policy kernels against their baselines, in one run: numba per call and per decision in a
batch, numpy per call, and MABWiser's predict() per call.

MABWiser (with pandas, scikit-learn, scipy) would drag numpy versions around, so it lives in
its own virtual environment, `.venv-mabwiser`, created on first use from the same package
index; its timings run there, in a child process, on the same statistics.

    .venv/bin/python -m loadtest.bench_kernels [--arms 10] [--out loadtest/results]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

import policies

ROOT = Path(__file__).resolve().parent.parent
MABWISER_VENV = ROOT / ".venv-mabwiser"
REPEATS = 5
CALLS = 20_000
BATCH = 100_000


def _median_ns(fn: Callable[[], object], calls: int) -> float:
    """Median over REPEATS of the time per call, in ns."""
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter_ns()
        for _ in range(calls):
            fn()
        times.append((time.perf_counter_ns() - started) / calls)
    return statistics.median(times)


def _batch_ns(fn: Callable[[], object], decisions: int) -> float:
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter_ns()
        fn()
        times.append((time.perf_counter_ns() - started) / decisions)
    return statistics.median(times)


def statistics_for(n_arms: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Trials and successes of n_arms arms with rates 2% to 6%, 10k trials each."""
    rng = np.random.default_rng(seed)
    trials = np.full(n_arms, 10_000.0)
    rates = np.linspace(0.02, 0.06, n_arms)
    successes = rng.binomial(10_000, rates).astype(np.float64)
    return trials, successes


def banditd_kernels(n_arms: int) -> dict[str, dict[str, float]]:
    trials, successes = statistics_for(n_arms)
    live = np.ones(n_arms, dtype=np.bool_)
    weights = np.ones(n_arms)
    policies.warm_up()
    results: dict[str, dict[str, float]] = {}
    variants: dict[str, tuple[str, dict[str, object]]] = {
        "thompson": ("thompson", {}),
        # Exact Thompson sampling: one Beta draw per arm for every decision.
        "thompson_posterior_draws": ("thompson", {"per_decision_draws": True}),
        "ucb1": ("ucb1", {}),
        "kl_ucb": ("kl_ucb", {}),
        "epsilon_greedy": ("epsilon_greedy", {}),
    }
    for name, (policy, params) in variants.items():
        allocation = policies.make_policy(policy, **params).allocate(
            trials, successes, live, weights
        )
        policies.choose_many(allocation, 10)

        def one(a: policies.Allocation = allocation) -> int:
            return policies.choose(a)

        def many(a: policies.Allocation = allocation) -> object:
            return policies.choose_many(a, BATCH)

        results[name] = {
            "per_call_ns": round(_median_ns(one, CALLS)),
            "batch_ns_per_decision": round(_batch_ns(many, BATCH), 1),
        }
    return results


def numpy_thompson_ns(n_arms: int) -> float:
    trials, successes = statistics_for(n_arms)
    alpha, beta = 1 + successes, 1 + trials - successes
    rng = np.random.default_rng(2)
    return round(_median_ns(lambda: int(np.argmax(rng.beta(alpha, beta))), CALLS))


_MABWISER_SCRIPT = textwrap.dedent(
    """
    import json, statistics, sys, time
    import numpy as np
    from mabwiser.mab import MAB, LearningPolicy

    n_arms, calls, repeats = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    trials, successes = json.loads(sys.argv[4])
    arms = list(range(n_arms))
    decisions, rewards = [], []
    for arm in arms:
        k = int(successes[arm]); n = int(trials[arm])
        decisions += [arm] * n
        rewards += [1] * k + [0] * (n - k)
    out = {}
    for name, policy in (
        ("thompson", LearningPolicy.ThompsonSampling()),
        ("ucb1", LearningPolicy.UCB1(alpha=1.0)),
        ("epsilon_greedy", LearningPolicy.EpsilonGreedy(epsilon=0.1)),
    ):
        mab = MAB(arms, policy, seed=3)
        mab.fit(decisions, rewards)
        times = []
        for _ in range(repeats):
            started = time.perf_counter_ns()
            for _ in range(calls):
                mab.predict()
            times.append((time.perf_counter_ns() - started) / calls)
        out[name] = round(statistics.median(times))
    print(json.dumps(out))
    """
)


def _ensure_mabwiser() -> Path | str:
    """The MABWiser interpreter, creating its venv on first use; or why it is unavailable."""
    python = MABWISER_VENV / "bin" / "python"
    if python.exists():
        return python
    try:
        subprocess.run([sys.executable, "-m", "venv", str(MABWISER_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "mabwiser"],
            check=True,
            timeout=600,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        return f"cannot install mabwiser into {MABWISER_VENV}: {exc}"
    return python


def mabwiser_ns(n_arms: int) -> dict[str, float] | str:
    python = _ensure_mabwiser()
    if isinstance(python, str):
        return python
    trials, successes = statistics_for(n_arms)
    argv = [
        str(python),
        "-c",
        _MABWISER_SCRIPT,
        str(n_arms),
        str(CALLS // 10),
        str(REPEATS),
        json.dumps([trials.tolist(), successes.tolist()]),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        return f"mabwiser timing failed: {done.stderr.strip().splitlines()[-1:]}"
    result: dict[str, float] = json.loads(done.stdout)
    return result


def run(n_arms: int) -> dict[str, object]:
    ours = banditd_kernels(n_arms)
    numpy_ns = numpy_thompson_ns(n_arms)
    theirs = mabwiser_ns(n_arms)
    summary: dict[str, object] = {
        "arms": n_arms,
        "kernel_ns": ours,
        "numpy_thompson_per_call_ns": numpy_ns,
        "mabwiser_predict_ns": theirs,
        "method": (
            f"median of {REPEATS} repeats; per call: {CALLS} Python calls of policies.choose; "
            f"batch: policies.choose_many of {BATCH} decisions; numpy: "
            "argmax(rng.beta(alpha, beta)) per call; MABWiser 2.x predict() per call after fit "
            "on the same statistics, in its own venv"
        ),
    }
    if isinstance(theirs, dict):
        summary["speedup_vs_mabwiser_per_call"] = {
            name: round(theirs[name] / ours[name]["per_call_ns"], 1)
            for name in theirs
            if name in ours
        }
        summary["speedup_vs_mabwiser_batch"] = {
            name: round(theirs[name] / ours[name]["batch_ns_per_decision"], 1)
            for name in theirs
            if name in ours
        }
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="loadtest.bench_kernels", description=__doc__)
    parser.add_argument("--arms", type=int, default=10)
    parser.add_argument("--out", type=Path, default=None, help="write kernels.json here")
    args = parser.parse_args(argv)
    summary = run(args.arms)
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "kernels.json").write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
