"""Lottery tickets: test accuracy against the fraction of weights remaining, one line per reset.

For every IMP configuration and round: the test accuracy at the round's early-stopping epoch (solid)
and at the round's end (dashed), mean over seeds with a min-max band, against the fraction of weights
remaining (log axis, decreasing to the right as pruning proceeds). Read from each run's "rounds" log.

The early-stopping epoch of a round (epoch 0, before training, excluded; the earliest on a tie) is, by
Plotter's --early-stopping: 'val-loss', the epoch of minimum validation loss, as Frankle & Carbin report
(the default); or 'val-accuracy', the epoch of maximum validation accuracy (this project's rule before).
The table gives n, the mean and a 95% confidence interval over seeds (statistics.py).
"""

import os

import numpy as np
from matplotlib.ticker import FuncFormatter, NullFormatter

from reporting import style
from reporting.frames import markdown_table, ordered_groups, where
from reporting.merge import configurations_of, setting_columns
from reporting.statistics import CONFIDENCE, STATISTICS_NOTE, mean_interval_text, number, summarise
from results import atomic, paths

RESET_COLORS = {"original": "#1f77b4", "random": "#d62728", "control": "#2ca02c"}
# Percent; n, the CIs (statistics.py) and the confidence after the columns the table had before them.
TABLE_HEADER = ("nettype", "dataset", "reset", "round", "remainingPercent", "runs", "earlyStopping",
                "earlyStoppingTestMean", "earlyStoppingTestMin", "earlyStoppingTestMax", "finalTestMean",
                "n", "earlyStoppingTestCiLow", "earlyStoppingTestCiHigh", "finalTestCiLow", "finalTestCiHigh",
                "confidence")
EARLY_STOPPING_RULES = {"val-loss": "minimum validation loss", "val-accuracy": "maximum validation accuracy"}
DEFAULT_EARLY_STOPPING = "val-loss"


def stopping_epoch(entry, rule):
    """The round's early-stopping epoch (>= 1 when the round trained) under `rule`."""
    if rule == "val-loss":
        curve = -np.asarray(entry["valLoss"], dtype=float)
    else:
        curve = np.asarray(entry["valAccuracy"], dtype=float)
    if len(curve) < 2:
        return 0
    return int(np.argmax(np.where(np.isfinite(curve[1:]), curve[1:], -np.inf))) + 1


def round_arrays(configuration, rule=DEFAULT_EARLY_STOPPING):
    """(remaining fraction per round, test accuracy at the early-stopping epoch (rounds, runs), at the
    round's end (rounds, runs))."""
    rounds = [run.rounds for run in configuration.runs]
    common = min(len(entries) for entries in rounds)
    remaining = np.array([np.mean([entries[r]["remainingFraction"] for entries in rounds]) for r in range(common)])
    stopped = np.array([[entries[r]["testAccuracy"][stopping_epoch(entries[r], rule)] for entries in rounds]
                        for r in range(common)])
    final = np.array([[entries[r]["finalTestAccuracy"] for entries in rounds] for r in range(common)])
    return remaining, stopped, final


def lottery_groups(configurations):
    """The lottery-ticket configurations of the configurations frame, grouped by everything but the reset
    (in the frame's order)."""
    members = where(configurations, traintype=list(style.family_methods("lottery")))
    groups = ordered_groups(members, setting_columns(members, leaving_out=("reset",)), sort=False)
    return [configurations_of(group) for _, group in groups]


def lottery_figure(group, rule):
    figure, (ax,) = style.new_figure(width=7.5, height=4.8, ncols=1)
    for configuration in sorted(group, key=lambda c: str(c.get("reset"))):
        reset = configuration.get("reset")
        remaining, best, final = round_arrays(configuration, rule)
        color = RESET_COLORS.get(reset, style.OTHER_COLOR)
        x = 100 * remaining
        style.band(ax, x, 100 * best, color,
                   f"{reset} reset, epoch of {EARLY_STOPPING_RULES[rule]} ({best.shape[1]} runs)")
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


def table_rows(group, rule):
    """One tuple per configuration and round: TABLE_HEADER's values, then the two Summaries (statistics.py)."""
    rows = []
    for configuration in sorted(group, key=lambda c: str(c.get("reset"))):
        remaining, best, final = round_arrays(configuration, rule)
        for index in range(len(remaining)):
            stopped, ended = summarise(best[index]), summarise(final[index])
            rows.append((configuration.get("nettype"), configuration.get("dataset"), configuration.get("reset"),
                         index, 100 * remaining[index], best.shape[1], rule, 100 * stopped.mean,
                         100 * stopped.min, 100 * stopped.max, 100 * ended.mean, stopped.n,
                         *(100 * bound for bound in (stopped.low, stopped.high, ended.low, ended.high)),
                         stopped.confidence, stopped, ended))
    return rows


def markdown(rows, rule):
    headers = ["network", "data", "reset", "round", "weights remaining (%)", "n",
               f"test acc. at early stopping (mean [{CONFIDENCE:.0%} CI], %)",
               f"test acc. at end (mean [{CONFIDENCE:.0%} CI], %)"]
    cells = [[row[0], row[1], row[2], row[3], f"{row[4]:.2f}", stopped.n, mean_interval_text(stopped),
              mean_interval_text(ended)] for *row, stopped, ended in rows]
    return (f"Early stopping: the test accuracy at each round's epoch of {EARLY_STOPPING_RULES[rule]} "
            f"(Plotter.py --early-stopping {rule}; --reporting-rule does not apply to rounds).\n\n"
            + markdown_table(headers, cells, right_aligned=(3, 4, 5, 6, 7), notes=[STATISTICS_NOTE]))


def write_lottery_outputs(configurations, figures_dir, tables_dir, formats, rule=DEFAULT_EARLY_STOPPING):
    """One figure per IMP group and one table (lottery_table.md/.csv) for all; returns the paths."""
    written, all_rows = [], []
    for group in lottery_groups(configurations):
        first = group[0]
        stem = os.path.join(figures_dir, style.slug("lottery", first.get("nettype"), first.get("initializer"),
                                                    first.get("dataset"), f"E{first.get('maxepochs')}"))
        written += style.save_figure(lottery_figure(group, rule), stem, formats)
        all_rows += table_rows(group, rule)
    if all_rows:
        os.makedirs(tables_dir, exist_ok=True)
        markdown_path, csv_path = (os.path.join(tables_dir, f"{paths.LOTTERY_TABLE}.{ext}") for ext in ("md", "csv"))
        atomic.write_text(markdown_path, markdown(all_rows, rule))
        atomic.write_csv(csv_path, TABLE_HEADER, [[number(v) if isinstance(v, float) else v  # no NaN printed
                                                   for v in row[:len(TABLE_HEADER)]] for row in all_rows])
        written += [markdown_path, csv_path]
    return written
