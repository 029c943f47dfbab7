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
