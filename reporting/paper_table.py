"""The paper table: one row per configuration, by a reporting rule (rules.py; the authors' by default).

Columns: the configuration, n (the seeds with a value), the reported epoch, the mean test accuracy over the
seeds and its 95% confidence interval (statistics.py), the fraction of weights remaining (Baseline, pruning) or
flipped (masktype flip), the fraction of connections changed from the initial network (pruned or flipped), and
the accuracy relative to the Baseline of the same network, initializer, data set, activation and p1 (ratio of
mean reported accuracies). The rule is named under the table.

Written as Markdown and LaTeX (percent, 2 decimals) and CSV (fractions, full precision, with the min and max
over seeds, the standard deviation, the authors' peak epoch and each run's reported epoch as well).
"""

import csv
import io
import os

from reporting import style
from reporting.frames import latex_table, markdown_table, sort_value, varying_settings
from reporting.merge import configurations_of
from reporting.published import load_published, published_note
from reporting.rules import DEFAULT_RULE, reported_of, rule_label, rule_sentence
from reporting.statistics import CONFIDENCE, STATISTICS_NOTE, interval_text, number, percent
from results import paths
from results.atomic import write_text

MAIN_FIELDS = ("nettype", "traintype", "initializer", "dataset", "masktype", "activation", "p1", "lr")
MAIN_HEADERS = ("Network", "Method", "Init", "Dataset", "Mask", "Act", "p1", "LR")
BASELINE_MATCH = ("nettype", "initializer", "dataset", "activation", "p1")
# Preferred when several Baselines match: the one sharing the most of these, then the best one.
BASELINE_PREFER = ("batchsize", "maxepochs", "lr", "masktype", "augmentation", "lr_drops", "batchnorm_affine")
# peakEpoch is the authors' peak epoch whatever the rule; reportedEpochs the epoch of each run (seed order).
CSV_RESULTS = ("runs", "peakEpoch", "epochs", "meanAccuracy", "minAccuracy", "maxAccuracy",
               "weightMeasure", "weightFraction", "remainingFraction", "flippedFraction",
               "changedFraction", "relativeToBaseline", "baselineAccuracy",
               "n", "sdAccuracy", "ciLow", "ciHigh", "confidence", "reportedEpochs", "reportingRule")
RESULT_HEADERS = ("n", "Epoch", "Test acc. mean %", f"{CONFIDENCE:.0%} CI %",
                  "Remaining / flipped %", "Changed %", "vs Baseline %")


def _find_baseline(row, rows):
    if row["fields"].get("traintype") == style.BASELINE:
        return row
    candidates = [other for other in rows if other["fields"].get("traintype") == style.BASELINE
                  and all(other["fields"].get(k) == row["fields"].get(k) for k in BASELINE_MATCH)]
    if not candidates:
        return None

    def preference(other):
        shared = sum(other["fields"].get(k) == row["fields"].get(k) for k in BASELINE_PREFER)
        return (shared, other["reported"].mean)

    return max(candidates, key=preference)


def table_rows(configurations, rule=DEFAULT_RULE):
    """One dict per row of the configurations frame: 'fields' (settings), 'reported' (rules.Reported), 'epochs',
    'relative', 'baseline' (the matching Baseline's mean), 'baseline_row', 'configuration'."""
    rows = [{"fields": c.fields, "reported": reported_of(c, rule), "epochs": c.epochs, "configuration": c}
            for c in configurations_of(configurations)]
    for row in rows:
        baseline = _find_baseline(row, rows)
        row["baseline_row"] = baseline
        row["baseline"] = None if baseline is None else baseline["reported"].mean
        row["relative"] = (row["reported"].mean / baseline["reported"].mean
                           if baseline is not None and baseline["reported"].mean else None)

    def order(row):
        f = row["fields"]
        return (sort_value(f.get("dataset")), sort_value(f.get("nettype")), sort_value(f.get("initializer")),
                sort_value(f.get("p1")), style.method_order(f.get("traintype")),
                tuple(sort_value(v) for _, v in sorted(f.items())))

    return sorted(rows, key=order)


def extra_fields(rows, only_varying):
    """Settings beyond MAIN_FIELDS (all of them, or only those with different values in the rows that have
    them: a setting of one method family is not shown as varying because other rows lack it)."""
    names = sorted({k for row in rows for k in row["fields"]} - set(MAIN_FIELDS))
    return varying_settings([row["fields"] for row in rows], names) if only_varying else names


def _text(value):
    return "" if value is None else str(value)


def _display_cells(row, extras):
    r = row["reported"]
    return ([_text(row["fields"].get(k)) for k in MAIN_FIELDS + tuple(extras)]
            + [str(r.summary.n), r.epoch_text(), percent(r.mean), interval_text(r.summary),
               percent(r.weight_fraction), percent(r.changed), percent(row["relative"])])


def _rule(rows):
    return rows[0]["reported"].rule if rows else DEFAULT_RULE


def notes(rule, rows=(), published=None):
    """What is under the Markdown and LaTeX tables: the rule, the statistics, the other columns, and the published
    values of the rows' methods, networks and data sets (reporting/published.py; `published` None: its file)."""
    published = load_published() if published is None else published
    return [rule_sentence(rule),
            f"{STATISTICS_NOTE} Epoch: the reported epoch (a range when the runs' epochs differ). Remaining / "
            "flipped: fraction of weights remaining (Baseline, pruning) or flipped (masktype flip) at the reported "
            "epochs, mean over runs. Changed: fraction of connections pruned or flipped relative to the initial "
            "network. vs Baseline: mean accuracy relative to the Baseline of the same network, initializer, data "
            "set, activation and p1.", *published_note(published, [row["fields"] for row in rows])]


def to_markdown(rows, published=None):
    extras = extra_fields(rows, only_varying=True)
    headers = list(MAIN_HEADERS) + extras + list(RESULT_HEADERS)
    settings = len(MAIN_HEADERS) + len(extras)
    return markdown_table(headers, [_display_cells(row, extras) for row in rows],
                          right_aligned=range(settings, len(headers)), notes=notes(_rule(rows), rows, published))


def to_csv(rows):
    extras = extra_fields(rows, only_varying=False)
    header = list(MAIN_FIELDS) + extras + list(CSV_RESULTS)
    body = []
    for row in rows:
        r, s = row["reported"], row["reported"].summary
        body.append([_text(row["fields"].get(k)) for k in MAIN_FIELDS + tuple(extras)]
                    + [r.runs, r.peak_epoch, row["epochs"], number(s.mean), number(s.min), number(s.max),
                       r.weight_measure, number(r.weight_fraction), number(r.remaining), number(r.flipped),
                       number(r.changed), number(row["relative"]), number(row["baseline"]),
                       s.n, number(s.sd), number(s.low), number(s.high), s.confidence, r.epochs_field(), r.rule])
    return header, body


def csv_text(rows):
    header, body = to_csv(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(body)
    return buffer.getvalue()


def to_latex(rows, published=None):
    extras = extra_fields(rows, only_varying=True)
    headers = list(MAIN_HEADERS) + extras + list(RESULT_HEADERS)
    return latex_table(headers, [_display_cells(row, extras) for row in rows],
                       left=len(MAIN_HEADERS) + len(extras), under=rule_label(_rule(rows)),
                       notes=notes(_rule(rows), rows, published))


def write_tables(rows, folder):
    """Writes paper_table.md, .csv and .tex into folder; returns the paths."""
    os.makedirs(folder, exist_ok=True)
    written = []
    for extension, text in (("md", to_markdown(rows)), ("csv", csv_text(rows)), ("tex", to_latex(rows))):
        path = os.path.join(folder, f"{paths.PAPER_TABLE}.{extension}")
        write_text(path, text)
        written.append(path)
    return written
