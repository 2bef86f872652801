"""The public policies API: allocations, decisions, invariants, validation and threads."""

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import naive
import numpy as np
import pytest
from numpy.typing import NDArray

import policies
from policies import (
    MODE_CATEGORICAL,
    MODE_THOMPSON,
    Allocation,
    EpsilonGreedy,
    FixedWeights,
    ThompsonSampling,
    allocation_for_paused,
    choose,
    choose_many,
    make_policy,
)

POLICY_NAMES = ["thompson", "ucb1", "kl_ucb", "epsilon_greedy", "fixed", "gaussian_thompson"]

# Arm 0 is retired although it is by far the best; arm 3 is live but untried.
TRIALS = np.array([1000.0, 200.0, 180.0, 0.0, 150.0])
SUCCESSES = np.array([900.0, 100.0, 80.0, 0.0, 60.0])
LIVE = np.array([False, True, True, True, True])
WEIGHTS = np.array([5.0, 1.0, 2.0, 0.0, 1.0])


def allocate(name: str, **params: object) -> Allocation:
    return make_policy(name, **params).allocate(TRIALS, SUCCESSES, LIVE, WEIGHTS)


def test_registry_builds_every_policy_by_name() -> None:
    assert sorted(policies.POLICIES) == sorted(POLICY_NAMES)
    for name in POLICY_NAMES:
        assert make_policy(name).name == name


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_shares_are_a_distribution_over_live_arms(name: str) -> None:
    allocation = allocate(name)
    assert np.all(allocation.shares >= 0.0)
    assert np.all(allocation.shares[~LIVE] == 0.0)
    assert math.isclose(allocation.shares.sum(), 1.0, rel_tol=1e-12)
    np.testing.assert_allclose(allocation.cum_shares, np.cumsum(allocation.shares), rtol=1e-12)
    np.testing.assert_array_equal(allocation.live, LIVE)
    assert allocation.mode == MODE_CATEGORICAL


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_retired_arms_are_never_chosen(name: str) -> None:
    allocation = allocate(name, **({"epsilon": 0.5} if name == "epsilon_greedy" else {}))
    policies.seed(12)
    picks = choose_many(allocation, 5000)
    singles = [choose(allocation) for _ in range(500)]
    assert not np.any(picks == 0) and 0 not in singles
    assert np.all((picks >= 1) & (picks < len(LIVE)))


@pytest.mark.parametrize("name", POLICY_NAMES)
def test_allocation_arrays_are_read_only(name: str) -> None:
    allocation = allocate(name)
    with pytest.raises(ValueError, match="read-only"):
        allocation.shares[1] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        allocation.alpha[1] = 1.0


def test_allocating_leaves_the_callers_arrays_alone() -> None:
    trials, successes, live = TRIALS.copy(), SUCCESSES.copy(), LIVE.copy()
    make_policy("thompson").allocate(trials, successes, live, WEIGHTS)
    assert trials.flags.writeable and live.flags.writeable
    np.testing.assert_array_equal(trials, TRIALS)


@pytest.mark.parametrize("name", ["ucb1", "kl_ucb"])
def test_ucb_tries_untried_live_arms_first(name: str) -> None:
    trials = np.array([50.0, 0.0, 30.0, 0.0, 0.0])
    successes = np.array([40.0, 0.0, 3.0, 0.0, 0.0])
    live = np.array([True, True, True, True, False])
    allocation = make_policy(name).allocate(trials, successes, live, WEIGHTS)
    np.testing.assert_array_equal(allocation.shares, [0.0, 0.5, 0.0, 0.5, 0.0])


@pytest.mark.parametrize("name", ["ucb1", "kl_ucb"])
def test_ucb_serves_the_best_arm_once_everything_is_tried(name: str) -> None:
    assert allocate(name).shares[3] == 1.0  # the untried arm first
    trials = TRIALS.copy()
    trials[3] = 150.0
    allocation = make_policy(name).allocate(trials, SUCCESSES, LIVE, WEIGHTS)
    assert allocation.shares.max() == 1.0
    assert allocation.shares[0] == 0.0


def test_epsilon_zero_is_greedy() -> None:
    allocation = EpsilonGreedy(epsilon=0.0).allocate(TRIALS, SUCCESSES, LIVE, WEIGHTS)
    means = np.where(TRIALS > 0, SUCCESSES / np.maximum(TRIALS, 1.0), 0.0)
    np.testing.assert_array_equal(allocation.shares, naive.argmax_shares(means, LIVE))
    np.testing.assert_array_equal(allocation.shares, [0.0, 1.0, 0.0, 0.0, 0.0])


def test_epsilon_greedy_explores_every_live_arm() -> None:
    allocation = EpsilonGreedy(epsilon=0.2).allocate(TRIALS, SUCCESSES, LIVE, WEIGHTS)
    np.testing.assert_allclose(allocation.shares, [0.0, 0.85, 0.05, 0.05, 0.05])


def test_fixed_weights_follow_the_weights_of_live_arms() -> None:
    allocation = make_policy("fixed").allocate(TRIALS, SUCCESSES, LIVE, WEIGHTS)
    np.testing.assert_allclose(allocation.shares, [0.0, 0.25, 0.5, 0.0, 0.25])
    zero = make_policy("fixed").allocate(TRIALS, SUCCESSES, LIVE, np.zeros(5))
    np.testing.assert_allclose(zero.shares, [0.0, 0.25, 0.25, 0.25, 0.25])


def test_thompson_posteriors_and_smoothed_shares() -> None:
    policy = ThompsonSampling(prior_alpha=2.0, prior_beta=3.0)
    # successes above trials (rounding in the service) is clipped, never a negative beta.
    allocation = policy.allocate(
        np.array([10.0, 4.0]), np.array([3.0, 4.5]), np.ones(2, bool), WEIGHTS[:2]
    )
    np.testing.assert_array_equal(allocation.alpha, [5.0, 6.0])
    np.testing.assert_array_equal(allocation.beta, [10.0, 3.0])


def test_thompson_with_huge_evidence_concentrates_on_the_best_arm() -> None:
    trials = np.array([1e6, 1e6, 1e6])
    successes = np.array([5.0e5, 6.0e5, 5.5e5])
    allocation = ThompsonSampling().allocate(trials, successes, np.ones(3, bool), np.ones(3))
    # No draw goes to the worse arms, so the documented smoothing gives exactly:
    k, n = 3, 4096
    np.testing.assert_allclose(
        allocation.shares, [0.5 / (n + 0.5 * k), (n + 0.5) / (n + 0.5 * k), 0.5 / (n + 0.5 * k)]
    )
    # Drawing from the shares, the worse arms get exactly their smoothing floor...
    policies.seed(13)
    worse = int(np.sum(choose_many(allocation, 100_000) != 1))
    assert 5 <= worse <= 60  # expected 100_000 * 2 * 0.5 / 4097.5, about 24
    # ...while per-decision posterior draws never pick them.
    exact = ThompsonSampling(per_decision_draws=True)
    allocation = exact.allocate(trials, successes, np.ones(3, bool), np.ones(3))
    assert allocation.mode == MODE_THOMPSON
    assert np.all(choose_many(allocation, 10_000) == 1)


def test_thompson_shares_estimate_prob_best() -> None:
    alpha, beta = np.array([60.0, 45.0]), np.array([40.0, 55.0])
    policy = ThompsonSampling(share_draws=100_000)
    policies.seed(14)
    allocation = policy.allocate(alpha + beta - 2.0, alpha - 1.0, np.ones(2, bool), np.ones(2))
    expected = naive.beta_prob_best(alpha, beta, np.ones(2, bool))
    np.testing.assert_allclose(allocation.shares, expected, atol=0.002)


def test_paused_allocation_sends_everyone_to_one_arm() -> None:
    allocation = allocation_for_paused(4, 2)
    np.testing.assert_array_equal(allocation.shares, [0.0, 0.0, 1.0, 0.0])
    np.testing.assert_array_equal(allocation.live, [False, False, True, False])
    assert choose(allocation) == 2
    assert np.all(choose_many(allocation, 100) == 2)


def test_status_helpers() -> None:
    policies.seed(15)
    prob = policies.prob_best_binary([60.0, 45.0, 99.0], [40.0, 55.0, 1.0], [True, True, False])
    assert prob[2] == 0.0 and math.isclose(prob.sum(), 1.0)
    assert abs(prob[0] - 0.9837) < 0.01
    prob = policies.prob_best_normal([1.0, 1.2], [0.1, 0.1], [True, True])
    assert abs(prob[1] - naive.normal_prob_first_beats_second(1.2, 0.1, 1.0, 0.1)) < 0.02
    low, high = policies.beta_credible_intervals([1.0, 60.0], [1.0, 40.0], level=0.9)
    assert abs(low[0] - 0.05) < 0.01 and abs(high[0] - 0.95) < 0.01
    assert low[1] < 0.6 < high[1]


def test_seeded_runs_are_reproducible() -> None:
    allocation = allocate("thompson")
    categorical = allocate("epsilon_greedy")
    runs = []
    for _ in range(2):
        policies.seed(7)
        runs.append(
            (choose_many(allocation, 1000), choose_many(categorical, 1000), choose(allocation))
        )
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert runs[0][2] == runs[1][2]


def test_choose_from_many_threads_at_once() -> None:
    thompson = allocate("thompson")
    categorical = allocate("epsilon_greedy", epsilon=0.5)

    def decide(thread_seed: int) -> NDArray[np.int64]:
        policies.seed(thread_seed)  # numba's generator is per thread: seed it in the thread
        picks = [choose(thompson) for _ in range(2000)] + [choose(categorical) for _ in range(2000)]
        return np.array(picks)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(decide, [21, 22, 23, 24, 21, 22, 23, 24]))
    for picks in results:
        assert np.all((picks >= 1) & (picks < len(LIVE)))
    # The same seed gives the same decisions in whichever thread it runs.
    np.testing.assert_array_equal(results[0], results[4])
    np.testing.assert_array_equal(results[0], decide(21))


def test_warm_up_reports_seconds() -> None:
    seconds = policies.warm_up()
    assert 0.0 <= seconds < 60.0


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("epsilon_greedy", {"epsilon": 1.5}, "epsilon must be within [0, 1], got 1.5"),
        ("epsilon_greedy", {"epsilon": -0.1}, "epsilon must be within [0, 1], got -0.1"),
        ("epsilon_greedy", {"epsilon": "0.1"}, "epsilon must be a number within [0, 1], got '0.1'"),
        ("thompson", {"prior_alpha": 0.0}, "prior_alpha must be within (0, inf), got 0.0"),
        ("thompson", {"prior_beta": math.inf}, "prior_beta must be within (0, inf), got inf"),
        ("thompson", {"prior_beta": math.nan}, "prior_beta must be within (0, inf), got nan"),
        (
            "thompson",
            {"share_draws": 0},
            "share_draws must be an integer within [1, 1000000], got 0",
        ),
        (
            "thompson",
            {"share_draws": 10.5},
            "share_draws must be an integer within [1, 1000000], got 10.5",
        ),
        ("ucb1", {"exploration": -1.0}, "exploration must be within [0, inf), got -1.0"),
        ("kl_ucb", {"exploration": True}, "exploration must be a number within [0, inf), got True"),
        (
            "ucb1",
            {"epsilon": 0.1},
            "policy 'ucb1' has no parameter 'epsilon' (parameters: exploration)",
        ),
        (
            "fixed",
            {"weights": [1, 2]},
            "policy 'fixed' has no parameter 'weights' (parameters: none)",
        ),
        (
            "softmax",
            {},
            "unknown policy 'softmax' (policies: epsilon_greedy, fixed, gaussian_thompson, "
            "kl_ucb, thompson, ucb1)",
        ),
    ],
)
def test_bad_policy_configuration_is_explained(
    name: str, params: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        make_policy(name, **params)
    assert str(caught.value) == message


def test_parameters_are_stored_as_floats_and_ints() -> None:
    policy = make_policy("thompson", prior_alpha=2, share_draws=np.int64(100))
    assert isinstance(policy, ThompsonSampling)
    assert type(policy.prior_alpha) is float and type(policy.share_draws) is int


@pytest.mark.parametrize(
    ("trials", "successes", "live", "message"),
    [
        (
            [1.0, 2.0],
            [0.0, 1.0],
            [1, 1],
            "live must be a 1-D boolean array, got shape (2,) dtype int64",
        ),
        ([1.0, 2.0], [0.0], [True, True], "successes has length 1 but there are 2 arms"),
        ([1.0, 2.0], [0.0, 1.0], [True], "live has length 1 but there are 2 arms"),
        ([1.0, -2.0], [0.0, 1.0], [True, True], "trials[1] must be >= 0, got -2.0"),
        ([1.0, 2.0], [math.nan, 1.0], [True, True], "successes[0] must be finite, got nan"),
        (
            [1.0, 2.0],
            [0.0, 1.0],
            [False, False],
            "no live arm among 2: at least one arm must be live",
        ),
        (
            [[1.0, 2.0]],
            [0.0, 1.0],
            [True, True],
            "trials must be a 1-D array of numbers, got shape (1, 2)",
        ),
    ],
)
def test_bad_arm_statistics_are_explained(
    trials: list[float], successes: list[float], live: list[bool], message: str
) -> None:
    for name in POLICY_NAMES:
        with pytest.raises(ValueError) as caught:
            make_policy(name).allocate(
                np.array(trials), np.array(successes), np.array(live), np.ones(2)
            )
        assert str(caught.value).startswith(message)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            partial(FixedWeights().allocate, TRIALS, SUCCESSES, LIVE, -WEIGHTS),
            "weights[0] must be >= 0, got -5.0",
        ),
        (partial(allocation_for_paused, 3, 3), "arm_index must be an integer within [0, 2], got 3"),
        (
            partial(allocation_for_paused, 0, 0),
            "n_arms must be an integer within [1, 2147483647], got 0",
        ),
        (
            partial(policies.prob_best_binary, [1.0, 0.0], [1.0, 1.0], [True, True]),
            "alpha[1] must be > 0, got 0.0",
        ),
        (
            partial(policies.prob_best_normal, [1.0], [-0.1], [True]),
            "sds[0] must be >= 0, got -0.1",
        ),
        (
            partial(policies.prob_best_binary, [1.0], [1.0], [True], n_draws=0),
            "n_draws must be an integer within [1, 1000000], got 0",
        ),
        (
            partial(policies.beta_credible_intervals, [1.0], [1.0], level=1.0),
            "level must be within (0, 1), got 1.0",
        ),
        (partial(policies.seed, -1), "seed must be an integer within [0, 4294967295], got -1"),
    ],
)
def test_bad_inputs_to_the_other_drivers_are_explained(
    call: Callable[[], object], message: str
) -> None:
    with pytest.raises(ValueError) as caught:
        call()
    assert str(caught.value) == message
