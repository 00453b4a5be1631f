"""Pruning at initialisation: test accuracy against sparsity, one line per method (and setting),
one figure per network and data set, plus a Markdown and a CSV table.

The figure and the tables follow Plotter.py's --reporting-rule (rules.py; by default the authors': the epoch where
the mean test-accuracy curve over seeds peaks). The figure's points are the mean over seeds under the rule, its
error bars the 95% confidence interval (none for one seed); the tables give n, the mean and that interval
(statistics.py), and the authors' peak epoch with the min and max over seeds. A Baseline of the same network, data
set, initializer, activation and learning rate, when there is one, is drawn as a dashed horizontal line (dense
network), at its mean under the rule.
"""

import os

import numpy as np

from reporting import style
from reporting.frames import markdown_table, ordered_groups, sort_value, varying_settings, where
from reporting.merge import configurations_of, setting_columns
from reporting.rules import DEFAULT_RULE, SHORT, reported_of, rule_sentence
from reporting.statistics import CONFIDENCE, STATISTICS_NOTE, interval_text, number, percent
from results import paths
from results.atomic import write_csv, write_text

FAMILY = "pruning_at_init"
BASELINE_MATCH = ("nettype", "dataset", "initializer", "activation", "lr")
# The table's columns beyond the authors' (peakEpoch, mean, min, max): the statistics under the rule.
STATISTICS_COLUMNS = ("n", "sdAccuracy", "ciLow", "ciHigh", "confidence", "reportedEpochs", "reportingRule")


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


def sparsity_figure(network, dataset, series_list, baselines, rule=DEFAULT_RULE):
    figure, (ax,) = style.new_figure(width=7.5, height=4.8, ncols=1)
    varying = varying_fields(series_list)
    seen = {}
    for group in series_list:
        method = group[0].get("traintype")
        summaries = [reported_of(c, rule).summary for c in group]
        x = 100 * np.array([float(c.get("sparsity")) for c in group])
        mean, low, high = (100 * np.array([getattr(s, name) for s in summaries], dtype=float)
                           for name in ("mean", "low", "high"))
        errors = np.nan_to_num(np.vstack([np.clip(mean - low, 0, None), np.clip(high - mean, 0, None)]))
        label = method + (f" ({style.describe(group[0].fields, varying)})" if varying else "")
        ax.errorbar(x, mean, yerr=errors, color=style.method_color(method), marker=style.method_marker(method),
                    capsize=3, markersize=5, linewidth=1.6, label=label,
                    linestyle=style.series_linestyle(seen, method))
    for baseline in baselines:
        runs = len(baseline.runs)
        ax.axhline(100 * reported_of(baseline, rule).mean, color=style.method_color(style.BASELINE), linestyle="--",
                   linewidth=1.0, label=f"Baseline, dense ({runs} run{'s' * (runs != 1)})")
    ax.set_xlabel("sparsity: weights removed (%)")
    ax.set_ylabel("test accuracy (%)")
    style.legend(figure, ax, beneath=bool(varying))  # entries that name their settings are long
    ax.set_title(f"Pruning at initialisation: {network}, {dataset}\ntest accuracy at {SHORT[rule]}, mean over "
                 f"seeds (bars: {CONFIDENCE:.0%} CI)", fontsize=10)
    return figure


def write_pruning_figures(configurations, folder, formats, rule=DEFAULT_RULE):
    """One figure per network and data set with pruning-at-initialisation runs; returns the paths."""
    members = pruning_configurations(configurations)
    written = []
    for fields, group in ordered_groups(members, ("nettype", "dataset")):
        first = configurations_of(group)[0]
        baselines = configurations_of(where(configurations, traintype=style.BASELINE,
                                            **{k: first.get(k) for k in BASELINE_MATCH}))
        stem = os.path.join(folder, style.slug(paths.PRUNING_TABLE, fields["nettype"], fields["dataset"]))
        figure = sparsity_figure(fields["nettype"], fields["dataset"], series_of(group), baselines, rule)
        written += style.save_figure(figure, stem, formats)
    return written


def table_entries(configurations, rule=DEFAULT_RULE):
    """(configuration, rules.Reported) per pruning configuration, by network, data set, method, the varying
    settings and sparsity; and the varying setting names."""
    members = configurations_of(pruning_configurations(configurations))
    varying = varying_fields([[c] for c in members])
    varying = [k for k in varying if k not in ("nettype", "dataset")]
    ordered = sorted(members, key=lambda c: (sort_value(c.get("nettype")), sort_value(c.get("dataset")),
                                             style.method_order(c.get("traintype")),
                                             tuple(sort_value(c.get(k)) for k in varying),
                                             float(c.get("sparsity"))))
    return [(c, reported_of(c, rule)) for c in ordered], varying


def table_rows(configurations, rule=DEFAULT_RULE):
    """(header, rows, varying setting names): one row per configuration, by network, data set, method, sparsity.
    The accuracies follow the rule; peakEpoch is the authors' peak epoch whatever the rule."""
    return _rows(*table_entries(configurations, rule))


def _rows(entries, varying):
    header = ["nettype", "dataset", "traintype", *varying, "sparsity", "runs", "peakEpoch", "meanAccuracy",
              "minAccuracy", "maxAccuracy", "remainingFraction", *STATISTICS_COLUMNS]
    rows = []
    for c, r in entries:
        s = r.summary
        rows.append([c.get("nettype"), c.get("dataset"), c.get("traintype"), *(c.get(k) for k in varying),
                     c.get("sparsity"), r.runs, r.peak_epoch, s.mean, s.min, s.max, r.remaining,
                     s.n, s.sd, s.low, s.high, s.confidence, r.epochs_field(), r.rule])
    return header, rows, varying


def to_markdown(entries, varying, rule=DEFAULT_RULE):
    shown = ["Network", "Dataset", "Method", *varying, "Sparsity %", "n", "Epoch", "Test acc. mean %",
             f"{CONFIDENCE:.0%} CI %", "Remaining %"]
    cells = [[c.get("nettype"), c.get("dataset"), c.get("traintype"), *(c.get(k) for k in varying),
              f"{100 * float(c.get('sparsity')):g}", r.summary.n, r.epoch_text(), percent(r.mean),
              interval_text(r.summary), percent(r.remaining)] for c, r in entries]
    return markdown_table(shown, cells, right_aligned=range(3 + len(varying), len(shown)), notes=[
        rule_sentence(rule),
        f"{STATISTICS_NOTE} Epoch: the reported epoch (a range when the runs' epochs differ); remaining: fraction "
        "of weights kept by the mask there, mean over seeds."])


def write_pruning_tables(configurations, folder, rule=DEFAULT_RULE):
    """pruning_at_init.md and .csv in folder (nothing without pruning runs); returns the paths."""
    entries, varying = table_entries(configurations, rule)
    if not entries:
        return []
    header, rows, _ = _rows(entries, varying)
    os.makedirs(folder, exist_ok=True)
    markdown, csv_path = (os.path.join(folder, f"{paths.PRUNING_TABLE}.{ext}") for ext in ("md", "csv"))
    write_text(markdown, to_markdown(entries, varying, rule))
    write_csv(csv_path, header, [[number(v) if isinstance(v, float) else v for v in row] for row in rows])
    return [markdown, csv_path]


def write_pruning_outputs(configurations, figures_dir, tables_dir, formats, rule=DEFAULT_RULE):
    return (write_pruning_figures(configurations, figures_dir, formats, rule)
            + write_pruning_tables(configurations, tables_dir, rule))
