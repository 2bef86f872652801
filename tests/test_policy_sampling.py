"""Random kernels against probabilities computed independently (grid integration, closed forms).

Every test seeds numba's generator first, so each run sees the same draws; the margins are
about five standard errors, so a correct kernel passes for essentially any seed while a
kernel that, say, picks arms uniformly misses by dozens of standard errors.
"""

import math

import naive
import numpy as np
import pytest

from policies import _kernels

N_DRAWS = 100_000


def assert_frequency_near(observed: float, expected: float, n: int, margin: float = 0.01) -> None:
    standard_error = math.sqrt(max(expected * (1 - expected), 1e-12) / n)
    assert abs(observed - expected) < margin, (observed, expected)
    assert abs(observed - expected) < 5 * standard_error, (observed, expected, standard_error)


def test_thompson_choice_frequencies_match_integrated_prob_best() -> None:
    alpha, beta = np.array([60.0, 45.0]), np.array([40.0, 55.0])
    live = np.ones(2, dtype=bool)
    expected = naive.beta_prob_best(alpha, beta, live)
    _kernels.seed(1)
    picks = np.empty(N_DRAWS, dtype=np.int64)
    _kernels.thompson_choose_many(alpha, beta, live, picks)
    counts = np.bincount(picks, minlength=2)
    assert counts.sum() == N_DRAWS
    for arm in range(2):
        assert_frequency_near(counts[arm] / N_DRAWS, expected[arm], N_DRAWS)


def test_single_thompson_choices_match_integrated_prob_best() -> None:
    alpha, beta = np.array([30.0, 28.0, 9.0]), np.array([20.0, 22.0, 11.0])
    live = np.ones(3, dtype=bool)
    expected = naive.beta_prob_best(alpha, beta, live)
    _kernels.seed(2)
    n = 20_000
    counts = np.bincount(
        [_kernels.thompson_choose(alpha, beta, live) for _ in range(n)], minlength=3
    )
    for arm in range(3):
        assert_frequency_near(counts[arm] / n, expected[arm], n, margin=0.02)


def test_thompson_never_chooses_an_arm_that_is_not_live() -> None:
    # The retired arm's posterior is far better, so any leak would show up at once.
    alpha, beta = np.array([900.0, 20.0, 25.0]), np.array([100.0, 80.0, 75.0])
    live = np.array([False, True, True])
    _kernels.seed(3)
    picks = np.empty(10_000, dtype=np.int64)
    _kernels.thompson_choose_many(alpha, beta, live, picks)
    assert set(np.unique(picks)) <= {1, 2}
    assert _kernels.thompson_choose(alpha, beta, np.zeros(3, dtype=bool)) == -1


@pytest.mark.parametrize(
    ("alpha", "beta", "live"),
    [
        ([60.0, 45.0], [40.0, 55.0], [True, True]),
        ([30.0, 28.0, 9.0], [20.0, 22.0, 11.0], [True, True, True]),
        ([30.0, 28.0, 9.0, 50.0], [20.0, 22.0, 11.0, 5.0], [True, True, True, False]),
        ([2.0, 3.0, 2.5], [2.0, 3.0, 2.0], [True, True, True]),
    ],
)
def test_beta_prob_best_matches_integrated_prob_best(
    alpha: list[float], beta: list[float], live: list[bool]
) -> None:
    alpha_array, beta_array, live_array = np.array(alpha), np.array(beta), np.array(live)
    expected = naive.beta_prob_best(alpha_array, beta_array, live_array)
    _kernels.seed(4)
    out = np.empty(len(alpha))
    _kernels.beta_prob_best(alpha_array, beta_array, live_array, N_DRAWS, out)
    assert math.isclose(out.sum(), 1.0)
    assert np.all(out[~live_array] == 0.0)
    for arm in np.flatnonzero(live_array):
        assert_frequency_near(out[arm], expected[arm], N_DRAWS)


@pytest.mark.parametrize(
    ("m1", "s1", "m2", "s2"),
    [(0.50, 0.03, 0.45, 0.04), (10.0, 2.0, 10.5, 1.0), (0.2, 0.01, 0.2, 0.05)],
)
def test_normal_prob_best_matches_closed_form(m1: float, s1: float, m2: float, s2: float) -> None:
    expected = naive.normal_prob_first_beats_second(m1, s1, m2, s2)
    _kernels.seed(5)
    out = np.empty(3)
    live = np.array([True, True, False])
    _kernels.normal_prob_best(np.array([m1, m2, 99.0]), np.array([s1, s2, 1.0]), live, N_DRAWS, out)
    assert_frequency_near(out[0], expected, N_DRAWS)
    assert math.isclose(out[0] + out[1], 1.0) and out[2] == 0.0


def test_normal_prob_best_with_zero_sds_uses_the_means() -> None:
    out = np.empty(3)
    live = np.ones(3, dtype=bool)
    _kernels.seed(6)
    _kernels.normal_prob_best(np.array([1.0, 2.0, 0.5]), np.zeros(3), live, 1000, out)
    np.testing.assert_array_equal(out, [0.0, 1.0, 0.0])
    # Exact ties are broken at random, so equal sure means split the wins evenly.
    _kernels.normal_prob_best(np.array([2.0, 2.0, 0.5]), np.zeros(3), live, N_DRAWS, out)
    assert_frequency_near(out[0], 0.5, N_DRAWS)
    assert out[2] == 0.0


def test_categorical_choice_frequencies_match_shares() -> None:
    shares = np.array([0.5, 0.3, 0.0, 0.15, 0.05])
    cum_shares = naive.cumulative(shares)
    _kernels.seed(8)
    picks = np.empty(N_DRAWS, dtype=np.int64)
    _kernels.categorical_choose_many(cum_shares, picks)
    counts = np.bincount(picks, minlength=5)
    assert counts[2] == 0
    positive = shares > 0
    expected = shares[positive] * N_DRAWS
    chi_square = float(np.sum((counts[positive] - expected) ** 2 / expected))
    # 3 degrees of freedom: P(chi_square > 35) is about 1e-7; picking uniformly gives ~10^5.
    assert chi_square < 35.0, chi_square


def test_single_categorical_choices_match_shares() -> None:
    cum_shares = naive.cumulative(np.array([0.0, 0.7, 0.3]))
    _kernels.seed(9)
    n = 20_000
    counts = np.bincount([_kernels.categorical_choose(cum_shares) for _ in range(n)], minlength=3)
    assert counts[0] == 0
    assert_frequency_near(counts[1] / n, 0.7, n)


def test_categorical_choose_falls_back_to_the_last_positive_share() -> None:
    # Shares that sum to almost nothing: nearly every u lands past the end.
    cum_shares = np.array([0.0, 1e-300, 1e-300, 1e-300])
    picks = np.empty(1000, dtype=np.int64)
    _kernels.categorical_choose_many(cum_shares, picks)
    assert np.all(picks == 1)


@pytest.mark.parametrize(("a", "b"), [(60.0, 40.0), (2.0, 30.0), (1.5, 1.5), (300.0, 20.0)])
@pytest.mark.parametrize("level", [0.95, 0.5])
def test_beta_intervals_match_integrated_quantiles(a: float, b: float, level: float) -> None:
    tail = (1 - level) / 2
    expected_low = naive.beta_quantile(a, b, tail)
    expected_high = naive.beta_quantile(a, b, 1 - tail)
    _kernels.seed(10)
    low, high = np.empty(2), np.empty(2)
    n_draws = 40_000
    _kernels.beta_intervals(np.array([a, 1.0]), np.array([b, 1.0]), level, n_draws, low, high)
    # Standard error of a sample quantile: sqrt(p (1 - p) / n) / density at the quantile.
    for got, want, p in [(low[0], expected_low, tail), (high[0], expected_high, 1 - tail)]:
        density = float(naive.beta_pdf(a, b, np.array([want]))[0])
        standard_error = math.sqrt(p * (1 - p) / n_draws) / density
        assert abs(got - want) < 5 * standard_error, (got, want, standard_error)
    # Beta(1, 1) is uniform: the interval is simply [tail, 1 - tail].
    assert abs(low[1] - tail) < 0.01 and abs(high[1] - (1 - tail)) < 0.01


def test_seeding_makes_draws_reproducible() -> None:
    alpha, beta, live = np.array([3.0, 4.0, 5.0]), np.array([5.0, 4.0, 3.0]), np.ones(3, dtype=bool)
    runs = []
    for _ in range(2):
        _kernels.seed(7)
        picks = np.empty(1000, dtype=np.int64)
        _kernels.thompson_choose_many(alpha, beta, live, picks)
        runs.append(picks)
    np.testing.assert_array_equal(runs[0], runs[1])
    _kernels.seed(8)
    _kernels.thompson_choose_many(alpha, beta, live, picks)
    assert not np.array_equal(picks, runs[0])
