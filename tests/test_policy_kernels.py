"""Deterministic kernels against their naive twins, on random arms and on the edge cases."""

import itertools
import math

import naive
import numpy as np
import pytest
from numpy.typing import NDArray

from policies import _kernels

Arms = tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]


def random_arms(seed: int) -> Arms:
    """Few trials, so equal means (ties) are common; some arms untried, some retired."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 13))
    trials = rng.integers(0, 12, n).astype(np.float64)
    trials[rng.random(n) < 0.2] = 0.0
    if seed % 2:
        successes = rng.binomial(trials.astype(np.int64), 0.5).astype(np.float64)
    else:
        successes = trials * rng.random(n)  # continuous rewards normalised to [0, 1]
    live = rng.random(n) < 0.75
    live[rng.integers(n)] = True
    return trials, successes, live


EDGE_CASES: dict[str, Arms] = {
    "all untried": (np.zeros(4), np.zeros(4), np.ones(4, dtype=bool)),
    "single live arm": (
        np.array([5.0, 9.0, 3.0]),
        np.array([1.0, 8.0, 2.0]),
        np.array([False, False, True]),
    ),
    "retired best, untried retired": (
        np.array([100.0, 0.0, 40.0, 40.0]),
        np.array([90.0, 0.0, 20.0, 10.0]),
        np.array([False, False, True, True]),
    ),
    "exact ties": (
        np.array([4.0, 8.0, 2.0, 6.0]),
        np.array([2.0, 4.0, 1.0, 1.0]),
        np.ones(4, dtype=bool),
    ),
    "one trial in total": (np.array([1.0, 0.0]), np.array([1.0, 0.0]), np.ones(2, dtype=bool)),
    "total below e": (np.array([1.0, 1.0]), np.array([0.0, 1.0]), np.ones(2, dtype=bool)),
    "means 0 and 1": (
        np.array([50.0, 50.0, 7.0]),
        np.array([0.0, 50.0, 7.0]),
        np.ones(3, dtype=bool),
    ),
    "huge counts": (np.array([1e9, 2e9]), np.array([4e8, 9e8]), np.ones(2, dtype=bool)),
}

CASES = [pytest.param(*random_arms(seed), id=f"random-{seed}") for seed in range(16)] + [
    pytest.param(*arms, id=name) for name, arms in EDGE_CASES.items()
]


@pytest.mark.parametrize(("trials", "successes", "live"), CASES)
@pytest.mark.parametrize("exploration", [0.0, 1.0, 2.5])
def test_ucb1_scores_match_naive(
    trials: NDArray[np.float64],
    successes: NDArray[np.float64],
    live: NDArray[np.bool_],
    exploration: float,
) -> None:
    out = np.empty(len(trials))
    _kernels.ucb1_scores(trials, successes, live, exploration, out)
    np.testing.assert_allclose(
        out, naive.ucb1_scores(trials, successes, live, exploration), rtol=1e-12
    )


@pytest.mark.parametrize(("trials", "successes", "live"), CASES)
@pytest.mark.parametrize("exploration", [0.0, 3.0])
def test_kl_ucb_scores_match_naive(
    trials: NDArray[np.float64],
    successes: NDArray[np.float64],
    live: NDArray[np.bool_],
    exploration: float,
) -> None:
    out = np.empty(len(trials))
    _kernels.kl_ucb_scores(trials, successes, live, exploration, out)
    # The naive twin searches a grid of step <= 5e-6, the kernel bisects to 1e-6.
    np.testing.assert_allclose(
        out, naive.kl_ucb_scores(trials, successes, live, exploration), atol=1e-5
    )
    budget = naive.kl_ucb_budget(float(trials.sum()), exploration)
    for i in np.flatnonzero(live & (trials > 0)):
        mean = successes[i] / trials[i]
        assert mean <= out[i] <= 1.0
        assert trials[i] * naive.bernoulli_kl(mean, out[i]) <= budget + 1e-12


def test_kl_ucb_score_shrinks_toward_the_mean_as_trials_grow() -> None:
    live = np.ones(2, dtype=bool)
    gaps = []
    for n in [10.0, 100.0, 1_000.0, 10_000.0, 100_000.0]:
        out = np.empty(2)
        # The second arm keeps the total (and so the budget) fixed while the first arm grows.
        _kernels.kl_ucb_scores(
            np.array([n, 200_000.0 - n]), np.array([0.3 * n, 0.0]), live, 0.0, out
        )
        gaps.append(out[0] - 0.3)
    assert all(gap >= 0 for gap in gaps)
    assert all(later < earlier for earlier, later in itertools.pairwise(gaps))
    assert gaps[-1] < 0.01


@pytest.mark.parametrize(
    ("p", "q"), [(0.3, 0.5), (0.0, 0.2), (1.0, 0.2), (0.5, 0.0), (0.5, 1.0), (0.7, 0.7)]
)
def test_bernoulli_kl_matches_naive(p: float, q: float) -> None:
    assert math.isclose(
        _kernels.bernoulli_kl(p, q), naive.bernoulli_kl(p, q), rel_tol=1e-12, abs_tol=1e-15
    )


@pytest.mark.parametrize(("trials", "successes", "live"), CASES)
def test_argmax_shares_match_naive_on_ucb_scores(
    trials: NDArray[np.float64], successes: NDArray[np.float64], live: NDArray[np.bool_]
) -> None:
    scores = naive.ucb1_scores(trials, successes, live, 1.0)
    out = np.empty(len(trials))
    _kernels.argmax_shares(scores, live, out)
    np.testing.assert_array_equal(out, naive.argmax_shares(scores, live))


@pytest.mark.parametrize(
    ("scores", "live"),
    [
        ([0.5, 0.5, 0.2, 0.5], [True, True, True, False]),  # tie, a retired arm tied too
        ([math.inf, 0.9, math.inf], [True, True, True]),  # untried arms share evenly
        ([-math.inf, -math.inf], [False, True]),  # the only live arm gets everything
        ([0.1, 0.2], [False, False]),  # nothing live: all zero, no division by zero
    ],
)
def test_argmax_shares_edge_cases(scores: list[float], live: list[bool]) -> None:
    scores_array, live_array = np.array(scores), np.array(live)
    out = np.empty(len(scores))
    _kernels.argmax_shares(scores_array, live_array, out)
    np.testing.assert_array_equal(out, naive.argmax_shares(scores_array, live_array))


@pytest.mark.parametrize(("trials", "successes", "live"), CASES)
@pytest.mark.parametrize("epsilon", [0.0, 0.1, 1.0])
def test_epsilon_greedy_shares_match_naive(
    trials: NDArray[np.float64],
    successes: NDArray[np.float64],
    live: NDArray[np.bool_],
    epsilon: float,
) -> None:
    out = np.empty(len(trials))
    _kernels.epsilon_greedy_shares(trials, successes, live, epsilon, out)
    np.testing.assert_allclose(
        out, naive.epsilon_greedy_shares(trials, successes, live, epsilon), rtol=1e-12
    )


def test_fixed_shares_match_naive_on_random_weights() -> None:
    rng = np.random.default_rng(11)
    for _ in range(30):
        n = int(rng.integers(1, 10))
        weights = rng.random(n) * (rng.random(n) < 0.7)
        live = rng.random(n) < 0.7
        live[rng.integers(n)] = True
        out = np.empty(n)
        _kernels.fixed_shares(weights, live, out)
        np.testing.assert_allclose(out, naive.fixed_shares(weights, live), rtol=1e-12)


@pytest.mark.parametrize(
    ("weights", "live"),
    [
        ([0.0, 0.0, 0.0], [True, True, False]),  # all live weights 0: even split
        ([0.0, 0.0, 5.0], [True, True, False]),  # only the retired arm had weight
        ([3.0, 1.0], [True, True]),
        ([2.0, 7.0], [False, True]),  # single live arm
    ],
)
def test_fixed_shares_edge_cases(weights: list[float], live: list[bool]) -> None:
    weights_array, live_array = np.array(weights), np.array(live)
    out = np.empty(len(weights))
    _kernels.fixed_shares(weights_array, live_array, out)
    np.testing.assert_allclose(out, naive.fixed_shares(weights_array, live_array), rtol=1e-12)


def test_cumulative_matches_naive() -> None:
    shares = np.random.default_rng(3).dirichlet(np.ones(9))
    out = np.empty(9)
    _kernels.cumulative(shares, out)
    np.testing.assert_allclose(out, naive.cumulative(shares), rtol=1e-15)


@pytest.mark.parametrize(
    "shares",
    [
        [0.25, 0.25, 0.5],
        [0.0, 0.3, 0.0, 0.7, 0.0],  # zero shares (retired arms) at both ends and inside
        [1.0],
        [0.0, 0.0, 1.0],
        [0.2, 0.2, 0.2, 0.2, 0.19999],  # total a hair short of 1
    ],
)
def test_categorical_index_matches_linear_scan(shares: list[float]) -> None:
    cum_shares = naive.cumulative(np.array(shares))
    edges = list(cum_shares) + [np.nextafter(c, -1.0) for c in cum_shares]
    for u in [0.0, 0.999999999, *np.linspace(0.0, 1.0, 1001), *edges]:
        assert _kernels.categorical_index(cum_shares, u) == naive.categorical_index(
            cum_shares, u
        ), u


def test_categorical_index_with_no_positive_share_is_minus_one() -> None:
    assert _kernels.categorical_index(np.zeros(3), 0.5) == -1
    assert _kernels.categorical_index(np.zeros(0), 0.5) == -1
