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


# The Monte Carlo kernels run for milliseconds at status time (Thompson shares at snapshot
# time are integrated instead: _prob_best); releasing the GIL lets serving threads keep
# deciding meanwhile. The per-decision kernels keep it: for a call of about a microsecond,
# dropping and retaking the GIL would cost more than it frees.
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


# ---------------------------------------------------------------------------------------------
# Share constraints (floors and caps)


@njit(cache=True)
def _clipped(value: float, low: float, high: float) -> float:
    return min(max(value, low), high)


@njit(cache=True)
def _filled_total(
    lam: float,
    base: NDArray[np.float64],
    member: NDArray[np.bool_],
    floor: NDArray[np.float64],
    cap: NDArray[np.float64],
) -> float:
    # Arms with base 0 sit at their floor whatever lam is; testing them first also keeps
    # inf * 0 (a NaN) out of the sum when lam is an infinite breakpoint.
    total = 0.0
    for i in range(base.shape[0]):
        if member[i]:
            total += floor[i] if base[i] <= 0.0 else _clipped(lam * base[i], floor[i], cap[i])
    return total


@njit(cache=True)
def _water_fill(
    base: NDArray[np.float64],
    member: NDArray[np.bool_],
    floor: NDArray[np.float64],
    cap: NDArray[np.float64],
    target: float,
    out: NDArray[np.float64],
) -> None:
    # Writes out[i] = clip(lam * base[i], floor[i], cap[i]) for member arms, lam chosen so that
    # they sum to target. The total is piecewise linear and non-decreasing in lam with kinks at
    # floor/base and cap/base, so a binary search over the sorted kinks finds the linear piece
    # that reaches target and lam is then solved exactly on it (no bisection tolerance).
    # The caller guarantees sum(floor) <= target <= the total at lam = inf.
    n = base.shape[0]
    kinks = np.empty(2 * n)
    m = 0
    for i in range(n):
        if member[i] and base[i] > 0.0:
            kinks[m] = floor[i] / base[i]
            kinks[m + 1] = cap[i] / base[i]
            m += 2
    kinks = np.sort(kinks[:m])
    lo_index = 0
    hi_index = m
    while lo_index < hi_index:  # first kink whose total reaches target
        mid_index = (lo_index + hi_index) // 2
        if _filled_total(kinks[mid_index], base, member, floor, cap) >= target:
            hi_index = mid_index
        else:
            lo_index = mid_index + 1
    if lo_index == m:
        # Only rounding gets here (target is at most the total at the last kink): stop there.
        lam = kinks[m - 1] if m > 0 else 0.0
    else:
        high = kinks[lo_index]
        low = kinks[lo_index - 1] if lo_index > 0 else 0.0
        middle = 0.5 * low + 0.5 * high
        fixed = 0.0
        slope = 0.0
        for i in range(n):
            if not member[i]:
                continue
            if base[i] <= 0.0 or middle * base[i] <= floor[i]:
                fixed += floor[i]
            elif middle * base[i] >= cap[i]:
                fixed += cap[i]
            else:
                slope += base[i]
        lam = (target - fixed) / slope if slope > 0.0 else high
        lam = min(max(lam, low), high)
    for i in range(n):
        if member[i]:
            out[i] = floor[i] if base[i] <= 0.0 else _clipped(lam * base[i], floor[i], cap[i])


@njit(cache=True)
def constrain_shares(
    shares: NDArray[np.float64],
    live: NDArray[np.bool_],
    floor: NDArray[np.float64],
    cap: NDArray[np.float64],
    out: NDArray[np.float64],
) -> None:
    """Shares moved into [floor, cap] on live arms, summing to 1, as proportional as they can be.

    out[i] = clip(lam * shares[i], floor[i], cap[i]) with lam solved exactly. If even lam = inf
    falls short (the arms with room below their cap all have share 0), the rest goes to those
    arms as clip(mu, floor[i], cap[i]) with one level mu: the limit of giving every zero-share
    arm the same tiny share. Infeasible bounds: live floors summing above 1 are scaled down to
    sum 1; live caps summing below 1 are scaled up to sum 1 (an even split if they are all 0).
    Arms not live, and every arm when none is live, get 0.
    """
    n = shares.shape[0]
    out[:] = 0.0
    k = 0
    floor_total = 0.0
    cap_total = 0.0
    for i in range(n):
        if live[i]:
            k += 1
            floor_total += floor[i]
            cap_total += cap[i]
    if k == 0:
        return
    if floor_total > 1.0:
        for i in range(n):
            if live[i]:
                out[i] = floor[i] / floor_total
        return
    if cap_total < 1.0:
        for i in range(n):
            if live[i]:
                out[i] = cap[i] / cap_total if cap_total > 0.0 else 1.0 / k
        return
    reach = 0.0  # the total at lam = inf
    capped_total = 0.0
    zero_share = np.zeros(n, dtype=np.bool_)
    for i in range(n):
        if not live[i]:
            continue
        if shares[i] > 0.0:
            reach += cap[i]
            capped_total += cap[i]
        else:
            reach += floor[i]
            zero_share[i] = True
    if reach >= 1.0:
        _water_fill(shares, live, floor, cap, 1.0, out)
        return
    for i in range(n):
        if live[i] and not zero_share[i]:
            out[i] = cap[i]
    _water_fill(np.ones(n), zero_share, floor, cap, 1.0 - capped_total, out)


# ---------------------------------------------------------------------------------------------
# Sticky assignment: weighted rendezvous hashing (an exponential race keyed by unit and arm)

_SPLITMIX_GAMMA = np.uint64(0x9E3779B97F4A7C15)
_SPLITMIX_M1 = np.uint64(0xBF58476D1CE4E5B9)
_SPLITMIX_M2 = np.uint64(0x94D049BB133111EB)
_SHIFT_30 = np.uint64(30)
_SHIFT_27 = np.uint64(27)
_SHIFT_31 = np.uint64(31)
_SHIFT_11 = np.uint64(11)
_TWO_TO_MINUS_53 = 1.0 / 9007199254740992.0


@njit(cache=True)
def splitmix64(x: np.uint64) -> np.uint64:
    """splitmix64 (Steele et al. 2014) of one state: every input bit flips about half the output."""
    z = x + _SPLITMIX_GAMMA
    z = (z ^ (z >> _SHIFT_30)) * _SPLITMIX_M1
    z = (z ^ (z >> _SHIFT_27)) * _SPLITMIX_M2
    return z ^ (z >> _SHIFT_31)


@njit(cache=True)
def unit_uniform(x: np.uint64) -> float:
    """A float strictly inside (0, 1) from the top 53 bits of splitmix64(x), so log never sees 0."""
    return (float(splitmix64(x) >> _SHIFT_11) + 0.5) * _TWO_TO_MINUS_53


@njit(cache=True)
def sticky_index(
    shares: NDArray[np.float64], salts: NDArray[np.uint64], unit_hash: np.uint64
) -> int:
    """The arm a unit is assigned to: argmin over share > 0 of -log(u_i) / shares[i].

    u_i = unit_uniform(unit_hash ^ salts[i]). Over random units each -log(u_i) / shares[i] is
    an independent exponential with rate shares[i], so arm i wins with probability
    shares[i] / sum(shares). Returns -1 when no share is positive.
    """
    best = -1
    best_score = np.inf
    for i in range(shares.shape[0]):
        if shares[i] > 0.0:
            score = -np.log(unit_uniform(unit_hash ^ salts[i])) / shares[i]
            if best < 0 or score < best_score:
                best = i
                best_score = score
    return best


@njit(cache=True)
def sticky_index_many(
    shares: NDArray[np.float64],
    salts: NDArray[np.uint64],
    unit_hashes: NDArray[np.uint64],
    out: NDArray[np.int64],
) -> None:
    """Fill out with sticky_index for each unit hash."""
    for j in range(unit_hashes.shape[0]):
        out[j] = sticky_index(shares, salts, unit_hashes[j])


# ---------------------------------------------------------------------------------------------
# Guardrails: Monte Carlo breach probabilities from Beta posteriors


@njit(cache=True, nogil=True)
def beta_prob_exceeds_by(
    alpha_a: float, beta_a: float, alpha_c: float, beta_c: float, margin: float, n_draws: int
) -> float:
    """Monte Carlo P(theta_a - theta_c > margin), theta_a ~ Beta(alpha_a, beta_a), theta_c too."""
    hits = 0
    for _ in range(n_draws):
        if np.random.beta(alpha_a, beta_a) - np.random.beta(alpha_c, beta_c) > margin:
            hits += 1
    return hits / max(n_draws, 1)


@njit(cache=True, nogil=True)
def beta_prob_above(alpha: float, beta: float, threshold: float, n_draws: int) -> float:
    """Monte Carlo P(theta > threshold), theta ~ Beta(alpha, beta)."""
    hits = 0
    for _ in range(n_draws):
        if np.random.beta(alpha, beta) > threshold:
            hits += 1
    return hits / max(n_draws, 1)


@njit(cache=True, nogil=True)
def beta_prob_exceeds_by_many(
    alpha: NDArray[np.float64],
    beta: NDArray[np.float64],
    control_index: int,
    margin: float,
    live: NDArray[np.bool_],
    n_draws: int,
    out: NDArray[np.float64],
) -> None:
    """P(theta_i - theta_control > margin) per live arm; 0 for the control and arms not live.

    One control draw per round is shared by every arm: each arm's probability is still the
    pairwise one, and the control is drawn n_draws times instead of n_draws * arms.
    """
    n = alpha.shape[0]
    hits = np.zeros(n)
    for _ in range(n_draws):
        control = np.random.beta(alpha[control_index], beta[control_index])
        for i in range(n):
            if live[i] and i != control_index:
                if np.random.beta(alpha[i], beta[i]) - control > margin:
                    hits[i] += 1.0
    _win_fractions(hits, n_draws, out)


@njit(cache=True, nogil=True)
def beta_prob_above_many(
    alpha: NDArray[np.float64],
    beta: NDArray[np.float64],
    threshold: float,
    live: NDArray[np.bool_],
    n_draws: int,
    out: NDArray[np.float64],
) -> None:
    """P(theta_i > threshold) per live arm, theta_i ~ Beta(alpha_i, beta_i); 0 for arms not live."""
    for i in range(alpha.shape[0]):
        out[i] = beta_prob_above(alpha[i], beta[i], threshold, n_draws) if live[i] else 0.0


# ---------------------------------------------------------------------------------------------
# Promotion readiness: P(best) and expected loss from one Monte Carlo pass


@njit(cache=True)
def _tally_best_and_loss(
    draws: NDArray[np.float64],
    live: NDArray[np.bool_],
    wins: NDArray[np.float64],
    loss: NDArray[np.float64],
) -> None:
    winner = _live_argmax(draws, live)
    if winner < 0:
        return
    wins[winner] += 1.0
    for i in range(draws.shape[0]):
        if live[i]:
            loss[i] += draws[winner] - draws[i]


@njit(cache=True, nogil=True)
def beta_best_and_loss(
    alpha: NDArray[np.float64],
    beta: NDArray[np.float64],
    live: NDArray[np.bool_],
    n_draws: int,
    prob_best: NDArray[np.float64],
    expected_loss: NDArray[np.float64],
) -> None:
    """Per live arm, P(largest Beta draw) and E[max_j theta_j - theta_i]; 0 for arms not live."""
    n = alpha.shape[0]
    wins = np.zeros(n)
    loss = np.zeros(n)
    draws = np.empty(n)
    for _ in range(n_draws):
        _beta_draws(alpha, beta, live, draws)
        _tally_best_and_loss(draws, live, wins, loss)
    _win_fractions(wins, n_draws, prob_best)
    _win_fractions(loss, n_draws, expected_loss)


@njit(cache=True, nogil=True)
def normal_best_and_loss(
    means: NDArray[np.float64],
    sds: NDArray[np.float64],
    live: NDArray[np.bool_],
    n_draws: int,
    prob_best: NDArray[np.float64],
    expected_loss: NDArray[np.float64],
) -> None:
    """beta_best_and_loss with theta_i ~ Normal(means_i, sds_i)."""
    n = means.shape[0]
    wins = np.zeros(n)
    loss = np.zeros(n)
    draws = np.empty(n)
    for _ in range(n_draws):
        _normal_draws(means, sds, live, draws)
        _tally_best_and_loss(draws, live, wins, loss)
    _win_fractions(wins, n_draws, prob_best)
    _win_fractions(loss, n_draws, expected_loss)


# ---------------------------------------------------------------------------------------------
# Gaussian Thompson sampling: Normal posteriors of each arm's mean reward (rewards in [0, 1])

# A sample variance of 0 (all rewards equal so far) would make the posterior a point mass
# and end exploration for good; 1e-4 is a reward sd of 1% of the declared range.
_MIN_REWARD_VARIANCE = 1e-4
# With fewer than two rewards there is no sample variance; 0.25 is the largest variance a
# reward in [0, 1] can have, so the guess never overstates what is known.
_UNKNOWN_REWARD_VARIANCE = 0.25


@njit(cache=True)
def reward_variances(
    trials: NDArray[np.float64],
    successes: NDArray[np.float64],
    sum_squares: NDArray[np.float64],
    out: NDArray[np.float64],
) -> None:
    """Sample variance of each arm's rewards (n - 1 denominator), floored at 1e-4; 0.25 if n < 2."""
    for i in range(trials.shape[0]):
        n = trials[i]
        if n < 2.0:
            out[i] = _UNKNOWN_REWARD_VARIANCE
        else:
            variance = (sum_squares[i] - successes[i] * successes[i] / n) / (n - 1.0)
            out[i] = max(variance, _MIN_REWARD_VARIANCE)


@njit(cache=True)
def bernoulli_variances(
    trials: NDArray[np.float64], successes: NDArray[np.float64], out: NDArray[np.float64]
) -> None:
    """m (1 - m) per arm, m the mean reward, floored at 1e-4; 0.25 if n < 2."""
    for i in range(trials.shape[0]):
        n = trials[i]
        if n < 2.0:
            out[i] = _UNKNOWN_REWARD_VARIANCE
        else:
            m = successes[i] / n
            out[i] = max(m * (1.0 - m), _MIN_REWARD_VARIANCE)


@njit(cache=True)
def gaussian_posteriors(
    trials: NDArray[np.float64],
    successes: NDArray[np.float64],
    variances: NDArray[np.float64],
    prior_mean: float,
    prior_sd: float,
    means: NDArray[np.float64],
    sds: NDArray[np.float64],
) -> None:
    """Normal posterior of each arm's mean: prior N(prior_mean, prior_sd^2), variances known.

    precision = 1 / prior_sd^2 + n / s^2;  mean = (prior_mean / prior_sd^2 + sum / s^2) / precision
    """
    prior_precision = 1.0 / (prior_sd * prior_sd)
    for i in range(trials.shape[0]):
        precision = prior_precision + trials[i] / variances[i]
        means[i] = (prior_mean * prior_precision + successes[i] / variances[i]) / precision
        sds[i] = 1.0 / np.sqrt(precision)
