"""Slow, obviously correct twins of the policy kernels, written with loops and plain numpy."""

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

# The twins clip KL arguments exactly as the kernel does, so both compute the same function.
KL_CLIP = 1e-15


def ucb1_scores(
    trials: NDArray[np.float64],
    successes: NDArray[np.float64],
    live: NDArray[np.bool_],
    exploration: float,
) -> NDArray[np.float64]:
    total = max(float(sum(trials)), 1.0)
    scores = np.empty(len(trials))
    for i in range(len(trials)):
        if not live[i]:
            scores[i] = -math.inf
        elif trials[i] == 0:
            scores[i] = math.inf
        else:
            mean = successes[i] / trials[i]
            scores[i] = mean + exploration * math.sqrt(2 * math.log(total) / trials[i])
    return scores


def bernoulli_kl(p: float, q: float) -> float:
    p = min(max(p, KL_CLIP), 1 - KL_CLIP)
    q = min(max(q, KL_CLIP), 1 - KL_CLIP)
    return p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))


def kl_ucb_budget(total_trials: float, exploration: float) -> float:
    total = max(total_trials, 1.0)
    if total > math.e:
        return math.log(total) + exploration * math.log(math.log(total))
    return math.log(total)


def kl_ucb_scores(
    trials: NDArray[np.float64],
    successes: NDArray[np.float64],
    live: NDArray[np.bool_],
    exploration: float,
    grid_points: int = 200_001,
) -> NDArray[np.float64]:
    """Largest q on a fine grid over [mean, 1] within the budget: no bisection involved."""
    budget = kl_ucb_budget(float(sum(trials)), exploration)
    scores = np.empty(len(trials))
    for i in range(len(trials)):
        if not live[i]:
            scores[i] = -math.inf
        elif trials[i] == 0:
            scores[i] = math.inf
        else:
            mean = min(max(successes[i] / trials[i], 0.0), 1.0)
            candidates = np.linspace(mean, 1.0, grid_points)
            p = min(max(mean, KL_CLIP), 1 - KL_CLIP)
            q = np.clip(candidates, KL_CLIP, 1 - KL_CLIP)
            kl = p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))
            scores[i] = candidates[trials[i] * kl <= budget].max()
    return scores


def argmax_shares(scores: NDArray[np.float64], live: NDArray[np.bool_]) -> NDArray[np.float64]:
    live_scores = [scores[i] for i in range(len(scores)) if live[i]]
    shares = np.zeros(len(scores))
    if not live_scores:
        return shares
    best = max(live_scores)
    winners = [i for i in range(len(scores)) if live[i] and scores[i] == best]
    for i in winners:
        shares[i] = 1 / len(winners)
    return shares


def epsilon_greedy_shares(
    trials: NDArray[np.float64],
    successes: NDArray[np.float64],
    live: NDArray[np.bool_],
    epsilon: float,
) -> NDArray[np.float64]:
    means = np.array([s / t if t > 0 else 0.0 for s, t in zip(successes, trials, strict=True)])
    greedy = argmax_shares(means, live)
    k = int(sum(live))
    shares = np.zeros(len(trials))
    for i in range(len(trials)):
        if live[i]:
            shares[i] = epsilon / k + (1 - epsilon) * greedy[i]
    return shares


def fixed_shares(weights: NDArray[np.float64], live: NDArray[np.bool_]) -> NDArray[np.float64]:
    live_total = sum(weights[i] for i in range(len(weights)) if live[i])
    k = int(sum(live))
    shares = np.zeros(len(weights))
    for i in range(len(weights)):
        if live[i]:
            shares[i] = weights[i] / live_total if live_total > 0 else 1 / k
    return shares


def cumulative(shares: NDArray[np.float64]) -> NDArray[np.float64]:
    out = np.empty(len(shares))
    running = 0.0
    for i, share in enumerate(shares):
        running += share
        out[i] = running
    return out


def categorical_index(cum_shares: NDArray[np.float64], u: float) -> int:
    """Linear scan; past the end, the last arm whose share is positive (-1 if none is)."""
    for i, edge in enumerate(cum_shares):
        if u < edge:
            return i
    shares = np.diff(np.concatenate([[0.0], cum_shares]))
    positive = [i for i, share in enumerate(shares) if share > 0]
    return positive[-1] if positive else -1


GRID = np.linspace(0.0, 1.0, 200_001)


def beta_pdf(a: float, b: float, x: NDArray[np.float64] = GRID) -> NDArray[np.float64]:
    log_norm = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
    with np.errstate(divide="ignore"):
        # For a, b > 1 the log at 0 or 1 is -inf and the density there correctly becomes 0.
        return np.exp(log_norm + (a - 1) * np.log(x) + (b - 1) * np.log1p(-x))


def cumulative_trapezoid(y: NDArray[np.float64], x: NDArray[np.float64]) -> NDArray[np.float64]:
    areas = (y[1:] + y[:-1]) / 2 * np.diff(x)
    return np.concatenate([[0.0], np.cumsum(areas)])


def beta_cdf(a: float, b: float, x: NDArray[np.float64] = GRID) -> NDArray[np.float64]:
    cdf = cumulative_trapezoid(beta_pdf(a, b, x), x)
    assert abs(cdf[-1] - 1) < 1e-6, "grid too coarse for this Beta"
    return cdf


def beta_prob_best(
    alpha: NDArray[np.float64], beta: NDArray[np.float64], live: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """P(arm i's draw is the max) = integral of pdf_i * prod of the other live CDFs."""
    cdfs = {i: beta_cdf(alpha[i], beta[i]) for i in range(len(alpha)) if live[i]}
    prob = np.zeros(len(alpha))
    for i in cdfs:
        others = np.ones_like(GRID)
        for j, cdf in cdfs.items():
            if j != i:
                others = others * cdf
        integrand = beta_pdf(alpha[i], beta[i]) * others
        prob[i] = cumulative_trapezoid(integrand, GRID)[-1]
    return prob


def beta_quantile(a: float, b: float, q: float) -> float:
    return float(np.interp(q, beta_cdf(a, b), GRID))


def normal_prob_first_beats_second(m1: float, s1: float, m2: float, s2: float) -> float:
    """P(X1 > X2) for independent normals: Phi((m1 - m2) / sqrt(s1^2 + s2^2))."""
    z = (m1 - m2) / math.sqrt(s1**2 + s2**2)
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def _clipped_total(
    lam: float,
    shares: NDArray[np.float64],
    members: list[int],
    floor: NDArray[np.float64],
    cap: NDArray[np.float64],
) -> float:
    return sum(
        floor[i] if shares[i] == 0 else min(max(lam * shares[i], floor[i]), cap[i]) for i in members
    )


def _bisect_level(total: Callable[[float], float], high: float, target: float) -> float:
    """The level where a non-decreasing total reaches target, by 200 halvings of [0, high]."""
    low = 0.0
    for _ in range(200):
        middle = (low + high) / 2
        if total(middle) >= target:
            high = middle
        else:
            low = middle
    return high


def constrain_shares(
    shares: NDArray[np.float64],
    live: NDArray[np.bool_],
    floor: NDArray[np.float64],
    cap: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Plain bisection on the common multiplier, then (if that falls short) on an even level."""
    n = len(shares)
    out = np.zeros(n)
    members = [i for i in range(n) if live[i]]
    if not members:
        return out
    floor_total = sum(floor[i] for i in members)
    cap_total = sum(cap[i] for i in members)
    if floor_total > 1:
        for i in members:
            out[i] = floor[i] / floor_total
        return out
    if cap_total < 1:
        for i in members:
            out[i] = cap[i] / cap_total if cap_total > 0 else 1 / len(members)
        return out
    positive = [i for i in members if shares[i] > 0]
    zero = [i for i in members if shares[i] == 0]
    if sum(cap[i] for i in positive) + sum(floor[i] for i in zero) >= 1:
        high = max(cap[i] / shares[i] for i in positive)
        lam = _bisect_level(lambda x: _clipped_total(x, shares, members, floor, cap), high, 1.0)
        for i in members:
            out[i] = floor[i] if shares[i] == 0 else min(max(lam * shares[i], floor[i]), cap[i])
        return out
    for i in positive:
        out[i] = cap[i]
    rest = 1 - sum(cap[i] for i in positive)
    even = np.ones(n)
    level = _bisect_level(lambda x: _clipped_total(x, even, zero, floor, cap), 1.0, rest)
    for i in zero:
        out[i] = min(max(level, floor[i]), cap[i])
    return out


UINT64_MASK = 2**64 - 1


def splitmix64(x: int) -> int:
    z = (x + 0x9E3779B97F4A7C15) & UINT64_MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & UINT64_MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & UINT64_MASK
    return z ^ (z >> 31)


def sticky_index(shares: NDArray[np.float64], salts: NDArray[np.uint64], unit_hash: int) -> int:
    """Exponential race: smallest -log(u) / share, u from the top 53 bits of splitmix64."""
    scores = {}
    for i, share in enumerate(shares):
        if share > 0:
            u = ((splitmix64(unit_hash ^ int(salts[i])) >> 11) + 0.5) / 2**53
            scores[i] = -math.log(u) / share
    return min(scores, key=lambda i: scores[i]) if scores else -1


def beta_prob_above(a: float, b: float, threshold: float) -> float:
    return 1 - float(np.interp(threshold, GRID, beta_cdf(a, b)))


def beta_prob_exceeds_by(
    alpha_a: float, beta_a: float, alpha_c: float, beta_c: float, margin: float
) -> float:
    """P(A - C > margin) = integral over c of pdf_C(c) * (1 - cdf_A(c + margin))."""
    cdf_a = np.interp(GRID + margin, GRID, beta_cdf(alpha_a, beta_a), left=0.0, right=1.0)
    integrand = beta_pdf(alpha_c, beta_c) * (1 - cdf_a)
    return float(cumulative_trapezoid(integrand, GRID)[-1])


def beta_expected_loss(
    alpha: NDArray[np.float64], beta: NDArray[np.float64], live: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """E[max] - E[theta_i], with E[max] = integral over [0, 1] of 1 - prod of live CDFs."""
    product = np.ones_like(GRID)
    for i in range(len(alpha)):
        if live[i]:
            product = product * beta_cdf(alpha[i], beta[i])
    expected_max = float(cumulative_trapezoid(1 - product, GRID)[-1])
    return np.array(
        [
            expected_max - alpha[i] / (alpha[i] + beta[i]) if live[i] else 0.0
            for i in range(len(alpha))
        ]
    )


def normal_pdf(z: float) -> float:
    return math.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def normal_cdf(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def normal_expected_positive_part(mean_y: float, sd_y: float, mean_x: float, sd_x: float) -> float:
    """E[(Y - X)^+] = E[max(X, Y) - X] for independent normals: s phi(d/s) + d Phi(d/s)."""
    d = mean_y - mean_x
    s = math.sqrt(sd_x**2 + sd_y**2)
    return s * normal_pdf(d / s) + d * normal_cdf(d / s)


def normal_best_and_loss(
    means: NDArray[np.float64], sds: NDArray[np.float64], points: int = 400_001
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """P(best) and E[max] - mean_i for independent normals (all live), by grid integration."""
    low = float(min(means - 12 * sds))
    high = float(max(means + 12 * sds))
    t = np.linspace(low, high, points)
    erf = np.vectorize(math.erf)
    cdfs = [0.5 * (1 + erf((t - m) / (s * math.sqrt(2)))) for m, s in zip(means, sds, strict=True)]
    pdfs = [
        np.exp(-(((t - m) / s) ** 2) / 2) / (s * math.sqrt(2 * math.pi))
        for m, s in zip(means, sds, strict=True)
    ]
    product = np.prod(cdfs, axis=0)
    expected_max = low + float(cumulative_trapezoid(1 - product, t)[-1])
    prob_best = np.empty(len(means))
    for i in range(len(means)):
        others = np.prod([cdfs[j] for j in range(len(means)) if j != i], axis=0)
        prob_best[i] = cumulative_trapezoid(pdfs[i] * others, t)[-1]
    return prob_best, expected_max - means
