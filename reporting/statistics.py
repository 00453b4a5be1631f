"""Statistics over seeds, for every table Plotter.py writes: n, mean and a 95% confidence interval of one
configuration's per-seed values, and the paired comparison of two configurations on their common seeds.

The formulas are scipy.stats': Student's t interval (`scipy.stats.t.interval` around the mean, scaled by
`scipy.stats.sem`) and the paired t-test (`scipy.stats.ttest_rel`, two-sided, with its confidence interval of
the mean difference). Missing values (NaN) are left out, so n counts the values there are. One value has no
interval; values that are all equal have an interval of width 0, and differences that are all equal have no
t-test (its statistic divides by their spread). The tables say so in words and print no NaN as a number.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
# Values closer than this count as equal (sums of the same accuracies in another order differ in the last bits;
# real differences of accuracies are at least 1 / test examples).
SPREAD_TOLERANCE = 1e-12

STATISTICS_NOTE = (f"n: seeds with a value; {CONFIDENCE:.0%} CI: Student's t interval over the seeds "
                   "(scipy.stats), none with n = 1.")
PAIRED_NOTE = ("Paired over the seeds both configurations ran (others left out): difference = first minus second, "
               f"in percentage points, mean over the pairs, its {CONFIDENCE:.0%} CI (Student's t) and the two-sided "
               "p-value of the paired t-test (scipy.stats.ttest_rel); with fewer than 2 pairs there is neither, and "
               "none of the p-values is corrected for the number of comparisons.")


def _finite(values):
    values = np.asarray(values, dtype=float).ravel()
    return values[np.isfinite(values)]


def _spread(values):
    return float(np.ptp(values)) if len(values) else 0.0


@dataclass(frozen=True)
class Summary:
    """n, mean, standard deviation (n - 1 degrees of freedom), CI bounds, min and max of a set of values (NaN
    where undefined: everything for n = 0, sd and the interval for n = 1)."""

    n: int
    mean: float
    sd: float
    low: float
    high: float
    min: float
    max: float
    confidence: float = CONFIDENCE

    @property
    def has_interval(self):
        return self.n >= 2


def summarise(values, confidence=CONFIDENCE):
    """The Summary of the finite values among `values`."""
    values = _finite(values)
    n = len(values)
    if n == 0:
        return Summary(0, *[math.nan] * 6, confidence=confidence)
    mean = float(np.mean(values))
    low = high = sd = math.nan
    if n >= 2:
        sd = float(np.std(values, ddof=1))
        if _spread(values) <= SPREAD_TOLERANCE:
            low = high = mean  # no spread: scipy's interval of scale 0 is undefined, the exact one is the point
        else:
            low, high = (float(bound) for bound in stats.t.interval(confidence, n - 1, loc=mean,
                                                                     scale=stats.sem(values)))
    return Summary(n, mean, sd, low, high, float(np.min(values)), float(np.max(values)), confidence)


@dataclass(frozen=True)
class Paired:
    """The paired comparison of two configurations: the seeds both have a value for, the mean difference (first
    minus second) with its CI, and the paired t-test's statistic and p-value (NaN where undefined)."""

    seeds: tuple
    difference: Summary
    first_mean: float
    second_mean: float
    statistic: float
    p_value: float

    @property
    def n(self):
        return len(self.seeds)

    @property
    def has_test(self):
        return math.isfinite(self.p_value)


def paired(first, second, confidence=CONFIDENCE):
    """Compares two {seed: value} mappings on the seeds in both (values that are NaN left out)."""
    seeds = tuple(seed for seed in first if seed in second
                  and math.isfinite(first[seed]) and math.isfinite(second[seed]))
    a = np.array([first[seed] for seed in seeds], dtype=float)
    b = np.array([second[seed] for seed in seeds], dtype=float)
    difference = summarise(a - b, confidence)
    statistic = p_value = math.nan
    if len(seeds) >= 2 and _spread(a - b) > SPREAD_TOLERANCE:
        result = stats.ttest_rel(a, b)
        statistic, p_value = float(result.statistic), float(result.pvalue)
        low, high = result.confidence_interval(confidence)
        difference = Summary(difference.n, difference.mean, difference.sd, float(low), float(high),
                             difference.min, difference.max, confidence)
    means = (float(np.mean(a)), float(np.mean(b))) if len(seeds) else (math.nan, math.nan)
    return Paired(seeds, difference, *means, statistic, p_value)


# How the tables show them: accuracies in percent (2 decimals), differences in signed percentage points.

def percent(value, signed=False):
    if value is None or not math.isfinite(value):
        return "n/a"
    return f"{100 * value:+.2f}" if signed else f"{100 * value:.2f}"


def interval_text(summary, signed=False):
    """'[low, high]' in percent; 'none (n = 1)' or 'n/a' where there is no interval."""
    if summary.n == 0:
        return "n/a"
    if not summary.has_interval:
        return f"none (n = {summary.n})"
    return f"[{percent(summary.low, signed)}, {percent(summary.high, signed)}]"


def mean_interval_text(summary):
    """'mean [low, high]' in percent, for tables with one column per value; 'mean (n = 1, no CI)' for one value."""
    if summary.n == 0:
        return "n/a"
    if not summary.has_interval:
        return f"{percent(summary.mean)} (n = {summary.n}, no CI)"
    return f"{percent(summary.mean)} {interval_text(summary)}"


def p_value_text(comparison):
    if comparison.n < 2:
        return "n/a"
    if not comparison.has_test:
        return "n/a (no spread)"
    p = comparison.p_value
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def number(value):
    """Full precision for CSV files; an empty cell for a missing or undefined value."""
    return "" if value is None or not math.isfinite(value) else repr(float(value))
