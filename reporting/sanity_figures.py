"""Sanity checks, drawn: one figure per network and data set, one panel per method (and other settings), the test
accuracy of the method's own mask and of each check per sparsity (one place for a method that learns its
sparsity), points at the mean over seeds under the reporting rule with their 95% confidence interval as error bars
(sanity_table.py's rows; none for one seed).
"""

import os
from dataclasses import dataclass

import numpy as np

from reporting import style
from reporting.rules import DEFAULT_RULE, SHORT
from reporting.sanity_table import OWN_MASK, SANITY_CHECKS, sanity_rows, write_sanity_tables
from reporting.statistics import CONFIDENCE
from results import paths

CHECK_COLORS = {"shuffle": "#ff7f0e", "reinit": "#2ca02c", "invert": "#d62728"}
CHECK_MARKERS = {OWN_MASK: "o", "shuffle": "s", "reinit": "^", "invert": "v"}
CHECK_LABELS = {OWN_MASK: "own mask", "shuffle": "shuffled in each layer", "reinit": "new weights",
                "invert": "inverted scores"}
OFFSET = 0.18  # each check's points beside the others at a sparsity


@dataclass
class Panel:
    """What one panel plots: per check present, the mean accuracy and CI bounds (fractions, NaN where there is
    none) at each sparsity of `sparsities`."""

    method: str
    label: str
    sparsities: list
    points: dict  # check -> {"mean": [...], "low": [...], "high": [...], "n": [...]}


def figure_panels(rows, varying):
    """{(network, data set): [Panel]} from sanity_table.sanity_rows."""
    figures = {}
    for row in rows:
        panels = figures.setdefault((row.get("nettype"), row.get("dataset")), {})
        settings = tuple(row.get(k) for k in varying)
        panels.setdefault((row.get("traintype"), settings), []).append(row)
    found = {}
    for key, panels in figures.items():
        found[key] = []
        for (method, settings), members in panels.items():
            sparsities = [member.get("sparsity") for member in members]
            points = {}
            for check in SANITY_CHECKS:
                if not any(check in member.reported for member in members):
                    continue
                summaries = [member.reported[check].summary if check in member.reported else None
                             for member in members]
                points[check] = {name: [float("nan") if s is None else getattr(s, name) for s in summaries]
                                 for name in ("mean", "low", "high", "n")}
            label = method + (f"\n({style.describe(dict(zip(varying, settings)), varying)})" if varying else "")
            found[key].append(Panel(method, label, sparsities, points))
    return found


def sanity_figure(network, dataset, panels, rule=DEFAULT_RULE):
    figure, axes = style.new_figure(width=max(4.5, 3.4 * len(panels)), height=4.2, ncols=len(panels))
    for ax, panel in zip(axes, panels):
        x = np.arange(len(panel.sparsities), dtype=float)
        present = list(panel.points)
        for index, (check, values) in enumerate(panel.points.items()):
            mean, low, high = (100 * np.array(values[name], dtype=float) for name in ("mean", "low", "high"))
            errors = np.nan_to_num(np.vstack([np.clip(mean - low, 0, None), np.clip(high - mean, 0, None)]))
            color = style.method_color(panel.method) if check == OWN_MASK else CHECK_COLORS[check]
            ax.errorbar(x + (index - (len(present) - 1) / 2) * OFFSET, mean, yerr=errors, color=color,
                        marker=CHECK_MARKERS[check], linestyle="none", capsize=3, markersize=5,
                        label=f"{check} ({CHECK_LABELS[check]})")
        ax.set_xticks(x, ["learned" if s is None else f"{100 * float(s):g}" for s in panel.sparsities])
        ax.set_xlabel("sparsity: weights removed (%)" if any(s is not None for s in panel.sparsities)
                      else "the learned mask")
        ax.set_title(panel.label, fontsize=10)
    axes[0].set_ylabel("test accuracy (%)")
    # From the panel with the most checks: a check that finished in no run of the first panel is still named.
    widest = max(range(len(panels)), key=lambda index: len(panels[index].points))
    style.legend(figure, axes[widest], beneath=True, ncol=len(SANITY_CHECKS))
    figure.suptitle(f"Sanity checks: {network}, {dataset}; test accuracy at {SHORT[rule]}, mean over seeds "
                    f"(bars: {CONFIDENCE:.0%} CI)", fontsize=10)
    return figure


def write_sanity_outputs(configurations, figures_dir, tables_dir, formats, rule=DEFAULT_RULE):
    """The sanity-check table and one figure per network and data set (nothing without a run of a check)."""
    rows, varying = sanity_rows(configurations, rule)
    written = []
    for (network, dataset), panels in figure_panels(rows, varying).items():
        stem = os.path.join(figures_dir, style.slug(paths.SANITY_TABLE, network, dataset))
        written += style.save_figure(sanity_figure(network, dataset, panels, rule), stem, formats)
    return written + write_sanity_tables(configurations, tables_dir, rule)
