"""Small-sample statistics for seed studies: mean ± std and paired differences with a t interval.

Runs of two methods with the same seeds share the data order and the initial weights, so the
per-seed difference removes much of the seed-to-seed spread; its 95 % interval is Student's t
interval for the mean of the differences (n - 1 degrees of freedom).
"""
from __future__ import annotations

import math
from typing import Dict, Sequence

# Two-sided 95 % quantiles of Student's t (0.975 quantile) by degrees of freedom; from the standard
# table (e.g. NIST/SEMATECH e-Handbook, table 1.3.6.7.2). Past 30 the value for 30 is used, which
# only widens the interval a little (the quantile falls to 1.96).
T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
         10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110, 18: 2.101,
         19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060, 26: 2.056, 27: 2.052,
         28: 2.048, 29: 2.045, 30: 2.042}
# Beyond 30 degrees of freedom (large samples, e.g. hundreds of patches): the table's rows for 40, 60
# and 120 and the normal quantile; the row at or below the actual degrees of freedom is used.
T_975_LARGE = ((120, 1.980), (60, 2.000), (40, 2.021), (30, 2.042))
Z_975 = 1.959964


def t_quantile(df: int) -> float:
    """Two-sided 95 % quantile of Student's t with ``df`` degrees of freedom (conservative past 30)."""
    if df <= 30:
        return T_975[df]
    if df > 1000:
        return Z_975
    return next(t for rows, t in T_975_LARGE if df >= rows)


def mean_std(values: Sequence[float]) -> Dict[str, float]:
    """Mean and sample standard deviation (n - 1 in the denominator; 0 for a single value).

    Raises:
        ValueError: no values.
    """
    if len(values) == 0:
        raise ValueError("mean_std needs at least one value")
    n = len(values)
    mean = sum(values) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else 0.0
    return {"mean": mean, "std": std, "n": n}


def paired_difference(a: Sequence[float], b: Sequence[float]) -> Dict[str, float]:
    """Mean of ``a[i] - b[i]`` over paired runs (same seed) and its 95 % t interval.

    Args:
        a, b: one figure per seed, in the same seed order.

    Returns:
        mean, std (of the differences), n, low and high (the interval; equal to the mean for n = 1,
        where no interval exists: ``low``/``high`` are then NaN).

    Raises:
        ValueError: the two lists differ in length or are empty.
    """
    if len(a) != len(b) or not a:
        raise ValueError(f"paired_difference needs two equally long, non-empty lists (got {len(a)} and {len(b)})")
    stats = mean_std([x - y for x, y in zip(a, b)])
    n = stats["n"]
    if n < 2:
        return dict(stats, low=math.nan, high=math.nan)
    half = T_975[min(n - 1, 30)] * stats["std"] / math.sqrt(n)
    return dict(stats, low=stats["mean"] - half, high=stats["mean"] + half)


def mean_interval(values: Sequence[float]) -> Dict[str, float]:
    """Mean of ``values`` and its 95 % t interval (n - 1 degrees of freedom; NaN bounds for n < 2).

    Raises:
        ValueError: no values.
    """
    stats = mean_std(values)
    n = stats["n"]
    if n < 2:
        return dict(stats, low=math.nan, high=math.nan)
    half = t_quantile(n - 1) * stats["std"] / math.sqrt(n)
    return dict(stats, low=stats["mean"] - half, high=stats["mean"] + half)


def wilson_interval(successes: int, n: int) -> Dict[str, float]:
    """Share ``successes / n`` and its 95 % Wilson score interval (sound near 0 and 1 and for small n).

    Returns:
        p, low, high, n (NaN share and bounds when n = 0).
    """
    if n == 0:
        return {"p": math.nan, "low": math.nan, "high": math.nan, "n": 0}
    if not 0 <= successes <= n:
        raise ValueError(f"wilson_interval needs 0 <= successes <= n, got {successes} of {n}")
    p, z2 = successes / n, Z_975 ** 2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z_975 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return {"p": p, "low": max(0.0, centre - half), "high": min(1.0, centre + half), "n": n}
