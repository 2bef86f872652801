"""numba kernels behind the policies: plain arrays and numbers in, arrays and numbers out.
They never validate and never raise; the drivers check inputs first."""

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
from numpy.typing import NDArray

_F = TypeVar("_F", bound=Callable[..., Any])


def njit(*, cache: bool, nogil: bool = False) -> Callable[[_F], _F]:
    """numba.njit, typed so that mypy keeps each kernel's signature instead of seeing Any."""
    return cast(Callable[[_F], _F], numba.njit(cache=cache, nogil=nogil))


# Bisection stops once the KL-UCB bracket is this narrow; shares only need a ranking, and
# 1e-6 is far below the noise in any mean the service sees.
_KL_UCB_TOLERANCE = 1e-6
# Probabilities are clipped this far from 0 and 1 so that the Bernoulli KL stays finite.
_KL_CLIP = 1e-15


@njit(cache=True)
def seed(s: int) -> None:
    """Seed numba's generator of the calling thread (np.random.seed from Python does not)."""
    np.random.seed(s)


@njit(cache=True)
def _live_argmax(values: NDArray[np.float64], live: NDArray[np.bool_]) -> int:
    # Exact ties are broken uniformly at random (reservoir style) so that, e.g., two arms with
    # sd 0 and equal means each win half the time instead of the first one always winning.
    best = -1
    best_value = 0.0
    ties = 0
    for i in range(values.shape[0]):
        if not live[i]:
            continue
        if best < 0 or values[i] > best_value:
            best = i
            best_value = values[i]
            ties = 1
        elif values[i] == best_value:
            ties += 1
            if np.random.random() * ties < 1.0:
                best = i
    return best


@njit(cache=True)
def _beta_draws(
    alpha: NDArray[np.float64],
    beta: NDArray[np.float64],
    live: NDArray[np.bool_],
    draws: NDArray[np.float64],
) -> None:
    for i in range(alpha.shape[0]):
        if live[i]:
            draws[i] = np.random.beta(alpha[i], beta[i])


@njit(cache=True)
def _normal_draws(
    means: NDArray[np.float64],
    sds: NDArray[np.float64],
    live: NDArray[np.bool_],
    draws: NDArray[np.float64],
) -> None:
    for i in range(means.shape[0]):
        if live[i]:
            draws[i] = means[i] + sds[i] * np.random.standard_normal()


@njit(cache=True)
def thompson_choose(
    alpha: NDArray[np.float64], beta: NDArray[np.float64], live: NDArray[np.bool_]
) -> int:
    """Index of the live arm with the largest Beta(alpha, beta) draw; -1 if no arm is live."""
    draws = np.empty(alpha.shape[0])
    _beta_draws(alpha, beta, live, draws)
    return _live_argmax(draws, live)


@njit(cache=True)
def thompson_choose_many(
    alpha: NDArray[np.float64],
    beta: NDArray[np.float64],
    live: NDArray[np.bool_],
    out: NDArray[np.int64],
) -> None:
    """Fill out with independent thompson_choose decisions."""
    draws = np.empty(alpha.shape[0])
    for j in range(out.shape[0]):
        _beta_draws(alpha, beta, live, draws)
        out[j] = _live_argmax(draws, live)


@njit(cache=True)
def categorical_index(cum_shares: NDArray[np.float64], u: float) -> int:
    """First i with u < cum_shares[i]; for u at or past the end, the last arm with a positive share.

    Returns -1 when no arm has a positive share. Split from categorical_choose so that the
    search itself can be tested without randomness.
    """
    n = cum_shares.shape[0]
    if n == 0:
        return -1
    if u >= cum_shares[n - 1]:
        # Rounding can leave the total a hair below 1; fall back to the last arm that has any
        # share at all, so a zero-share (retired) arm at the end is never picked.
        for i in range(n - 1, 0, -1):
            if cum_shares[i] > cum_shares[i - 1]:
                return i
        return 0 if cum_shares[0] > 0.0 else -1
    lo = 0
    hi = n - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if u < cum_shares[mid]:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(cache=True)
def categorical_choose(cum_shares: NDArray[np.float64]) -> int:
    """Draw an arm with probability equal to its share, given the cumulative shares."""
    return categorical_index(cum_shares, np.random.random())


@njit(cache=True)
def categorical_choose_many(cum_shares: NDArray[np.float64], out: NDArray[np.int64]) -> None:
    """Fill out with independent categorical_choose decisions."""
    for j in range(out.shape[0]):
        out[j] = categorical_index(cum_shares, np.random.random())


@njit(cache=True)
def _win_fractions(wins: NDArray[np.float64], n_draws: int, out: NDArray[np.float64]) -> None:
    scale = 1.0 / max(n_draws, 1)
    for i in range(out.shape[0]):
        out[i] = wins[i] * scale


# The Monte Carlo kernels run for milliseconds at snapshot or status time; releasing the GIL
# lets serving threads keep deciding meanwhile. The per-decision kernels keep it: for a call
# of about a microsecond, dropping and retaking the GIL would cost more than it frees.
@njit(cache=True, nogil=True)
def beta_prob_best(
    alpha: NDArray[np.float64],
    beta: NDArray[np.float64],
    live: NDArray[np.bool_],
    n_draws: int,
    out: NDArray[np.float64],
) -> None:
    """Monte Carlo P(arm's Beta draw is the largest among live arms); 0 for arms not live."""
    wins = np.zeros(alpha.shape[0])
    draws = np.empty(alpha.shape[0])
    for _ in range(n_draws):
        _beta_draws(alpha, beta, live, draws)
        winner = _live_argmax(draws, live)
        if winner >= 0:
            wins[winner] += 1.0
    _win_fractions(wins, n_draws, out)


@njit(cache=True, nogil=True)
def normal_prob_best(
    means: NDArray[np.float64],
    sds: NDArray[np.float64],
    live: NDArray[np.bool_],
    n_draws: int,
    out: NDArray[np.float64],
) -> None:
    """Monte Carlo P(arm's Normal(mean, sd) draw is the largest among live arms)."""
    wins = np.zeros(means.shape[0])
    draws = np.empty(means.shape[0])
    for _ in range(n_draws):
        _normal_draws(means, sds, live, draws)
        winner = _live_argmax(draws, live)
        if winner >= 0:
            wins[winner] += 1.0
    _win_fractions(wins, n_draws, out)


@njit(cache=True)
def ucb1_scores(
    trials: NDArray[np.float64],
    successes: NDArray[np.float64],
    live: NDArray[np.bool_],
    exploration: float,
    out: NDArray[np.float64],
) -> None:
    """UCB1 index per arm: +inf for untried live arms, -inf for arms not live."""
    log_total = np.log(max(trials.sum(), 1.0))
    for i in range(trials.shape[0]):
        if not live[i]:
            out[i] = -np.inf
        elif trials[i] <= 0.0:
            out[i] = np.inf
        else:
            out[i] = successes[i] / trials[i] + exploration * np.sqrt(2.0 * log_total / trials[i])


@njit(cache=True)
def bernoulli_kl(p: float, q: float) -> float:
    """KL(Bernoulli(p) || Bernoulli(q)), finite even at p or q in {0, 1}."""
    p = min(max(p, _KL_CLIP), 1.0 - _KL_CLIP)
    q = min(max(q, _KL_CLIP), 1.0 - _KL_CLIP)
    return float(p * np.log(p / q) + (1.0 - p) * np.log((1.0 - p) / (1.0 - q)))


@njit(cache=True)
def kl_ucb_scores(
    trials: NDArray[np.float64],
    successes: NDArray[np.float64],
    live: NDArray[np.bool_],
    exploration: float,
    out: NDArray[np.float64],
) -> None:
    """KL-UCB index per arm for rewards in [0, 1]: +inf untried live, -inf not live."""
    total = max(trials.sum(), 1.0)
    log_total = np.log(total)
    budget = log_total + exploration * np.log(log_total) if total > np.e else log_total
    for i in range(trials.shape[0]):
        if not live[i]:
            out[i] = -np.inf
            continue
        n = trials[i]
        if n <= 0.0:
            out[i] = np.inf
            continue
        mean = min(max(successes[i] / n, 0.0), 1.0)
        # kl(mean, q) grows with q on [mean, 1], so bisection finds the largest q within budget;
        # lo always satisfies the bound, which keeps the index an upper confidence bound.
        lo = mean
        hi = 1.0
        while hi - lo > _KL_UCB_TOLERANCE:
            mid = 0.5 * (lo + hi)
            if n * bernoulli_kl(mean, mid) <= budget:
                lo = mid
            else:
                hi = mid
        out[i] = lo


@njit(cache=True)
def argmax_shares(
    scores: NDArray[np.float64], live: NDArray[np.bool_], out: NDArray[np.float64]
) -> None:
    """Share 1 split evenly over the live arms tied at the top score; 0 elsewhere."""
    best = -np.inf
    found = False
    for i in range(scores.shape[0]):
        if live[i] and (not found or scores[i] > best):
            best = scores[i]
            found = True
    ties = 0
    for i in range(scores.shape[0]):
        if live[i] and scores[i] == best:
            ties += 1
    for i in range(scores.shape[0]):
        out[i] = 1.0 / ties if live[i] and scores[i] == best else 0.0


@njit(cache=True)
def epsilon_greedy_shares(
    trials: NDArray[np.float64],
    successes: NDArray[np.float64],
    live: NDArray[np.bool_],
    epsilon: float,
    out: NDArray[np.float64],
) -> None:
    """epsilon spread evenly over live arms, 1 - epsilon over the live arms with the best mean."""
    n = trials.shape[0]
    means = np.zeros(n)
    k = 0
    for i in range(n):
        if trials[i] > 0.0:
            means[i] = successes[i] / trials[i]
        if live[i]:
            k += 1
    if k == 0:
        out[:] = 0.0
        return
    argmax_shares(means, live, out)
    for i in range(n):
        if live[i]:
            out[i] = epsilon / k + (1.0 - epsilon) * out[i]


@njit(cache=True)
def fixed_shares(
    weights: NDArray[np.float64], live: NDArray[np.bool_], out: NDArray[np.float64]
) -> None:
    """Live weights normalised to sum 1; an even split if every live weight is 0."""
    total = 0.0
    k = 0
    for i in range(weights.shape[0]):
        if live[i]:
            total += max(weights[i], 0.0)
            k += 1
    for i in range(weights.shape[0]):
        if not live[i]:
            out[i] = 0.0
        elif total > 0.0:
            out[i] = max(weights[i], 0.0) / total
        else:
            out[i] = 1.0 / k


@njit(cache=True)
def cumulative(shares: NDArray[np.float64], out: NDArray[np.float64]) -> None:
    """Running sum of shares, the table categorical_choose searches."""
    running = 0.0
    for i in range(shares.shape[0]):
        running += shares[i]
        out[i] = running


@njit(cache=True)
def _sorted_quantile(values: NDArray[np.float64], q: float) -> float:
    # Linear interpolation between order statistics, numpy's default quantile method.
    position = q * (values.shape[0] - 1)
    below = int(np.floor(position))
    above = min(below + 1, values.shape[0] - 1)
    weight = position - below
    return float(values[below] + weight * (values[above] - values[below]))


@njit(cache=True, nogil=True)
def beta_intervals(
    alpha: NDArray[np.float64],
    beta: NDArray[np.float64],
    level: float,
    n_draws: int,
    low: NDArray[np.float64],
    high: NDArray[np.float64],
) -> None:
    """Central credible interval of each Beta(alpha, beta), from Monte Carlo quantiles."""
    samples = np.empty(max(n_draws, 1))
    tail = 0.5 * (1.0 - level)
    for i in range(alpha.shape[0]):
        for j in range(samples.shape[0]):
            samples[j] = np.random.beta(alpha[i], beta[i])
        samples.sort()
        low[i] = _sorted_quantile(samples, tail)
        high[i] = _sorted_quantile(samples, 1.0 - tail)
