"""The trade-off figure (ShrinkBench's, Blalock et al. 2020): test accuracy against compression ratio (left) and
theoretical speed-up (right), both on log2 axes, one line per method (and other settings), one figure per network
and data set.

A line joins the configurations that differ only in their operating point (OPERATING: pruning at initialisation's
sparsity, EdgePopup's keep_fraction); a figure is drawn where some line has two operating points or more. Each
point: x, the mean over seeds of load_runs' compressionRatio or theoreticalSpeedup (reporting/costs.py: the mask's
final epoch); y, the mean test accuracy under the reporting rule (rules.py) with its 95% confidence interval over
seeds as error bars (statistics.py; none for one seed), drawn within 0-100%.
"""

import math
import os
from dataclasses import dataclass

import numpy as np

from reporting import style
from reporting.frames import ordered_groups, varying_settings
from reporting.merge import configurations_of, setting_columns
from reporting.rules import DEFAULT_RULE, SHORT, reported_of
from reporting.statistics import CONFIDENCE
from results import paths

OPERATING = ("sparsity", "keep_fraction")
AXES = (("compressionRatio", "compression ratio (all weights / kept weights)"),
        ("theoreticalSpeedup", "theoretical speed-up (dense / masked MACs)"))


@dataclass
class Series:
    """One line: per operating point (by compression), x values per cost column and the accuracy's mean and CI
    bounds (fractions; NaN where there is none) and n."""

    method: str
    label: str
    x: dict  # cost column -> [mean over seeds]
    mean: list
    low: list
    high: list
    n: list


def _cost_mean(configuration, column):
    values = [run.costs.get(column, math.nan) for run in configuration.runs]
    values = [value for value in values if value is not None and math.isfinite(value)]
    return float(np.mean(values)) if values else math.nan


def _operating(frame):
    return [name for name in OPERATING if name in frame and frame[name].notna().any()]


def tradeoff_series(configurations, rule=DEFAULT_RULE):
    """{(network, data set): [Series]} for the networks and data sets with a line of two operating points or
    more."""
    operating = _operating(configurations)
    if not operating:
        return {}
    members = configurations[configurations[operating].notna().any(axis=1)]
    found = {}
    for (network_dataset, group) in ordered_groups(members, ("nettype", "dataset")):
        lines = [configurations_of(rows)
                 for _, rows in ordered_groups(group, setting_columns(group, leaving_out=operating))]
        if not any(len(line) >= 2 for line in lines):
            continue
        names = sorted({k for line in lines for k in line[0].fields} - set(operating) - {"traintype", "nettype",
                                                                                         "dataset"})
        varying = varying_settings([line[0].fields for line in lines], names)
        series = []
        for line in sorted(lines, key=lambda line: style.method_order(line[0].get("traintype"))):
            line = sorted(line, key=lambda c: _cost_mean(c, AXES[0][0]))
            summaries = [reported_of(c, rule).summary for c in line]
            method = line[0].get("traintype")
            label = method + (f" ({style.describe(line[0].fields, varying)})" if varying else "")
            series.append(Series(method, label, {column: [_cost_mean(c, column) for c in line] for column, _ in AXES},
                                 *([getattr(s, name) for s in summaries] for name in ("mean", "low", "high", "n"))))
        found[tuple(network_dataset.values())] = series
    return found


def _log2_axis(ax, values):
    ax.set_xscale("log", base=2)
    finite = [v for v in values if math.isfinite(v) and v > 0]
    if finite:
        ticks = [2.0 ** k for k in range(math.floor(math.log2(min(finite))), math.ceil(math.log2(max(finite))) + 1)]
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])


def tradeoff_figure(network, dataset, series, rule=DEFAULT_RULE):
    figure, axes = style.new_figure(width=11.0, height=4.4)
    seen = {}
    for line in series:
        mean, low, high = (100 * np.array(values, dtype=float) for values in (line.mean, line.low, line.high))
        # A t interval over few seeds can reach past 100% (the tables give it whole); an accuracy cannot.
        low, high = np.clip(low, 0, 100), np.clip(high, 0, 100)
        errors = np.nan_to_num(np.vstack([np.clip(mean - low, 0, None), np.clip(high - mean, 0, None)]))
        linestyle = style.series_linestyle(seen, line.method)
        for ax, (column, _) in zip(axes, AXES):
            ax.errorbar(line.x[column], mean, yerr=errors, color=style.method_color(line.method),
                        marker=style.method_marker(line.method), capsize=3, markersize=5, linewidth=1.5,
                        linestyle=linestyle, label=line.label)
    for ax, (column, title) in zip(axes, AXES):
        _log2_axis(ax, [x for line in series for x in line.x[column]])
        ax.set_xlabel(f"{title}, log2 axis")
        ax.set_ylabel("test accuracy (%)")
    axes[0].set_title("Accuracy against compression", fontsize=10)
    axes[1].set_title("Accuracy against theoretical speed-up", fontsize=10)
    style.legend(figure, axes[0], beneath=True, ncol=2)  # three columns of long labels overflow the figure
    figure.suptitle(f"Trade-off: {network}, {dataset}; test accuracy at {SHORT[rule]}, mean over seeds "
                    f"(bars: {CONFIDENCE:.0%} CI, cut at 0 and 100%)", fontsize=10)
    return figure


def write_tradeoff_figures(configurations, folder, formats, rule=DEFAULT_RULE):
    """One trade-off figure per network and data set that calls for one; returns the paths."""
    written = []
    for (network, dataset), series in tradeoff_series(configurations, rule).items():
        stem = os.path.join(folder, style.slug(paths.TRADEOFF_FIGURE, network, dataset))
        written += style.save_figure(tradeoff_figure(network, dataset, series, rule), stem, formats)
    return written
