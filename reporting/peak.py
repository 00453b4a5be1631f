"""The authors' reporting rule.

Take the mean test-accuracy curve over the runs of a configuration, find the epoch where it peaks
(ties go to the earliest such epoch), and report, at that epoch, the mean, min and max test accuracy
across runs together with the weight fractions of the runs at that same epoch.
"""

from dataclasses import dataclass

import numpy as np

# Means of the same accuracies summed in a different order can differ in the last bits; values
# closer than this count as a tie. Real accuracy differences are at least 1 / (test examples x runs).
TIE_TOLERANCE = 1e-12


def peak_epoch(mean_curve):
    """The earliest epoch at which the mean curve reaches its maximum (NaN epochs ignored)."""
    curve = np.asarray(mean_curve, dtype=float)
    finite = np.isfinite(curve)
    if not finite.any():
        return 0
    best = np.max(curve[finite])
    return int(np.flatnonzero(finite & (curve >= best - TIE_TOLERANCE))[0])


@dataclass
class Peak:
    epoch: int
    runs: int
    mean: float
    min: float
    max: float
    remaining: float  # mean fraction of weights remaining (nonzero mask) at the epoch
    flipped: float  # mean fraction of weights flipped (negative mask) at the epoch
    changed: float  # mean fraction changed from the initial network (pruned or flipped)
    changed_min: float
    changed_max: float
    weight_measure: str  # 'flipped' for flipping configurations (masktype flip), else 'remaining'

    @property
    def weight_fraction(self):
        """Fraction of weights remaining (pruning, Baseline) or flipped (flipping)."""
        return self.flipped if self.weight_measure == "flipped" else self.remaining


def _stats(values):
    values = np.asarray(values, dtype=float)
    if not np.isfinite(values).any():
        return float("nan"), float("nan"), float("nan")
    return float(np.nanmean(values)), float(np.nanmin(values)), float(np.nanmax(values))


def peak_of(configuration):
    """The reporting rule applied to a merged Configuration."""
    accuracy = configuration.arrays["testAccuracy"]
    epoch = peak_epoch(accuracy.mean(axis=1))
    mean, low, high = _stats(accuracy[epoch])
    changed, changed_low, changed_high = _stats(configuration.arrays["changedFraction"][epoch])
    peak = Peak(epoch=epoch, runs=accuracy.shape[1], mean=mean, min=low, max=high,
                remaining=_stats(configuration.arrays["remainingFraction"][epoch])[0],
                flipped=_stats(configuration.arrays["flippedFraction"][epoch])[0],
                changed=changed, changed_min=changed_low, changed_max=changed_high,
                weight_measure="flipped" if configuration.is_flip else "remaining")
    return peak
