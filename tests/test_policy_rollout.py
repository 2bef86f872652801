"""Rolling a model version out safely: floors and caps on shares, sticky units, guardrails,
promotion readiness and Thompson sampling for continuous rewards.

Deterministic kernels are checked against the naive twins in naive.py. Monte Carlo ones are
seeded (policies.seed) and checked against grid integration or closed forms, with margins of
about five standard errors: a correct kernel passes for essentially any seed, a broken one
misses by far more.
"""

import hashlib
import math
from collections.abc import Callable
from functools import partial

import naive
import numpy as np
import pytest
from numpy.typing import NDArray

import policies
from policies import (
    MODE_CATEGORICAL,
    GaussianThompson,
    _kernels,
    arm_salts,
    choose_many,
    choose_sticky,
    choose_sticky_many,
    constrain_shares,
    constrained_allocation,
    make_policy,
    unit_hash,
)


def assert_near(observed: float, expected: float, standard_error: float, margin: float) -> None:
    assert abs(observed - expected) < margin, (observed, expected)
    assert abs(observed - expected) < 5 * max(standard_error, 1e-9), (
        observed,
        expected,
        standard_error,
    )


def bernoulli_se(p: float, n: int) -> float:
    return math.sqrt(max(p * (1 - p), 1e-12) / n)


# --- Floors and caps ---------------------------------------------------------------------------

Bounds = tuple[NDArray[np.float64], NDArray[np.bool_], NDArray[np.float64], NDArray[np.float64]]


def random_bounds(rng: np.random.Generator) -> Bounds:
    """Shares with zeros (one-hot like UCB, too), floors and caps often infeasible or pinned."""
    n = int(rng.integers(1, 9))
    live = rng.random(n) < 0.8
    live[rng.integers(n)] = True
    shares = rng.dirichlet(np.full(n, 0.7)) * (rng.random(n) < 0.7)
    if rng.random() < 0.2:
        shares = np.zeros(n)
        shares[rng.integers(n)] = 1.0
    shares[~live] = 0.0
    if shares.sum() == 0:
        shares[np.flatnonzero(live)[0]] = 1.0
    shares /= shares.sum()
    floor = rng.random(n) * (rng.random(n) < 0.5) * rng.choice([0.3, 1.0])
    cap = floor + (1 - floor) * rng.random(n) * rng.choice([0.5, 1.0])
    cap[rng.random(n) < 0.3] = 1.0
    pinned = rng.random(n) < 0.1
    cap[pinned] = floor[pinned]
    return shares, live, floor, cap


def test_constrain_shares_matches_naive_on_random_inputs() -> None:
    rng = np.random.default_rng(2024)
    for _ in range(400):
        shares, live, floor, cap = random_bounds(rng)
        out = constrain_shares(shares, live, floor, cap)
        np.testing.assert_allclose(out, naive.constrain_shares(shares, live, floor, cap), atol=1e-9)
        assert math.isclose(out.sum(), 1.0, rel_tol=1e-12)
        assert np.all(out[~live] == 0.0)
        if floor[live].sum() <= 1 <= cap[live].sum():
            assert np.all(out[live] >= floor[live] - 1e-15)
            assert np.all(out[live] <= cap[live] + 1e-15)


def test_constrain_shares_keeps_proportions_of_arms_inside_their_bounds() -> None:
    rng = np.random.default_rng(5)
    for _ in range(100):
        shares, live, floor, cap = random_bounds(rng)
        out = constrain_shares(shares, live, floor, cap)
        inside = live & (shares > 0) & (out > floor + 1e-12) & (out < cap - 1e-12)
        # One multiplier for every free arm: that is what "exact" water-filling means.
        if inside.sum() >= 2:
            ratios = out[inside] / shares[inside]
            np.testing.assert_allclose(ratios, ratios[0], rtol=1e-12)


ALL_LIVE = np.ones(4, dtype=bool)


@pytest.mark.parametrize(
    ("shares", "live", "floor", "cap", "expected"),
    [
        pytest.param(
            [1.0, 0.0, 0.0, 0.0], ALL_LIVE, [0.0] * 4, [0.05, 1, 1, 1],
            [0.05, 0.95 / 3, 0.95 / 3, 0.95 / 3], id="ucb one-hot capped: rest spread evenly",
        ),
        pytest.param(
            [1.0, 0.0, 0.0, 0.0], ALL_LIVE, [0.0] * 4, [0.05, 0.1, 1, 1],
            [0.05, 0.1, 0.425, 0.425], id="even spread respects caps",
        ),
        pytest.param(
            [1.0, 0.0, 0.0, 0.0], ALL_LIVE, [0, 0.5, 0, 0], [0.05, 1, 1, 1],
            [0.05, 0.5, 0.225, 0.225], id="even spread respects floors",
        ),
        pytest.param(
            [0.7, 0.2, 0.1, 0.0], ALL_LIVE, [0.0] * 4, [1.0] * 4,
            [0.7, 0.2, 0.1, 0.0], id="unconstrained: unchanged",
        ),
        pytest.param(
            [0.7, 0.2, 0.1, 0.0], ALL_LIVE, [0, 0, 0.2, 0.05], [0.5, 1, 1, 1],
            [0.5, 0.25, 0.2, 0.05], id="cap on the leader, floors on the tail",
        ),
        pytest.param(
            [0.5, 0.5, 0.0, 0.0], ALL_LIVE, [0.4, 0.4, 0.4, 0.0], [1.0] * 4,
            [1 / 3, 1 / 3, 1 / 3, 0.0], id="floors sum above 1: scaled down",
        ),
        pytest.param(
            [0.5, 0.5, 0.0, 0.0], ALL_LIVE, [0.0] * 4, [0.1, 0.3, 0.2, 0.2],
            [0.125, 0.375, 0.25, 0.25], id="caps sum below 1: proportional to caps",
        ),
        pytest.param(
            [0.5, 0.5, 0.0, 0.0], ALL_LIVE, [0.0] * 4, [0.0] * 4,
            [0.25] * 4, id="all caps 0: even split",
        ),
        pytest.param(
            [0.6, 0.0, 0.4, 0.0], [True, False, True, False], [0.5, 0.9, 0, 0], [1, 1, 0.3, 0.2],
            [0.7, 0.0, 0.3, 0.0], id="bounds of arms not live are ignored",
        ),
        pytest.param(
            [0.0] * 4, np.zeros(4, dtype=bool), [0.0] * 4, [1.0] * 4, [0.0] * 4, id="no live arm"
        ),
        pytest.param(
            [0.9, 0.1, 0.0, 0.0], ALL_LIVE, [0.0, 0.2, 0.0, 0.0], [1, 0.2, 1, 1],
            [0.8, 0.2, 0.0, 0.0], id="pinned arm (floor = cap)",
        ),
    ],
)  # fmt: skip
def test_constrain_shares_edge_cases(
    shares: list[float],
    live: NDArray[np.bool_],
    floor: list[float],
    cap: list[float],
    expected: list[float],
) -> None:
    out = constrain_shares(shares, live, floor, cap)
    np.testing.assert_allclose(out, expected, atol=1e-12)
    np.testing.assert_allclose(
        out, naive.constrain_shares(np.array(shares), live, np.array(floor), np.array(cap)),
        atol=1e-9,
    )  # fmt: skip


def test_constrained_thompson_allocation_serves_within_the_bounds() -> None:
    policies.seed(31)
    trials = np.array([400.0, 400.0, 400.0, 0.0])
    successes = np.array([240.0, 120.0, 100.0, 0.0])
    live = np.array([True, True, True, False])
    thompson = make_policy("thompson").allocate(trials, successes, live, np.ones(4))
    assert thompson.shares[0] > 0.99
    floor, cap = np.array([0.0, 0.1, 0.1, 0.3]), np.array([0.5, 1.0, 1.0, 1.0])
    allocation = constrained_allocation(thompson, floor, cap)
    assert allocation.mode == MODE_CATEGORICAL
    # Arm 0 capped; arms 1 and 2 had almost no P(best), so they take the rest as their floors
    # plus an even split (their tiny shares scaled up would exceed 1 long before that).
    expected = constrain_shares(thompson.shares, live, floor, cap)
    np.testing.assert_array_equal(allocation.shares, expected)
    np.testing.assert_allclose(allocation.shares, [0.5, 0.25, 0.25, 0.0], atol=1e-3)
    np.testing.assert_allclose(allocation.cum_shares, np.cumsum(allocation.shares))
    np.testing.assert_array_equal(allocation.live, live)
    with pytest.raises(ValueError, match="read-only"):
        allocation.shares[0] = 1.0
    picks = choose_many(allocation, 100_000)
    assert not np.any(picks == 3)
    assert_near(float(np.mean(picks == 0)), 0.5, bernoulli_se(0.5, 100_000), 0.01)


# --- Sticky assignment -------------------------------------------------------------------------


def test_unit_hash_is_keyed_blake2b_and_stable_across_versions() -> None:
    h = unit_hash("checkout", "user-42")
    assert h == 3030827276852863978  # pinned: a change would reshuffle every running experiment
    digest = hashlib.blake2b(b"user-42", digest_size=8, key=b"checkout").digest()
    assert h == int.from_bytes(digest, "little")
    assert unit_hash("checkout", "user-43") != h
    assert unit_hash("search", "user-42") != h
    long_a, long_b = "x" * 64 + "a", "x" * 64 + "b"  # same first 64 bytes
    assert unit_hash(long_a, "user-42") != unit_hash(long_b, "user-42")
    assert all(0 <= unit_hash("e", str(i)) < 2**64 for i in range(100))


def test_arm_salts_depend_on_the_arm_name_only() -> None:
    salts = arm_salts(["v1", "v2"])
    assert salts.dtype == np.uint64 and not salts.flags.writeable
    assert list(salts) == [7862868647797573901, 3163040872091529335]  # pinned, as above
    grown = arm_salts(["v0", "v2", "v1", "v3"])
    assert grown[2] == salts[0] and grown[1] == salts[1]
    assert len(set(grown.tolist())) == 4


def test_sticky_index_matches_naive() -> None:
    rng = np.random.default_rng(17)
    for _ in range(200):
        n = int(rng.integers(1, 8))
        shares = rng.dirichlet(np.ones(n)) * (rng.random(n) < 0.8)
        salts = rng.integers(0, 2**64, n, dtype=np.uint64)
        h = int(rng.integers(0, 2**64, dtype=np.uint64))
        assert _kernels.sticky_index(shares, salts, np.uint64(h)) == naive.sticky_index(
            shares, salts, h
        )
    assert _kernels.sticky_index(np.zeros(3), np.zeros(3, np.uint64), np.uint64(5)) == -1


def test_sticky_assignment_is_proportional_and_moves_the_fewest_units() -> None:
    """Arm 0 grows from 0.1 to 0.2, the others shrink in proportion: only 10% of units move,
    all of them to arm 0, and none between the other arms."""
    salts = arm_salts(["control", "v2", "v3", "v4"])
    hashes = np.random.default_rng(99).integers(0, 2**64, 200_000, dtype=np.uint64)
    live = np.ones(4, dtype=bool)
    before = policies.FixedWeights().allocate(
        np.zeros(4), np.zeros(4), live, np.array([0.1, 0.3, 0.3, 0.3])
    )
    after = policies.FixedWeights().allocate(
        np.zeros(4), np.zeros(4), live, np.array([0.2, 0.8 / 3, 0.8 / 3, 0.8 / 3])
    )
    old = choose_sticky_many(before, salts, hashes)
    new = choose_sticky_many(after, salts, hashes)
    for arm, share in enumerate(before.shares):
        assert abs(np.mean(old == arm) - share) < 0.005
    for arm, share in enumerate(after.shares):
        assert abs(np.mean(new == arm) - share) < 0.005
    moved = old != new
    assert abs(moved.mean() - 0.1) < 0.005
    assert np.all(new[moved] == 0)  # moves only go to the arm that grew
    assert np.all(old[moved] != 0)


def test_sticky_choice_ignores_the_random_seed_and_matches_the_batch() -> None:
    allocation = policies.FixedWeights().allocate(
        np.zeros(3), np.zeros(3), np.array([True, False, True]), np.array([1.0, 5.0, 2.0])
    )
    salts = arm_salts(["a", "b", "c"])
    hashes = [unit_hash("exp", f"user-{i}") for i in range(500)]
    policies.seed(1)
    first = [choose_sticky(allocation, salts, h) for h in hashes]
    policies.seed(2)
    second = [choose_sticky(allocation, salts, h) for h in hashes]
    batch = choose_sticky_many(allocation, salts, np.array(hashes, dtype=np.uint64))
    assert first == second == batch.tolist()
    assert 1 not in first  # the arm that is not live has share 0
    assert choose_sticky(allocation, salts.copy(), hashes[0]) == first[0]  # writable salts too


# --- Guardrails --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alpha_a", "beta_a", "alpha_c", "beta_c", "margin"),
    [
        (31.0, 971.0, 21.0, 981.0, 0.01),  # error rates ~3% vs ~2%: breach by 1 point?
        (31.0, 971.0, 21.0, 981.0, 0.0),
        (5.0, 45.0, 8.0, 42.0, -0.05),
        (60.0, 40.0, 45.0, 55.0, 0.2),  # unlikely breach
    ],
)
def test_prob_exceeds_by_matches_integration(
    alpha_a: float, beta_a: float, alpha_c: float, beta_c: float, margin: float
) -> None:
    expected = naive.beta_prob_exceeds_by(alpha_a, beta_a, alpha_c, beta_c, margin)
    policies.seed(41)
    got = policies.prob_exceeds_by(alpha_a, beta_a, alpha_c, beta_c, margin, draws=20000)
    assert_near(got, expected, bernoulli_se(expected, 20000), 0.015)


@pytest.mark.parametrize(
    ("alpha", "beta", "threshold"),
    [(61.0, 941.0, 0.05), (51.0, 951.0, 0.05), (3.0, 40.0, 0.1), (2.0, 2.0, 0.5), (9.0, 2.0, 0.95)],
)
def test_prob_above_matches_integration(alpha: float, beta: float, threshold: float) -> None:
    expected = naive.beta_prob_above(alpha, beta, threshold)
    policies.seed(42)
    got = policies.prob_above(alpha, beta, threshold, draws=20000)
    assert_near(got, expected, bernoulli_se(expected, 20000), 0.015)


def test_guardrails_over_arms_match_integration() -> None:
    alpha = np.array([21.0, 31.0, 22.0, 90.0, 15.0])
    beta = np.array([981.0, 971.0, 980.0, 10.0, 987.0])
    live = np.array([True, True, True, False, True])
    policies.seed(43)
    exceeds = policies.prob_exceeds_by_many(alpha, beta, 0, 0.005, live, draws=20000)
    above = policies.prob_above_many(alpha, beta, 0.025, live, draws=20000)
    assert exceeds[0] == 0.0 and exceeds[3] == 0.0 and above[3] == 0.0
    for i in [1, 2, 4]:
        want = naive.beta_prob_exceeds_by(alpha[i], beta[i], alpha[0], beta[0], 0.005)
        assert_near(exceeds[i], want, bernoulli_se(want, 20000), 0.015)
    for i in [0, 1, 2, 4]:
        want = naive.beta_prob_above(alpha[i], beta[i], 0.025)
        assert_near(above[i], want, bernoulli_se(want, 20000), 0.015)


# --- Promotion readiness -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mean_x", "sd_x", "mean_y", "sd_y"),
    [(0.50, 0.03, 0.45, 0.04), (10.0, 2.0, 10.5, 1.0), (0.2, 0.01, 0.2, 0.05)],
)
def test_normal_best_and_loss_match_closed_forms(
    mean_x: float, sd_x: float, mean_y: float, sd_y: float
) -> None:
    draws = 50_000
    policies.seed(51)
    prob_best, loss = policies.normal_best_and_loss(
        [mean_x, mean_y, 99.0], [sd_x, sd_y, 1.0], [True, True, False], draws=draws
    )
    p_x = naive.normal_prob_first_beats_second(mean_x, sd_x, mean_y, sd_y)
    assert_near(prob_best[0], p_x, bernoulli_se(p_x, draws), 0.01)
    assert math.isclose(prob_best[0] + prob_best[1], 1.0) and prob_best[2] == 0.0 and loss[2] == 0.0
    spread = math.sqrt(sd_x**2 + sd_y**2)
    for got, want in [
        (loss[0], naive.normal_expected_positive_part(mean_y, sd_y, mean_x, sd_x)),
        (loss[1], naive.normal_expected_positive_part(mean_x, sd_x, mean_y, sd_y)),
    ]:
        # (Y - X)^+ has sd below that of Y - X.
        assert_near(got, want, spread / math.sqrt(draws), 0.01 * spread)


def test_normal_best_and_loss_match_integration_for_three_arms() -> None:
    means, sds = np.array([0.30, 0.32, 0.28]), np.array([0.02, 0.03, 0.01])
    draws = 50_000
    policies.seed(52)
    prob_best, loss = policies.normal_best_and_loss(means, sds, np.ones(3, bool), draws=draws)
    want_best, want_loss = naive.normal_best_and_loss(means, sds)
    for i in range(3):
        assert_near(prob_best[i], want_best[i], bernoulli_se(want_best[i], draws), 0.01)
        assert_near(loss[i], want_loss[i], 0.05 / math.sqrt(draws), 0.002)


@pytest.mark.parametrize(
    ("alpha", "beta", "live"),
    [
        ([60.0, 45.0], [40.0, 55.0], [True, True]),
        ([30.0, 28.0, 9.0, 50.0], [20.0, 22.0, 11.0, 5.0], [True, True, True, False]),
        ([2.0, 3.0, 2.5], [2.0, 3.0, 2.0], [True, True, True]),
    ],
)
def test_beta_best_and_loss_match_integration(
    alpha: list[float], beta: list[float], live: list[bool]
) -> None:
    alpha_array, beta_array, live_array = np.array(alpha), np.array(beta), np.array(live)
    draws = 50_000
    policies.seed(53)
    prob_best, loss = policies.beta_best_and_loss(alpha_array, beta_array, live_array, draws)
    want_best = naive.beta_prob_best(alpha_array, beta_array, live_array)
    want_loss = naive.beta_expected_loss(alpha_array, beta_array, live_array)
    assert np.all(prob_best[~live_array] == 0.0) and np.all(loss[~live_array] == 0.0)
    assert math.isclose(prob_best.sum(), 1.0)
    # Var(max_j theta_j) <= sum of the live variances (Efron-Stein), so Var(max - theta_i) is at
    # most 2 * (that sum + Var(theta_i)) <= 4 * that sum.
    variances = (
        alpha_array
        * beta_array
        / ((alpha_array + beta_array) ** 2 * (alpha_array + beta_array + 1))
    )
    loss_sd = 2 * math.sqrt(float(variances[live_array].sum()))
    for i in np.flatnonzero(live_array):
        assert_near(prob_best[i], want_best[i], bernoulli_se(want_best[i], draws), 0.01)
        assert_near(loss[i], want_loss[i], loss_sd / math.sqrt(draws), 0.01)


# --- Gaussian Thompson sampling ----------------------------------------------------------------


def test_gaussian_posteriors_follow_the_conjugate_update() -> None:
    # Arm 0: rewards 0.2, 0.4, 0.6, 0.8 -> n 4, sum 2.0, sum of squares 1.2, sample variance
    # (1.2 - 2.0**2 / 4) / 3 = 0.0666..; prior N(0.5, 0.5^2) has precision 4.
    # Arm 1: one reward (variance 0.25). Arm 2: ten equal rewards (variance floored at 1e-4).
    means, sds = policies.gaussian_posteriors(
        [4.0, 1.0, 10.0, 0.0], [2.0, 0.9, 3.0, 0.0], [1.2, 0.81, 0.9, 0.0], 0.5, 0.5
    )
    variance = 0.2 / 3
    precisions = [4 + 4 / variance, 4 + 1 / 0.25, 4 + 10 / 1e-4, 4.0]
    expected_means = [
        (0.5 * 4 + 2.0 / variance) / precisions[0],
        (0.5 * 4 + 0.9 / 0.25) / precisions[1],
        (0.5 * 4 + 3.0 / 1e-4) / precisions[2],
        0.5,
    ]
    np.testing.assert_allclose(means, expected_means, rtol=1e-12)
    np.testing.assert_allclose(sds, [1 / math.sqrt(p) for p in precisions], rtol=1e-12)
    assert means[0] == pytest.approx(0.5) and means[1] == pytest.approx(0.7)


def test_gaussian_posteriors_without_sum_squares_use_a_bernoulli_variance() -> None:
    means, sds = policies.gaussian_posteriors([100.0, 50.0], [30.0, 50.0], None, 0.2, 0.1)
    variances = [0.3 * 0.7, 1e-4]  # m (1 - m), floored when every reward was 1
    precisions = [100 + 100 / variances[0], 100 + 50 / variances[1]]
    np.testing.assert_allclose(
        means,
        [(20 + 30 / variances[0]) / precisions[0], (20 + 50 / variances[1]) / precisions[1]],
        rtol=1e-12,
    )
    np.testing.assert_allclose(sds, 1 / np.sqrt(precisions), rtol=1e-12)


def test_gaussian_thompson_concentrates_on_the_clearly_better_arm() -> None:
    policy = make_policy("gaussian_thompson", prior_mean=0.5, prior_sd=0.5, share_draws=4096)
    assert isinstance(policy, GaussianThompson)
    n = np.array([500.0, 500.0, 500.0])
    mean = np.array([0.40, 0.55, 0.45])
    sum_squares = n * (mean**2 + 0.04)  # reward sd 0.2 around each mean
    live = np.array([True, True, False])
    policies.seed(61)
    allocation = policy.allocate(n, n * mean, live, np.ones(3), sum_squares)
    assert allocation.mode == MODE_CATEGORICAL
    assert allocation.shares[1] > 0.99 and allocation.shares[2] == 0.0
    assert math.isclose(allocation.shares.sum(), 1.0)
    # Smoothed like ThompsonSampling: the loser never won a draw, and still keeps 0.5 of one.
    assert allocation.shares[0] == pytest.approx(0.5 / (4096 + 1.0))
    with pytest.raises(ValueError, match="read-only"):
        allocation.shares[0] = 1.0


def test_gaussian_thompson_splits_evenly_on_equal_data() -> None:
    policy = GaussianThompson(share_draws=100_000)
    n, total, squares = np.full(3, 200.0), np.full(3, 90.0), np.full(3, 50.0)
    policies.seed(62)
    allocation = policy.allocate(n, total, np.ones(3, bool), np.ones(3), squares)
    np.testing.assert_allclose(allocation.shares, 1 / 3, atol=0.01)
    # Without sum_squares, and for arms nothing is known about, the split is even too.
    untried = policy.allocate(np.zeros(2), np.zeros(2), np.ones(2, bool), np.ones(2))
    np.testing.assert_allclose(untried.shares, 0.5, atol=0.01)


def test_gaussian_thompson_is_reproducible_under_a_seed() -> None:
    policy = GaussianThompson()
    stats = (np.array([20.0, 22.0]), np.array([10.0, 12.0]), np.ones(2, bool), np.ones(2))
    runs = []
    for _ in range(2):
        policies.seed(63)
        runs.append(policy.allocate(*stats, np.array([6.0, 8.0])).shares)
    np.testing.assert_array_equal(runs[0], runs[1])
    means, sds = policy.posteriors(stats[0], stats[1], [6.0, 8.0])
    np.testing.assert_array_equal(
        (means, sds), policies.gaussian_posteriors(stats[0], stats[1], [6.0, 8.0])
    )


# --- Validation --------------------------------------------------------------------------------

SALTS = arm_salts(["a", "b"])
TWO_ARMS = policies.FixedWeights().allocate(
    np.zeros(2), np.zeros(2), np.ones(2, bool), np.array([1.0, 1.0])
)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            partial(constrain_shares, [0.5, 0.5], [True, True], [0.0, 0.6], [1.0, 0.5]),
            "cap[1] is 0.5 but floor[1] is 0.6: every cap must be >= its floor",
        ),
        (
            partial(constrain_shares, [0.5, 0.5], [True, True], [0.0, 0.0], [1.0, 1.5]),
            "cap[1] must be within [0, 1], got 1.5",
        ),
        (
            partial(constrain_shares, [0.5, 0.5], [True, True], [-0.1, 0.0], [1.0, 1.0]),
            "floor[0] must be within [0, 1], got -0.1",
        ),
        (
            partial(constrain_shares, [0.5, 0.5], [True, True], [0.0], [1.0, 1.0]),
            "floor has length 1 but there are 2 arms",
        ),
        (
            partial(constrain_shares, [3.0, 1.0], [True, True], [0.0, 0.0], [1.0, 1.0]),
            "shares must sum to 1 over live arms, got 4: normalise them first",
        ),
        (
            partial(constrain_shares, [0.5, 0.5], [True, False], [0.0, 0.0], [1.0, 1.0]),
            "shares[1] is 0.5 but arm 1 is not live",
        ),
        (
            partial(constrain_shares, [0.5, 0.5], [1, 1], [0.0, 0.0], [1.0, 1.0]),
            "live must be a 1-D boolean array",
        ),
        (partial(unit_hash, "exp", ""), "unit_id must not be empty"),
        (partial(unit_hash, "exp", 42), "unit_id must be a str, got int 42"),
        (partial(arm_salts, ["a", "b", "a"]), "arm_names[2] repeats 'a' (also arm_names[0])"),
        (partial(arm_salts, "ab"), "arm_names must be a sequence of str, got str"),
        (
            partial(choose_sticky, TWO_ARMS, SALTS.astype(np.int64), 5),
            "salts must be a 1-D uint64 array with one salt per arm (2), got shape (2,) dtype int",
        ),
        (
            partial(choose_sticky, TWO_ARMS, SALTS[:1], 5),
            "salts must be a 1-D uint64 array with one salt per arm (2), got shape (1,)",
        ),
        (
            partial(choose_sticky, TWO_ARMS, SALTS, 2**64),
            f"unit_hash must be an integer within [0, {2**64 - 1}], got {2**64}",
        ),
        (
            partial(choose_sticky_many, TWO_ARMS, SALTS, np.array([3, -1])),
            "unit_hashes[1] must be >= 0, got -1",
        ),
        (
            partial(choose_sticky_many, TWO_ARMS, SALTS, np.array([0.5])),
            "unit_hashes must be a 1-D array of unsigned 64-bit integers",
        ),
        (
            partial(policies.prob_exceeds_by, 1.0, 1.0, 0.0, 1.0, 0.01),
            "alpha_c must be within (0, inf), got 0.0",
        ),
        (
            partial(policies.prob_exceeds_by, 1.0, 1.0, 1.0, 1.0, 1.5),
            "margin must be within [-1, 1], got 1.5",
        ),
        (partial(policies.prob_above, 1.0, 1.0, 0.05, draws=0), "draws must be an integer"),
        (partial(policies.prob_above, 1.0, 1.0, -0.05), "threshold must be within [0, 1]"),
        (
            partial(policies.prob_exceeds_by_many, [1.0, 1.0], [1.0, 1.0], 2, 0.0, [True, True]),
            "control_index must be an integer within [0, 1], got 2",
        ),
        (
            partial(policies.prob_above_many, [1.0, 1.0], [1.0], 0.5, [True, True]),
            "beta has length 1 but there are 2 arms",
        ),
        (
            partial(policies.beta_best_and_loss, [1.0, 0.0], [1.0, 1.0], [True, True]),
            "alpha[1] must be > 0, got 0.0",
        ),
        (
            partial(policies.normal_best_and_loss, [1.0], [-0.1], [True]),
            "sds[0] must be >= 0, got -0.1",
        ),
        (
            partial(policies.gaussian_posteriors, [2.0], [1.0], [-1.0]),
            "sum_squares[0] must be >= 0, got -1.0",
        ),
        (
            partial(make_policy, "gaussian_thompson", prior_sd=0.0),
            "prior_sd must be within (0, inf), got 0.0",
        ),
        (
            partial(make_policy, "gaussian_thompson", prior_mean=2.0),
            "prior_mean must be within [0, 1], got 2.0",
        ),
        (
            partial(make_policy, "gaussian_thompson", share_draws=0),
            "share_draws must be an integer within [1, 1000000], got 0",
        ),
        (
            partial(GaussianThompson().allocate, [1.0], [1.0], [False], [1.0]),
            "no live arm among 1",
        ),
    ],
)
def test_bad_inputs_are_explained(call: Callable[[], object], message: str) -> None:
    with pytest.raises(ValueError) as caught:
        call()
    assert str(caught.value).startswith(message), str(caught.value)
