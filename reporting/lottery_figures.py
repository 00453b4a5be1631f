"""Lottery tickets: test accuracy against the fraction of weights remaining, one line per reset.

For every IMP configuration and round: the test accuracy at the round's best validation epoch (solid)
and at the round's end (dashed), mean over seeds with a min-max band, against the fraction of weights
remaining (log axis, decreasing to the right as pruning proceeds). Read from each run's "rounds" log.
"""

import os

import numpy as np
from matplotlib.ticker import FuncFormatter, NullFormatter

from reporting import style
from reporting.frames import markdown_table, ordered_groups, where
from reporting.merge import configurations_of, setting_columns
from results import atomic, paths

RESET_COLORS = {"original": "#1f77b4", "random": "#d62728"}
TABLE_HEADER = ("nettype", "dataset", "reset", "round", "remainingPercent", "runs",
                "bestValidationTestMean", "bestValidationTestMin", "bestValidationTestMax", "finalTestMean")


def round_arrays(configuration):
    """(remaining fraction per round, best-validation test accuracy (rounds, runs), final (rounds, runs))."""
    rounds = [run.rounds for run in configuration.runs]
    common = min(len(entries) for entries in rounds)
    remaining = np.array([np.mean([entries[r]["remainingFraction"] for entries in rounds]) for r in range(common)])
    best = np.array([[entries[r]["testAccuracyAtBestValidation"] for entries in rounds] for r in range(common)])
    final = np.array([[entries[r]["finalTestAccuracy"] for entries in rounds] for r in range(common)])
    return remaining, best, final


def lottery_groups(configurations):
    """The lottery-ticket configurations of the configurations frame, grouped by everything but the reset
    (in the frame's order)."""
    members = where(configurations, traintype=list(style.family_methods("lottery")))
    groups = ordered_groups(members, setting_columns(members, leaving_out=("reset",)), sort=False)
    return [configurations_of(group) for _, group in groups]


def lottery_figure(group):
    figure, (ax,) = style.new_figure(width=7.5, height=4.8, ncols=1)
    for configuration in sorted(group, key=lambda c: str(c.get("reset"))):
        reset = configuration.get("reset")
        remaining, best, final = round_arrays(configuration)
        color = RESET_COLORS.get(reset, style.OTHER_COLOR)
        x = 100 * remaining
        style.band(ax, x, 100 * best, color, f"{reset} reset, best validation epoch ({best.shape[1]} runs)")
        ax.plot(x, 100 * final.mean(axis=1), color=color, linestyle="--", linewidth=1.2,
                label=f"{reset} reset, end of round")
    ax.set_xscale("log")
    ticks = [100, 50, 20, 10, 5, 2, 1, 0.5, 0.2, 0.1]
    lowest = min(100 * round_arrays(c)[0].min() for c in group)
    ax.set_xticks([tick for tick in ticks if tick >= lowest * 0.9], minor=False)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, position: f"{value:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.invert_xaxis()
    ax.set_xlabel("weights remaining (%, log scale)")
    ax.set_ylabel("test accuracy (%)")
    first = group[0]
    ax.set_title(f"Lottery tickets (IMP): {first.get('nettype')}, {first.get('initializer')} init, "
                 f"{first.get('dataset')}, {first.get('maxepochs')} epochs per round", fontsize=10)
    ax.legend(loc="lower left", fontsize=8)
    return figure


def table_rows(group):
    rows = []
    for configuration in sorted(group, key=lambda c: str(c.get("reset"))):
        remaining, best, final = round_arrays(configuration)
        for index in range(len(remaining)):
            rows.append((configuration.get("nettype"), configuration.get("dataset"), configuration.get("reset"),
                         index, 100 * remaining[index], best.shape[1], 100 * best[index].mean(),
                         100 * best[index].min(), 100 * best[index].max(), 100 * final[index].mean()))
    return rows


def markdown(rows):
    headers = ["network", "data", "reset", "round", "weights remaining (%)", "runs",
               "test acc. at best val. (mean [min, max], %)", "test acc. at end (%)"]
    cells = [[net, data, reset, index, f"{remaining:.2f}", runs, f"{mean:.2f} [{low:.2f}, {high:.2f}]", f"{final:.2f}"]
             for net, data, reset, index, remaining, runs, mean, low, high, final in rows]
    return markdown_table(headers, cells, right_aligned=(3, 4, 5, 7))


def write_lottery_outputs(configurations, figures_dir, tables_dir, formats):
    """One figure per IMP group and one table (lottery_table.md/.csv) for all; returns the paths."""
    written, all_rows = [], []
    for group in lottery_groups(configurations):
        first = group[0]
        stem = os.path.join(figures_dir, style.slug("lottery", first.get("nettype"), first.get("initializer"),
                                                    first.get("dataset"), f"E{first.get('maxepochs')}"))
        written += style.save_figure(lottery_figure(group), stem, formats)
        all_rows += table_rows(group)
    if all_rows:
        os.makedirs(tables_dir, exist_ok=True)
        markdown_path, csv_path = (os.path.join(tables_dir, f"{paths.LOTTERY_TABLE}.{ext}") for ext in ("md", "csv"))
        atomic.write_text(markdown_path, markdown(all_rows))
        atomic.write_csv(csv_path, TABLE_HEADER, all_rows)
        written += [markdown_path, csv_path]
    return written
