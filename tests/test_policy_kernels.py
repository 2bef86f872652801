"""Deterministic kernels against their naive twins, on random arms and on the edge cases."""

import itertools
import math
from collections.abc import Callable

import naive
import numpy as np
import pytest
from numpy.typing import ArrayLike, NDArray

from policies import _kernels, _prob_best

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


# ---------------------------------------------------------------------------------------------
# P(best) by numerical integration (Thompson shares) against a 400,000-draw Monte Carlo estimate
# and, where they apply, the grid-integration twins in naive.py

MC_DRAWS = 400_000
# The Monte Carlo estimate's standard error is at most 0.0008 (at p = 0.5), so 0.003 is about
# four of them with a fixed seed; swapping two arms or dropping one moves every case below by
# far more than that.
MC_TOLERANCE = 0.003


def beta_prob_best(alpha: ArrayLike, beta: ArrayLike, live: ArrayLike) -> NDArray[np.float64]:
    out = np.full(len(np.asarray(alpha)), np.nan)
    _prob_best.beta_prob_best(
        np.asarray(alpha, dtype=float), np.asarray(beta, dtype=float), np.asarray(live), out
    )
    return out


def normal_prob_best(means: ArrayLike, sds: ArrayLike, live: ArrayLike) -> NDArray[np.float64]:
    out = np.full(len(np.asarray(means)), np.nan)
    _prob_best.normal_prob_best(
        np.asarray(means, dtype=float), np.asarray(sds, dtype=float), np.asarray(live), out
    )
    return out


def winning_fractions(
    draws: NDArray[np.float64], live: NDArray[np.bool_], largest: bool = True
) -> NDArray[np.float64]:
    """Per arm, the fraction of columns where its (live) draw is the largest (or smallest)."""
    rows = np.flatnonzero(live)
    pick = np.argmax if largest else np.argmin
    wins = np.bincount(pick(draws[rows], axis=0), minlength=rows.size)
    out = np.zeros(len(live))
    out[rows] = wins / draws.shape[1]
    return out


def beta_monte_carlo(alpha: ArrayLike, beta: ArrayLike, live: ArrayLike) -> NDArray[np.float64]:
    # Draws of 1 - theta ~ Beta(beta, alpha), and the smallest wins: draws of theta itself from
    # a posterior crowding 1 would round to exactly 1.0 and tie.
    rng = np.random.default_rng(2024)
    alpha, beta = np.asarray(alpha, dtype=float), np.asarray(beta, dtype=float)
    draws = np.stack([rng.beta(b, a, MC_DRAWS) for a, b in zip(alpha, beta, strict=True)])
    return winning_fractions(draws, np.asarray(live), largest=False)


def normal_monte_carlo(means: ArrayLike, sds: ArrayLike, live: ArrayLike) -> NDArray[np.float64]:
    rng = np.random.default_rng(2025)
    means, sds = np.asarray(means, dtype=float), np.asarray(sds, dtype=float)
    draws = means[:, None] + sds[:, None] * rng.standard_normal((len(means), MC_DRAWS))
    return winning_fractions(draws, np.asarray(live))


def contest(trials: list[float], rates: list[float], prior: float = 1.0) -> tuple[list[float], ...]:
    """Beta posteriors (and all arms live) for arms with these trials and success rates."""
    successes = np.round(np.array(trials) * np.array(rates))
    alpha = prior + successes
    beta = prior + np.array(trials) - successes
    return list(alpha), list(beta), [True] * len(trials)


BETA_CASES = {
    "2 arms, small counts": ([2.0, 4.0], [3.0, 2.0], [True, True]),
    "10 arms, small counts": (
        [1.0, 2.0, 3.0, 5.0, 1.0, 4.0, 2.0, 3.0, 5.0, 1.0],
        [1.0, 3.0, 2.0, 4.0, 5.0, 1.0, 2.0, 5.0, 1.0, 2.0],
        [True] * 10,
    ),
    "2 arms, 1e5 trials, 5.0% vs 5.1%": contest([1e5, 1e5], [0.050, 0.051]),
    "10 arms, 1e5 to 1e7 trials, rates within 0.17 points": contest(
        [1e5, 3e5, 1e6, 3e6, 1e7, 1e5, 1e6, 1e7, 2e6, 5e5],
        [0.0510, 0.0505, 0.0502, 0.0500, 0.05005, 0.0512, 0.0503, 0.04995, 0.0501, 0.0508],
    ),
    "narrow posterior inside wide ones": contest([1e7, 200.0, 50.0], [0.5, 0.52, 0.45]),
    "one dominant arm": ([900.0, 100.0, 120.0, 2.0], [100.0, 900.0, 880.0, 3.0], [True] * 4),
    "identical arms": ([30.0, 30.0, 20.0, 30.0], [70.0, 70.0, 80.0, 70.0], [True] * 4),
    "best arms not live": (
        [500.0, 60.0, 50.0, 45.0, 70.0],
        [500.0, 40.0, 50.0, 55.0, 30.0],
        [False, True, True, True, False],
    ),
    # A small prior and no failures: some 8% of the mass lies within 1e-15 of 1, closer than
    # doubles near 1 can tell apart unless measured from 1.
    "prior 0.1, every trial a success": contest([2000.0, 20000.0, 500.0], [1.0, 1.0, 1.0], 0.1),
    "prior 0.5, rates near 0": contest([1000.0, 5000.0, 300.0], [0.0, 0.0002, 0.0], 0.5),
}


@pytest.mark.parametrize(("alpha", "beta", "live"), BETA_CASES.values(), ids=BETA_CASES.keys())
def test_beta_prob_best_matches_monte_carlo(
    alpha: list[float], beta: list[float], live: list[bool]
) -> None:
    prob = beta_prob_best(alpha, beta, live)
    np.testing.assert_allclose(prob, beta_monte_carlo(alpha, beta, live), atol=MC_TOLERANCE)
    assert math.isclose(prob.sum(), 1.0, rel_tol=1e-12)
    assert np.all(prob[~np.array(live)] == 0.0)


@pytest.mark.parametrize(
    "name", ["2 arms, small counts", "one dominant arm", "identical arms", "best arms not live"]
)
def test_beta_prob_best_matches_naive_grid_integration(name: str) -> None:
    # The naive grid needs alpha, beta > 1 (no density infinite or cut off at 0 or 1).
    alpha, beta, live = (np.array(values) for values in BETA_CASES[name])
    expected = naive.beta_prob_best(alpha, beta, live)
    np.testing.assert_allclose(beta_prob_best(alpha, beta, live), expected, atol=1e-6)


def test_beta_prob_best_with_huge_counts_matches_the_normal_limit() -> None:
    # 1e10 trials each, rates 1e-5 apart: past 1e9 successes the kernel itself goes normal,
    # so this checks the switch; Beta skewness at these counts is below 1e-5.
    alpha, beta = np.array([4.0001e9, 4e9]), np.array([5.9999e9, 6e9])
    mean = alpha / (alpha + beta)
    sd = np.sqrt(mean * (1 - mean) / (alpha + beta + 1))
    expected = naive.normal_prob_first_beats_second(mean[0], sd[0], mean[1], sd[1])
    prob = beta_prob_best(alpha, beta, [True, True])
    assert abs(prob[0] - expected) < 1e-5 and math.isclose(prob.sum(), 1.0)


NORMAL_CASES = {
    "2 arms": ([1.0, 1.2], [0.1, 0.1], [True, True]),
    "10 arms, tiny sds": (
        0.5 + 1e-6 * np.array([0.0, 1.0, 2.0, 0.5, -1.0, 1.5, 2.5, 0.0, 3.0, 2.0]),
        1e-6 * np.array([1.0, 0.5, 1.0, 2.0, 3.0, 0.3, 0.2, 0.1, 1.5, 1.0]),
        [True] * 10,
    ),
    "large sds": ([0.0, 1.0, -3.0], [100.0, 50.0, 200.0], [True] * 3),
    "narrow inside wide": ([0.5, 0.52, 0.45, 0.9], [1e-5, 0.1, 0.05, 0.01], [True] * 3 + [False]),
    "identical arms": ([0.3, 0.3, 0.31], [0.02, 0.02, 0.01], [True] * 3),
}


@pytest.mark.parametrize(("means", "sds", "live"), NORMAL_CASES.values(), ids=NORMAL_CASES.keys())
def test_normal_prob_best_matches_monte_carlo_and_grid_integration(
    means: list[float], sds: list[float], live: list[bool]
) -> None:
    prob = normal_prob_best(means, sds, live)
    np.testing.assert_allclose(prob, normal_monte_carlo(means, sds, live), atol=MC_TOLERANCE)
    rows = np.flatnonzero(live)
    expected, _ = naive.normal_best_and_loss(np.array(means)[rows], np.array(sds)[rows])
    np.testing.assert_allclose(prob[rows], expected, atol=1e-6)
    assert math.isclose(prob.sum(), 1.0, rel_tol=1e-12) and np.all(prob[~np.array(live)] == 0)


def test_prob_best_of_one_live_arm_is_exactly_one_and_of_none_all_zero() -> None:
    live = [False, True, False]
    np.testing.assert_array_equal(beta_prob_best([9.0, 2.0, 5.0], [1.0, 8.0, 5.0], live), [0, 1, 0])
    np.testing.assert_array_equal(
        normal_prob_best([0.9, 0.2, 0.5], [0.1, 0.1, 0.1], live), [0, 1, 0]
    )
    np.testing.assert_array_equal(beta_prob_best([2.0, 3.0], [2.0, 3.0], [False, False]), [0, 0])
    np.testing.assert_array_equal(normal_prob_best([0.1, 0.2], [1.0, 1.0], [False, False]), [0, 0])


@pytest.mark.parametrize(
    ("alpha", "beta"),
    [
        ([1.0] * 4, [1.0] * 4),  # untried arms, uniform posteriors
        ([0.5] * 3, [0.5] * 3),  # Jeffreys prior, densities infinite at both ends
        ([5001.0] * 7, [95001.0] * 7),
        ([3e9] * 2, [7e9] * 2),
    ],
)
def test_identical_beta_posteriors_share_exactly_evenly(
    alpha: list[float], beta: list[float]
) -> None:
    prob = beta_prob_best(alpha, beta, [True] * len(alpha))
    assert np.all(prob == prob[0]) and math.isclose(prob[0], 1 / len(alpha), rel_tol=1e-15)


def test_identical_normal_posteriors_share_exactly_evenly_even_with_sd_zero() -> None:
    prob = normal_prob_best([0.4, 0.7, 0.7, 0.7], [0.2, 0.0, 0.0, 0.0], [True] * 4)
    assert prob[1] == prob[2] == prob[3] and math.isclose(prob.sum(), 1.0)
    # The sd-0 arms beat the first one unless it draws above 0.7: Phi(-1.5) = 0.0668.
    assert abs(prob[0] - 0.0668072) < 1e-6


def test_an_arm_that_cannot_win_gets_exactly_zero() -> None:
    prob = beta_prob_best([5.0, 5000.0, 5200.0], [995.0, 95000.0, 94800.0], [True] * 3)
    assert prob[0] == 0.0 and prob[1] > 0.0
    prob = normal_prob_best([0.1, 0.5, 0.51], [0.01, 0.01, 0.01], [True] * 3)
    assert prob[0] == 0.0 and prob[1] > 0.0


def test_prob_best_follows_the_arms_when_they_are_reordered() -> None:
    alpha, beta, live = (np.array(values) for values in BETA_CASES["10 arms, small counts"])
    prob = beta_prob_best(alpha, beta, live)
    order = np.random.default_rng(4).permutation(len(alpha))
    np.testing.assert_allclose(
        beta_prob_best(alpha[order], beta[order], live), prob[order], atol=1e-12
    )
    means, sds, live = (np.array(values) for values in NORMAL_CASES["10 arms, tiny sds"])
    prob = normal_prob_best(means, sds, live)
    np.testing.assert_allclose(
        normal_prob_best(means[order], sds[order], live), prob[order], atol=1e-12
    )


@pytest.mark.parametrize(("a", "b"), [(2.0, 5.0), (30.0, 70.0), (1.5, 3.0), (49.0, 400.0)])
def test_beta_cdf_matches_naive_grid_integration(a: float, b: float) -> None:
    x = np.linspace(0.0, 1.0, 41)
    expected = np.interp(x, naive.GRID, naive.beta_cdf(a, b))
    got = np.array([_prob_best.beta_cdf(a, b, value) for value in x])
    np.testing.assert_allclose(got, expected, atol=1e-6)


def arcsine_cdf(x: float) -> float:
    """The Beta(0.5, 0.5) CDF, from whichever end x is nearer (asin is ill-conditioned at 1)."""
    if x > 0.5:
        return 1 - 2 / math.pi * math.asin(math.sqrt(1 - x))
    return 2 / math.pi * math.asin(math.sqrt(x))


@pytest.mark.parametrize(
    ("a", "b", "cdf"),
    [
        (1.0, 1.0, lambda x: x),
        (3.0, 1.0, lambda x: x**3),
        (0.3, 1.0, lambda x: x**0.3),
        (1.0, 0.4, lambda x: -math.expm1(0.4 * math.log1p(-x)) if x < 1 else 1.0),
        (0.5, 0.5, arcsine_cdf),
    ],
)
def test_beta_cdf_matches_closed_forms(a: float, b: float, cdf: Callable[[float], float]) -> None:
    for x in [0.0, 1e-300, 1e-12, 0.01, 0.3, 0.5, 0.77, 0.999, 1.0 - 1e-12, 1.0]:
        assert abs(_prob_best.beta_cdf(a, b, x) - cdf(x)) < 1e-12, (x, cdf(x))


@pytest.mark.parametrize(
    ("a", "b"), [(2.0, 3.0), (0.5, 1e3), (40.0, 1e5), (3.0, 2e6), (1e6, 1e6), (7.5, 1e9)]
)
def test_log_beta_function_matches_lgamma_and_stays_exact_for_one_huge_parameter(
    a: float, b: float
) -> None:
    expected = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    # lgamma differences of huge arguments keep only about 1e-16 of the arguments' size.
    tolerance = 1e-12 + 1e-15 * (a + b) * math.log(a + b)
    assert abs(_prob_best.log_beta_function(a, b) - expected) < tolerance
    # B(1, b) = 1 / b exactly, even where the lgamma differences would lose 2e-3.
    assert math.isclose(_prob_best.log_beta_function(1.0, 1e12), -math.log(1e12), rel_tol=1e-15)
