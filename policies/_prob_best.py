"""P(arm is best) by deterministic numerical integration: the traffic shares of Thompson sampling.

For independent posteriors with densities f_j and CDFs F_j,

    P(arm i is best) = integral of f_i(x) * product over live j != i of F_j(x) dx.

The integral runs over Gauss-Legendre panels no wider than _PANEL_SDS standard deviations of
the narrowest posterior whose mass is at that point, so a narrow posterior inside a wide one
is still resolved. Normal CDFs come from erfc. A Beta CDF comes from the continued fraction
of the regularised incomplete beta when alpha or beta is small (under 20 steps there), and
otherwise from a per-arm table: the exact density integrated between grid points half a
standard deviation apart, interpolated by quintic Hermite (the CDF, the density and its slope
are all known at each grid point). Like _kernels, these never validate and never raise.

The integral runs over x up to 0.5 and over x - 1 from there on (the two "sides"), so that
values within 1e-16 of 1, where doubles near 1 run out, stay as distinct as those near 0:
a Beta with a small beta and a large alpha can keep much of its mass there.
"""

import math

import numpy as np
from numpy.typing import NDArray

from policies._kernels import njit

# How each distinct posterior's CDF and density are evaluated; its params row holds:
_NORMAL = 0  # mean in x, mean in x - 1, sd
_BETA_FRACTION = 1  # alpha, beta, log B(alpha, beta)
_BETA_TABLE = 2  # alpha, beta, mean, 1 - mean, grid start (from the mean), grid step,
#                  number of grid steps, log of the density's scale
_N_PARAMS = 8

# Mass further than this many sds from the mean is left out: 6e-16 of a normal, under 1e-8
# of a Beta with alpha, beta >= _BETA_NEAR_NORMAL. A skewed Beta reaches further: with a small
# parameter p its long tail is that of a Gamma(p), whose sd is sqrt(p), and keeping all but
# about 1e-10 of that takes some 24 / sqrt(p) sds (24 for an exponential, 76 for p = 0.1).
_REACH_SDS = 8.0
_SKEWED_REACH_SDS = 12.0
_SKEWED_REACH_SCALE = 24.0
# Below this alpha or beta the continued fraction needs under 20 steps, while a table at
# _TABLE_STEP_SDS would misread the skewed density near 0 or 1 (errors up to 5e-5 at alpha 3).
# From here on the table's CDF is within about 1e-6.
_BETA_NEAR_NORMAL = 50.0
# From here on a Beta's skewness (about 2 / sqrt(min(alpha, beta))) moves a normal
# approximation's CDF by under 5e-6, and a normal needs no table.
_BETA_NORMAL_MIN = 1e9
# A normal sd is never taken below this fraction of |mean| (nor below _MIN_SD): narrower than
# a few thousand ulps of the mean, no grid could resolve it. The floor only matters for means
# so close that which one is higher is noise.
_MIN_RELATIVE_SD = 1e-12
_MIN_SD = 1e-300

# Panels span at most this many sds of the narrowest posterior around; six Gauss-Legendre
# nodes integrate a normal-shaped integrand over such a panel to about 1e-9.
_PANEL_SDS = 2.0
_PANEL_NODES, _PANEL_WEIGHTS = np.polynomial.legendre.leggauss(6)
# Beta tables: grid step in sds, and three Gauss-Legendre nodes per step for the CDF
# increments; quintic Hermite between grid points is then within about 1e-6 of the CDF.
_TABLE_STEP_SDS = 0.5
_TABLE_NODES, _TABLE_WEIGHTS = np.polynomial.legendre.leggauss(3)
_TABLE_MAX_STEPS = int(2.0 * _REACH_SDS / _TABLE_STEP_SDS) + 1
# Where a Beta parameter p is below 2, the density near that end of [0, 1] goes like
# distance^(p - 1): infinite, or with an infinite slope. A panel touching that end is split
# geometrically, each piece _GRADING_RATIO the width of the next, so that every piece sees a
# smooth stretch of it, until the innermost holds a fraction below exp(-_GRADING_DEPTH)
# (about 1e-7) of the panel's mass: about 12 / p pieces.
_ROUGH_BELOW = 2.0
_GRADING_RATIO = 0.25
_GRADING_DEPTH = 16.0
_MAX_GRADING_STEPS = 200
# Panel layouts stay far below this (each posterior's window adds at most 2 * reach /
# _PANEL_SDS + 1 panels); it only bounds the loop should a NaN slip in.
_MAX_PANELS = 100_000

# Continued fraction: stop once a step changes it by less than this (it needs under 20
# steps for the parameters it is used for; the cap only guards against a NaN input).
_FRACTION_TOLERANCE = 1e-13
_FRACTION_MAX_STEPS = 200
_TINY = 1e-300
# log B(a, b) switches from lgamma differences to Stirling's series once a parameter is this big.
_STIRLING_FROM = 1e6

_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_TWO_PI = 1.0 / math.sqrt(2.0 * math.pi)


# ---------------------------------------------------------------------------------------------
# One posterior's CDF and density at v, which is x on side 0 and x - 1 on side 1


@njit(cache=True)
def _normal_cdf_pdf(x: float, mean: float, sd: float) -> tuple[float, float]:
    z = (x - mean) / sd
    return 0.5 * math.erfc(-z * _SQRT_HALF), math.exp(-0.5 * z * z) * _INV_SQRT_TWO_PI / sd


@njit(cache=True)
def _away_from_zero(value: float) -> float:
    return value if abs(value) >= _TINY else _TINY


@njit(cache=True)
def _beta_fraction(a: float, b: float, x: float) -> float:
    # The continued fraction of I_x(a, b) without its x^a (1 - x)^b / (a B(a, b)) prefactor,
    # by the modified Lentz method (Numerical Recipes, 6.4). Fast for x < (a + 1) / (a + b + 2).
    c = 1.0
    d = 1.0 / _away_from_zero(1.0 - (a + b) * x / (a + 1.0))
    fraction = d
    for m in range(1, _FRACTION_MAX_STEPS + 1):
        even = m * (b - m) * x / ((a - 1.0 + 2 * m) * (a + 2 * m))
        d = 1.0 / _away_from_zero(1.0 + even * d)
        c = _away_from_zero(1.0 + even / c)
        fraction *= d * c
        odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 1.0 + 2 * m))
        d = 1.0 / _away_from_zero(1.0 + odd * d)
        c = _away_from_zero(1.0 + odd / c)
        change = d * c
        fraction *= change
        if abs(change - 1.0) < _FRACTION_TOLERANCE:
            break
    return fraction


@njit(cache=True)
def _incomplete_beta_pair(
    a: float, b: float, log_beta: float, x: float, y: float
) -> tuple[float, float]:
    """(I_x(a, b), 1 - I_x(a, b)) for y = 1 - x, passed in so that it keeps its precision."""
    if x <= 0.0:
        return 0.0, 1.0
    if y <= 0.0:
        return 1.0, 0.0
    front = math.exp(a * math.log(x) + b * math.log(y) - log_beta)
    if x < (a + 1.0) / (a + b + 2.0):
        lower = min(front * _beta_fraction(a, b, x) / a, 1.0)
        return lower, 1.0 - lower
    upper = min(front * _beta_fraction(b, a, y) / b, 1.0)
    return 1.0 - upper, upper


@njit(cache=True)
def _stirling_remainder(x: float) -> float:
    # lgamma(x) - ((x - 0.5) log x - x + log(2 pi) / 2), to double precision for x >= 1e6.
    return 1.0 / (12.0 * x) - 1.0 / (360.0 * x * x * x)


@njit(cache=True)
def log_beta_function(a: float, b: float) -> float:
    """log B(a, b), accurate also when one parameter is huge and the other small."""
    small, big = min(a, b), max(a, b)
    if big < _STIRLING_FROM:
        return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    # lgamma(big) - lgamma(big + small) by Stirling, term by term: lgamma(1e12) alone is
    # 2.6e13, and subtracting two of those would leave only about 3e-3 of precision.
    total = big + small
    difference = (
        -(big - 0.5) * math.log1p(small / big)
        - small * math.log(total)
        + small
        + _stirling_remainder(big)
        - _stirling_remainder(total)
    )
    return math.lgamma(small) + difference


@njit(cache=True)
def beta_cdf(a: float, b: float, x: float) -> float:
    """The Beta(a, b) CDF at x: the regularised incomplete beta function I_x(a, b)."""
    return _incomplete_beta_pair(a, b, log_beta_function(a, b), x, 1.0 - x)[0]


@njit(cache=True)
def _beta_fraction_cdf_pdf(
    v: float, side: int, a: float, b: float, log_beta: float
) -> tuple[float, float]:
    # x and 1 - x both straight from v, so that the one near 0 keeps its precision.
    x = v if side == 0 else 1.0 + v
    y = 1.0 - v if side == 0 else -v
    if x <= 0.0 or y <= 0.0:
        return (0.0 if x <= 0.0 else 1.0), 0.0
    log_density = (a - 1.0) * math.log(x) + (b - 1.0) * math.log(y) - log_beta
    return _incomplete_beta_pair(a, b, log_beta, x, y)[0], math.exp(log_density)


@njit(cache=True)
def _beta_log_shape(s: float, a: float, b: float, mean: float, complement: float) -> float:
    # log of the Beta density at mean + s over its value at the mean (complement = 1 - mean).
    # Measured from the mean, the terms stay small: for alpha near 1e7, alpha * log(x) alone
    # would lose 1e-8 to rounding.
    return (a - 1.0) * math.log1p(s / mean) + (b - 1.0) * math.log1p(-s / complement)


@njit(cache=True)
def _beta_shape_and_slope(
    s: float, a: float, b: float, mean: float, complement: float
) -> tuple[float, float]:
    # exp(_beta_log_shape) and its derivative. Tables only hold a, b >= 50, where both are 0
    # at either end of [0, 1] (tested first: (a - 1) / x there would be 0 * inf).
    if s <= -mean or s >= complement:
        return 0.0, 0.0
    shape = math.exp(_beta_log_shape(s, a, b, mean, complement))
    return shape, shape * ((a - 1.0) / (mean + s) - (b - 1.0) / (complement - s))


@njit(cache=True)
def _fill_beta_table(
    a: float,
    b: float,
    mean: float,
    complement: float,
    start: float,
    step: float,
    n_steps: int,
    table: NDArray[np.float64],
) -> float:
    """table[k] = (CDF, density, slope) at x = mean + start + k * step; returns the log scale.

    The CDF starts at 0 (the mass below start is beyond the reach) and is normalised to end
    at 1, and the density with it: the table describes the Beta truncated to the grid.
    """
    total = 0.0
    half = 0.5 * step
    for k in range(n_steps + 1):
        s = start + k * step
        shape, slope = _beta_shape_and_slope(s, a, b, mean, complement)
        table[k, 0] = total
        table[k, 1] = shape
        table[k, 2] = slope
        if k < n_steps:
            for node in range(_TABLE_NODES.shape[0]):
                at = s + half * (1.0 + _TABLE_NODES[node])
                shape = math.exp(_beta_log_shape(at, a, b, mean, complement))
                total += half * _TABLE_WEIGHTS[node] * shape
    scale = 1.0 / total
    for k in range(n_steps + 1):
        for column in range(3):
            table[k, column] *= scale
    return math.log(scale)


@njit(cache=True)
def _table_cdf(
    tables: NDArray[np.float64], g: int, start: float, step: float, n_steps: int, s: float
) -> float:
    # Quintic Hermite through the CDF and its first two derivatives at the grid points around s.
    position = (s - start) / step
    k = min(max(int(position), 0), n_steps - 1)
    t = position - k
    t2 = t * t
    t3 = t2 * t
    t4 = t3 * t
    t5 = t4 * t
    value: float = (
        tables[g, k, 0] * (1.0 - 10.0 * t3 + 15.0 * t4 - 6.0 * t5)
        + tables[g, k + 1, 0] * (10.0 * t3 - 15.0 * t4 + 6.0 * t5)
        + step * tables[g, k, 1] * (t - 6.0 * t3 + 8.0 * t4 - 3.0 * t5)
        + step * tables[g, k + 1, 1] * (-4.0 * t3 + 7.0 * t4 - 3.0 * t5)
        + step * step * tables[g, k, 2] * 0.5 * (t2 - 3.0 * t3 + 3.0 * t4 - t5)
        + step * step * tables[g, k + 1, 2] * 0.5 * (t3 - 2.0 * t4 + t5)
    )
    return min(max(value, 0.0), 1.0)


@njit(cache=True)
def _cdf_pdf(
    v: float,
    side: int,
    g: int,
    kinds: NDArray[np.int64],
    params: NDArray[np.float64],
    tables: NDArray[np.float64],
) -> tuple[float, float]:
    """(CDF, density) of posterior g at v (x on side 0, x - 1 on side 1)."""
    row = params[g]
    if kinds[g] == _NORMAL:
        return _normal_cdf_pdf(v, row[side], row[2])
    if kinds[g] == _BETA_FRACTION:
        return _beta_fraction_cdf_pdf(v, side, row[0], row[1], row[2])
    a, b, mean, complement = row[0], row[1], row[2], row[3]
    s = v - (mean if side == 0 else -complement)
    cdf = _table_cdf(tables, g, row[4], row[5], int(row[6]), s)
    return cdf, math.exp(_beta_log_shape(s, a, b, mean, complement) + row[7])


# ---------------------------------------------------------------------------------------------
# Describing each distinct posterior: how to evaluate it, and its window (where its mass is)


@njit(cache=True)
def _set_window(window: NDArray[np.float64], low: float, high: float, sd: float) -> None:
    window[0] = low
    window[1] = high
    window[2] = sd


@njit(cache=True)
def _describe_normal(
    g: int,
    mean: float,
    sd: float,
    kinds: NDArray[np.int64],
    params: NDArray[np.float64],
    windows: NDArray[np.float64],
) -> None:
    sd = max(sd, _MIN_RELATIVE_SD * abs(mean), _MIN_SD)
    kinds[g] = _NORMAL
    params[g, 0] = mean
    params[g, 1] = mean - 1.0
    params[g, 2] = sd
    _set_window(windows[g, 0], mean - _REACH_SDS * sd, mean + _REACH_SDS * sd, sd)
    _set_window(windows[g, 1], windows[g, 0, 0] - 1.0, windows[g, 0, 1] - 1.0, sd)


@njit(cache=True)
def _store(row: NDArray[np.float64], values: tuple[float, ...]) -> None:
    for i, value in enumerate(values):
        row[i] = value


@njit(cache=True)
def _describe_beta(
    g: int,
    a: float,
    b: float,
    kinds: NDArray[np.int64],
    params: NDArray[np.float64],
    windows: NDArray[np.float64],
    exponents: NDArray[np.float64],
    tables: NDArray[np.float64],
) -> None:
    # 1 - mean from b directly, not by subtraction, so that it keeps its precision near 0.
    # The sd floor, as for normals, only binds past 1e24 trials.
    mean = a / (a + b)
    complement = b / (a + b)
    sd = math.sqrt(mean * complement / (a + b + 1.0))
    sd = max(sd, _MIN_RELATIVE_SD * min(mean, complement), _MIN_SD)
    smaller = min(a, b)
    if smaller >= _BETA_NEAR_NORMAL:
        reach = _REACH_SDS
    else:
        reach = max(_SKEWED_REACH_SDS, _SKEWED_REACH_SCALE / math.sqrt(smaller))
    low, high = max(mean - reach * sd, 0.0), min(mean + reach * sd, 1.0)
    _set_window(windows[g, 0], low, high, sd)
    low_from_one = max(-complement - reach * sd, -1.0)
    _set_window(windows[g, 1], low_from_one, min(-complement + reach * sd, 0.0), sd)
    if smaller >= _BETA_NORMAL_MIN:
        kinds[g] = _NORMAL
        _store(params[g], (mean, -complement, sd))
    elif smaller < _BETA_NEAR_NORMAL:
        kinds[g] = _BETA_FRACTION
        _store(params[g], (a, b, log_beta_function(a, b)))
        exponents[g, 0] = a
        exponents[g, 1] = b
    else:
        # The grid is laid out from the mean, like the window but without rounding to x.
        kinds[g] = _BETA_TABLE
        start, end = max(-reach * sd, -mean), min(reach * sd, complement)
        n_steps = min(max(math.ceil((end - start) / (_TABLE_STEP_SDS * sd)), 1), _TABLE_MAX_STEPS)
        step = (end - start) / n_steps
        log_scale = _fill_beta_table(a, b, mean, complement, start, step, n_steps, tables[g])
        _store(params[g], (a, b, mean, complement, start, step, float(n_steps), log_scale))


# ---------------------------------------------------------------------------------------------
# Identical posteriors: integrated once, and each gets exactly the same share


@njit(cache=True)
def _group_identical(
    first: NDArray[np.float64],
    second: NDArray[np.float64],
    live: NDArray[np.bool_],
    group_of: NDArray[np.int64],
    members: NDArray[np.int64],
    representative: NDArray[np.int64],
) -> int:
    """group_of[i]: group of live arm i (-1 if not live); returns the number of groups.

    Live arms with equal (first, second) parameters share a group; members[g] counts them
    and representative[g] is the first of them.
    """
    n_groups = 0
    for i in range(first.shape[0]):
        group_of[i] = -1
        if not live[i]:
            continue
        for g in range(n_groups):
            r = representative[g]
            if first[r] == first[i] and second[r] == second[i]:
                group_of[i] = g
                members[g] += 1
                break
        if group_of[i] < 0:
            group_of[i] = n_groups
            representative[n_groups] = i
            members[n_groups] = 1
            n_groups += 1
    return n_groups


@njit(cache=True)
def _spread_over_arms(
    group_of: NDArray[np.int64], group_prob: NDArray[np.float64], out: NDArray[np.float64]
) -> None:
    for i in range(group_of.shape[0]):
        out[i] = group_prob[group_of[i]] if group_of[i] >= 0 else 0.0


# ---------------------------------------------------------------------------------------------
# The integration


@njit(cache=True)
def _next_edge(
    v: float, end: float, side: int, windows: NDArray[np.float64], active: NDArray[np.int64]
) -> float:
    # One panel on from v: _PANEL_SDS sds of the narrowest posterior whose window holds v,
    # cut short where a narrower posterior's window starts, so that it is never stepped over.
    # Window edges are not otherwise special: the integrand is smooth across them.
    sd = np.inf
    for g in active:
        if windows[g, side, 0] <= v < windows[g, side, 1]:
            sd = min(sd, windows[g, side, 2])
    edge = min(v + _PANEL_SDS * sd, end)
    for g in active:
        if v < windows[g, side, 0] < edge and windows[g, side, 2] < sd:
            edge = windows[g, side, 0]
    return edge


@njit(cache=True)
def _grading_steps(power: float) -> int:
    """Geometric pieces for a panel at an end where the density goes like distance^(power - 1)."""
    if not power < _ROUGH_BELOW:
        return 0
    steps = math.ceil(_GRADING_DEPTH / (power * math.log(1.0 / _GRADING_RATIO)))
    return min(steps, _MAX_GRADING_STEPS)


@njit(cache=True)
def _panel_edges(
    start: float,
    end: float,
    side: int,
    windows: NDArray[np.float64],
    active: NDArray[np.int64],
    start_steps: int,
    end_steps: int,
) -> NDArray[np.float64]:
    """Edges of the panels over [start, end], finer where posteriors are narrow, and graded
    by start_steps and end_steps geometric pieces toward either end."""
    n_panels = 0
    v = start
    while v < end and n_panels < _MAX_PANELS:
        v = _next_edge(v, end, side, windows, active)
        n_panels += 1
    edges = np.empty(n_panels + 1 + start_steps + end_steps)
    edges[0] = start
    e = 1
    for p in range(n_panels):
        edge = _next_edge(edges[e - 1], end, side, windows, active) if p < n_panels - 1 else end
        if p == 0:
            for j in range(start_steps):
                edges[e] = start + (edge - start) * _GRADING_RATIO ** (start_steps - j)
                e += 1
        if p == n_panels - 1:
            before = edges[e - 1]
            for j in range(end_steps):
                edges[e] = edge - (edge - before) * _GRADING_RATIO ** (j + 1)
                e += 1
        edges[e] = edge
        e += 1
    return edges[:e]


@njit(cache=True)
def _integrate(
    edges: NDArray[np.float64],
    side: int,
    active: NDArray[np.int64],
    members: NDArray[np.int64],
    kinds: NDArray[np.int64],
    params: NDArray[np.float64],
    windows: NDArray[np.float64],
    tables: NDArray[np.float64],
    integral: NDArray[np.float64],
) -> None:
    """Add, over the panels, the integral of f_g F_g^(members_g - 1) prod_(h != g) F_h^members_h."""
    n = active.shape[0]
    cdf = np.empty(n)
    pdf = np.empty(n)
    below = np.empty(n + 1)  # product of the powered CDFs before position j
    above = np.empty(n + 1)  # and from position j on
    for p in range(edges.shape[0] - 1):
        half = 0.5 * (edges[p + 1] - edges[p])
        middle = edges[p] + half
        for node in range(_PANEL_NODES.shape[0]):
            v = middle + half * _PANEL_NODES[node]
            for j in range(n):
                g = active[j]
                if v >= windows[g, side, 1]:
                    cdf[j], pdf[j] = 1.0, 0.0  # past the window: no mass left above
                else:
                    cdf[j], pdf[j] = _cdf_pdf(v, side, g, kinds, params, tables)
            below[0] = 1.0
            for j in range(n):
                below[j + 1] = below[j] * cdf[j] ** members[active[j]]
            above[n] = 1.0
            for j in range(n - 1, -1, -1):
                above[j] = above[j + 1] * cdf[j] ** members[active[j]]
            weight = half * _PANEL_WEIGHTS[node]
            for j in range(n):
                if pdf[j] > 0.0:
                    others = below[j] * above[j + 1] * cdf[j] ** (members[active[j]] - 1)
                    integral[active[j]] += weight * pdf[j] * others


@njit(cache=True)
def _integrate_stretch(
    start: float,
    end: float,
    side: int,
    active: NDArray[np.int64],
    members: NDArray[np.int64],
    kinds: NDArray[np.int64],
    params: NDArray[np.float64],
    windows: NDArray[np.float64],
    exponents: NDArray[np.float64],
    tables: NDArray[np.float64],
    integral: NDArray[np.float64],
) -> None:
    # Grade the panels toward x = 0 or x = 1 when the stretch reaches it, as much as the
    # roughest density there needs (exponents are inf for smooth ones).
    start_power = np.inf
    end_power = np.inf
    for g in active:
        if start <= -side:
            start_power = min(start_power, exponents[g, 0])
        if end >= 1 - side and windows[g, side, 1] >= 1 - side:
            end_power = min(end_power, exponents[g, 1])
    start_steps, end_steps = _grading_steps(start_power), _grading_steps(end_power)
    edges = _panel_edges(start, end, side, windows, active, start_steps, end_steps)
    _integrate(edges, side, active, members, kinds, params, windows, tables, integral)


@njit(cache=True)
def _highest(values: NDArray[np.float64]) -> float:
    # A loop over a strided view: one compiled specialization, where ndarray.max() and
    # literal side and column arguments would each compile their own.
    highest = -np.inf
    for value in values:
        highest = max(highest, value)
    return highest


@njit(cache=True)
def _contenders(windows: NDArray[np.float64], side: int) -> NDArray[np.int64]:
    # Below the highest window start, the posterior starting there has (almost) no mass, so no
    # other can be the largest there: a posterior whose window ends below it cannot win.
    low = _highest(windows[:, side, 0])
    active = np.empty(windows.shape[0], dtype=np.int64)
    n = 0
    for g in range(windows.shape[0]):
        if windows[g, side, 1] > low:
            active[n] = g
            n += 1
    if n == 0:  # only for windows narrower than rounding: let every posterior contend
        for g in range(windows.shape[0]):
            active[g] = g
        n = windows.shape[0]
    return active[:n]


@njit(cache=True)
def _group_prob_best(
    members: NDArray[np.int64],
    kinds: NDArray[np.int64],
    params: NDArray[np.float64],
    windows: NDArray[np.float64],
    exponents: NDArray[np.float64],
    tables: NDArray[np.float64],
) -> NDArray[np.float64]:
    """P(a given member of group g is best).

    x in [0, 0.5] is integrated on side 0, x in [0.5, 1] on side 1, where doubles are as fine
    near 1 as side 0's are near 0. (For normals, side 1 is only a shift; the split is moot.)
    """
    prob = np.zeros(members.shape[0])
    low = _highest(windows[:, 0, 0])
    high = _highest(windows[:, 0, 1])
    # Judged on side 1 when everything is above 0.5, where side 0 may not tell windows apart.
    active = _contenders(windows, 1 if low >= 0.5 else 0)
    if active.shape[0] == 1:
        prob[active[0]] = 1.0 / members[active[0]]
        return prob
    # A loop, not two calls with side 0 and 1 written out: numba would compile the whole
    # integration twice, once for each literal.
    for side in range(2):
        start = low if side == 0 else max(_highest(windows[:, 1, 0]), -0.5)
        end = min(high, 0.5) if side == 0 else _highest(windows[:, 1, 1])
        if start < end:
            _integrate_stretch(
                start, end, side, active, members, kinds, params, windows, exponents, tables, prob
            )
    total = 0.0
    for g in active:
        total += members[g] * prob[g]
    if not total > 0.0:  # unreachable for finite inputs; never hand out NaN shares
        for g in active:
            prob[g] = 1.0
        total = 0.0
        for g in active:
            total += members[g]
    for g in active:
        prob[g] /= total
    return prob


# ---------------------------------------------------------------------------------------------
# Entry points


# Tens to a few hundred microseconds, run at snapshot time: releasing the GIL lets serving
# threads keep deciding meanwhile.
@njit(cache=True, nogil=True)
def beta_prob_best(
    alpha: NDArray[np.float64],
    beta: NDArray[np.float64],
    live: NDArray[np.bool_],
    out: NDArray[np.float64],
) -> None:
    """P(arm's Beta(alpha, beta) draw is the largest among live arms), integrated; 0 if not live.

    Sums to 1 over live arms; identical posteriors get identical values, a lone live arm 1.
    """
    n = alpha.shape[0]
    group_of = np.empty(n, dtype=np.int64)
    members = np.zeros(n, dtype=np.int64)
    representative = np.zeros(n, dtype=np.int64)
    n_groups = _group_identical(alpha, beta, live, group_of, members, representative)
    if n_groups == 0:
        out[:] = 0.0
        return
    kinds = np.zeros(n_groups, dtype=np.int64)
    params = np.zeros((n_groups, _N_PARAMS))
    windows = np.zeros((n_groups, 2, 3))  # per side: low, high, sd
    exponents = np.full((n_groups, 2), np.inf)  # see _grading_steps
    tables = np.empty((n_groups, _TABLE_MAX_STEPS + 1, 3))
    for g in range(n_groups):
        r = representative[g]
        _describe_beta(g, alpha[r], beta[r], kinds, params, windows, exponents, tables)
    members = members[:n_groups]
    group_prob = _group_prob_best(members, kinds, params, windows, exponents, tables)
    _spread_over_arms(group_of, group_prob, out)


@njit(cache=True, nogil=True)
def normal_prob_best(
    means: NDArray[np.float64],
    sds: NDArray[np.float64],
    live: NDArray[np.bool_],
    out: NDArray[np.float64],
) -> None:
    """P(arm's Normal(mean, sd) draw is the largest among live arms), integrated; 0 if not live.

    Sums to 1 over live arms; identical posteriors get identical values, a lone live arm 1.
    An sd below 1e-12 of |mean| counts as that (two point masses at one mean tie).
    """
    n = means.shape[0]
    group_of = np.empty(n, dtype=np.int64)
    members = np.zeros(n, dtype=np.int64)
    representative = np.zeros(n, dtype=np.int64)
    n_groups = _group_identical(means, sds, live, group_of, members, representative)
    if n_groups == 0:
        out[:] = 0.0
        return
    kinds = np.zeros(n_groups, dtype=np.int64)
    params = np.zeros((n_groups, _N_PARAMS))
    windows = np.zeros((n_groups, 2, 3))
    exponents = np.full((n_groups, 2), np.inf)
    tables = np.empty((1, 1, 3))  # normals need no table
    for g in range(n_groups):
        r = representative[g]
        _describe_normal(g, means[r], sds[r], kinds, params, windows)
    members = members[:n_groups]
    group_prob = _group_prob_best(members, kinds, params, windows, exponents, tables)
    _spread_over_arms(group_of, group_prob, out)
