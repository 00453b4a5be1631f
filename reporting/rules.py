"""Reporting rules: which epoch of each run a table reports, chosen by Plotter.py --reporting-rule.

- `authors` (the default): the 2020 authors' rule (peak.py): every run's test accuracy at the epoch where the
  configuration's mean test-accuracy curve over its runs peaks (the earliest on a tie). It selects on the test set.
- `best-validation`: each run's test accuracy at its own epoch of highest validation accuracy (the earliest on a
  tie; a run without validation accuracy has no value and is left out of n).
- `final`: each run's test accuracy at the last epoch its configuration's runs have in common.

Every epoch counts, epoch 0 (before training) included, over the epochs common to the configuration's runs
(merge.py). `reported_of` gives one configuration's per-seed values, their statistics (statistics.py) and the
weight fractions at the reported epochs.
"""

import math
from dataclasses import dataclass

import numpy as np

from reporting.peak import TIE_TOLERANCE, peak_epoch
from reporting.statistics import CONFIDENCE, Summary, summarise

RULES = {
    "authors": "the authors' rule: each run's test accuracy at the epoch where the configuration's mean test-accuracy "
               "curve over its seeds peaks (earliest on a tie; it selects on the test set)",
    "best-validation": "each run's test accuracy at its own epoch of best validation accuracy (earliest on a tie)",
    "final": "each run's test accuracy at the last epoch its configuration's runs have in common",
}
SHORT = {"authors": "the epoch where the mean test accuracy over seeds peaks",
         "best-validation": "each run's epoch of best validation accuracy", "final": "the last epoch"}
DEFAULT_RULE = "authors"
NO_EPOCH = -1  # a run that has no epoch under the rule (best-validation without validation accuracy)


def rule_sentence(rule):
    """The line every table carries under it."""
    return f"Reporting rule '{rule}' (Plotter.py --reporting-rule {rule}): {RULES[rule]}."


def rule_label(rule):
    """A short line naming the rule and the statistics (under the LaTeX tables)."""
    return f"Reporting rule: {rule} ({SHORT[rule]}); n, mean and {CONFIDENCE:.0%} CI over seeds (Student's t)."


def _earliest_best(curve):
    finite = np.isfinite(curve)
    if not finite.any():
        return NO_EPOCH
    return int(np.flatnonzero(finite & (curve >= np.max(curve[finite]) - TIE_TOLERANCE))[0])


def reported_epochs(configuration, rule):
    """The epoch each run of the configuration is reported at (NO_EPOCH where it has none), in run order."""
    accuracy = configuration.arrays["testAccuracy"]
    runs = accuracy.shape[1]
    if rule == "authors":
        return np.full(runs, peak_epoch(accuracy.mean(axis=1)), dtype=int)
    if rule == "final":
        return np.full(runs, accuracy.shape[0] - 1, dtype=int)
    if rule == "best-validation":
        validation = configuration.arrays["valAccuracy"]
        return np.array([_earliest_best(validation[:, run]) for run in range(runs)], dtype=int)
    raise ValueError(f"unknown reporting rule '{rule}' (choose from {', '.join(RULES)})")


def _at(array, epochs):
    """array[epoch, run] for each run's epoch (NaN where it has none)."""
    return np.array([array[epoch, run] if epoch != NO_EPOCH else math.nan for run, epoch in enumerate(epochs)])


def _mean(values):
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else math.nan


@dataclass
class Reported:
    """One configuration under a reporting rule: each run's seed, epoch and test accuracy, their Summary, the mean
    weight fractions at those epochs, and the authors' peak epoch (which the CSV tables keep)."""

    rule: str
    seeds: tuple
    epochs: np.ndarray
    values: np.ndarray
    summary: Summary
    remaining: float
    flipped: float
    changed: float
    weight_measure: str  # 'flipped' for flipping configurations (masktype flip), else 'remaining'
    peak_epoch: int

    @property
    def runs(self):
        return len(self.seeds)

    @property
    def mean(self):
        return self.summary.mean

    @property
    def min(self):
        return self.summary.min

    @property
    def max(self):
        return self.summary.max

    @property
    def weight_fraction(self):
        return self.flipped if self.weight_measure == "flipped" else self.remaining

    def by_seed(self):
        """{seed: test accuracy} (NaN where a run has no value under the rule)."""
        return dict(zip(self.seeds, (float(value) for value in self.values)))

    def epoch_text(self):
        """The reported epoch, or the range of the runs' epochs when they differ ('n/a' when none has one)."""
        epochs = self.epochs[self.epochs != NO_EPOCH]
        if not len(epochs):
            return "n/a"
        low, high = int(epochs.min()), int(epochs.max())
        return str(low) if low == high else f"{low}-{high}"

    def epochs_field(self):
        """The runs' epochs in seed order, ';'-separated (empty for a run without one), for CSV files."""
        return ";".join("" if epoch == NO_EPOCH else str(int(epoch)) for epoch in self.epochs)


def reported_of(configuration, rule=DEFAULT_RULE):
    """The rule applied to a merged Configuration."""
    arrays = configuration.arrays
    epochs = reported_epochs(configuration, rule)
    values = _at(arrays["testAccuracy"], epochs)
    return Reported(rule=rule, seeds=tuple(run.seed for run in configuration.runs), epochs=epochs, values=values,
                    summary=summarise(values), remaining=_mean(_at(arrays["remainingFraction"], epochs)),
                    flipped=_mean(_at(arrays["flippedFraction"], epochs)),
                    changed=_mean(_at(arrays["changedFraction"], epochs)),
                    weight_measure="flipped" if configuration.is_flip else "remaining",
                    peak_epoch=peak_epoch(arrays["testAccuracy"].mean(axis=1)))
