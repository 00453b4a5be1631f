"""Pruning at initialisation: peak test accuracy against sparsity, one line per method (and setting),
one figure per network and data set, plus the same numbers as a Markdown and a CSV table.

Points follow the reporting rule (peak.py: the epoch where the mean test-accuracy curve over seeds
peaks; the mean there), error bars span the min and max over seeds at that epoch. A Baseline of the
same network, data set, initializer, activation and learning rate, when there is one, is drawn as a
dashed horizontal line (dense network).
"""

import os

import numpy as np

from reporting import style
from reporting.frames import markdown_table, ordered_groups, sort_value, varying_settings, where
from reporting.merge import configurations_of, setting_columns
from reporting.peak import peak_of
from results import paths
from results.atomic import write_csv, write_text

FAMILY = "pruning_at_init"
BASELINE_MATCH = ("nettype", "dataset", "initializer", "activation", "lr")


def pruning_configurations(configurations):
    """The rows of the configurations frame that belong to pruning at initialisation."""
    return where(configurations, traintype=list(style.family_methods(FAMILY)))


def series_of(members):
    """Lists of configurations (sorted by sparsity) that differ only in sparsity, in method order."""
    groups = ordered_groups(members, setting_columns(members, leaving_out=("sparsity",)))
    found = [sorted(configurations_of(group), key=lambda c: float(c.get("sparsity"))) for _, group in groups]
    return sorted(found, key=lambda g: (style.method_order(g[0].get("traintype")), str(g[0].key)))


def varying_fields(series_list):
    """Settings, but sparsity and method, that differ between the series (among those that have them)."""
    names = sorted({k for group in series_list for k, _ in group[0].key} - {"sparsity", "traintype"})
    return varying_settings([group[0].fields for group in series_list], names)


def sparsity_figure(network, dataset, series_list, baselines):
    figure, (ax,) = style.new_figure(width=7.5, height=4.8, ncols=1)
    varying = varying_fields(series_list)
    seen = {}
    for group in series_list:
        method = group[0].get("traintype")
        peaks = [peak_of(c) for c in group]
        x = 100 * np.array([float(c.get("sparsity")) for c in group])
        mean, low, high = (100 * np.array([getattr(p, name) for p in peaks], dtype=float)
                           for name in ("mean", "min", "max"))
        errors = np.nan_to_num(np.vstack([np.clip(mean - low, 0, None), np.clip(high - mean, 0, None)]))
        label = method + (f" ({style.describe(group[0].fields, varying)})" if varying else "")
        ax.errorbar(x, mean, yerr=errors, color=style.method_color(method), marker=style.method_marker(method),
                    capsize=3, markersize=5, linewidth=1.6, label=label,
                    linestyle=style.series_linestyle(seen, method))
    for baseline in baselines:
        runs = len(baseline.runs)
        ax.axhline(100 * peak_of(baseline).mean, color=style.method_color(style.BASELINE), linestyle="--",
                   linewidth=1.0, label=f"Baseline, dense ({runs} run{'s' * (runs != 1)})")
    ax.set_xlabel("sparsity: weights removed (%)")
    ax.set_ylabel("peak test accuracy (%)")
    style.legend(figure, ax, beneath=bool(varying))  # entries that name their settings are long
    ax.set_title(f"Pruning at initialisation: {network}, {dataset}\n"
                 "peak of the mean test accuracy over seeds (bars: min-max over seeds)", fontsize=10)
    return figure


def write_pruning_figures(configurations, folder, formats):
    """One figure per network and data set with pruning-at-initialisation runs; returns the paths."""
    members = pruning_configurations(configurations)
    written = []
    for fields, group in ordered_groups(members, ("nettype", "dataset")):
        first = configurations_of(group)[0]
        baselines = configurations_of(where(configurations, traintype=style.BASELINE,
                                            **{k: first.get(k) for k in BASELINE_MATCH}))
        stem = os.path.join(folder, style.slug(paths.PRUNING_TABLE, fields["nettype"], fields["dataset"]))
        figure = sparsity_figure(fields["nettype"], fields["dataset"], series_of(group), baselines)
        written += style.save_figure(figure, stem, formats)
    return written


def table_rows(configurations):
    """(header, rows, varying setting names): one row per configuration, by network, data set, method, sparsity."""
    members = configurations_of(pruning_configurations(configurations))
    varying = varying_fields([[c] for c in members])
    varying = [k for k in varying if k not in ("nettype", "dataset")]
    ordered = sorted(members, key=lambda c: (sort_value(c.get("nettype")), sort_value(c.get("dataset")),
                                             style.method_order(c.get("traintype")),
                                             tuple(sort_value(c.get(k)) for k in varying),
                                             float(c.get("sparsity"))))
    header = ["nettype", "dataset", "traintype", *varying, "sparsity", "runs", "peakEpoch", "meanAccuracy",
              "minAccuracy", "maxAccuracy", "remainingFraction"]
    rows = []
    for c in ordered:
        p = peak_of(c)
        rows.append([c.get("nettype"), c.get("dataset"), c.get("traintype"), *(c.get(k) for k in varying),
                     c.get("sparsity"), p.runs, p.epoch, p.mean, p.min, p.max, p.remaining])
    return header, rows, varying


def to_markdown(header, rows, varying):
    shown = ["Network", "Dataset", "Method", *varying, "Sparsity %", "Runs", "Peak epoch", "Test acc. mean %",
             "Test acc. min %", "Test acc. max %", "Remaining %"]
    settings = 3 + len(varying)
    cells = [[str(v) for v in row[:settings]] + [f"{100 * float(row[settings]):g}", str(row[settings + 1]),
                                                 str(row[settings + 2])]
             + [f"{100 * v:.2f}" if np.isfinite(v) else "n/a" for v in row[settings + 3:]] for row in rows]
    return markdown_table(shown, cells, notes=[
        "Peak epoch of the mean test-accuracy curve over seeds (earliest on a tie); mean, min and max over seeds "
        "at that epoch; remaining: fraction of weights kept by the mask there."])


def write_pruning_tables(configurations, folder):
    """pruning_at_init.md and .csv in folder (nothing without pruning runs); returns the paths."""
    header, rows, varying = table_rows(configurations)
    if not rows:
        return []
    os.makedirs(folder, exist_ok=True)
    markdown, csv_path = (os.path.join(folder, f"{paths.PRUNING_TABLE}.{ext}") for ext in ("md", "csv"))
    write_text(markdown, to_markdown(header, rows, varying))
    write_csv(csv_path, header, [[repr(v) if isinstance(v, float) else v for v in row] for row in rows])
    return [markdown, csv_path]


def write_pruning_outputs(configurations, figures_dir, tables_dir, formats):
    return (write_pruning_figures(configurations, figures_dir, formats)
            + write_pruning_tables(configurations, tables_dir))
