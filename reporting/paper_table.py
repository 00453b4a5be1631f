"""The paper table: one row per configuration, by the authors' reporting rule (see peak.py).

Columns: the configuration, the number of runs, the peak epoch of the mean test-accuracy curve, the
mean/min/max test accuracy across runs at that epoch, the fraction of weights remaining (Baseline,
pruning) or flipped (masktype flip), the fraction of connections changed from the initial network
(pruned or flipped), and the accuracy relative to the Baseline of the same network, initializer,
data set, activation and p1 (ratio of mean peak accuracies).

Written as Markdown and LaTeX (percent, 2 decimals) and CSV (fractions, full precision).
"""

import csv
import io
import math
import os

from reporting import style
from reporting.frames import markdown_table, sort_value, varying_settings
from reporting.merge import configurations_of
from reporting.peak import peak_of
from results import paths
from results.atomic import write_text

MAIN_FIELDS = ("nettype", "traintype", "initializer", "dataset", "masktype", "activation", "p1", "lr")
MAIN_HEADERS = ("Network", "Method", "Init", "Dataset", "Mask", "Act", "p1", "LR")
BASELINE_MATCH = ("nettype", "initializer", "dataset", "activation", "p1")
# Preferred when several Baselines match: the one sharing the most of these, then the best one.
BASELINE_PREFER = ("batchsize", "maxepochs", "lr", "masktype", "augmentation", "lr_drops", "batchnorm_affine")
CSV_RESULTS = ("runs", "peakEpoch", "epochs", "meanAccuracy", "minAccuracy", "maxAccuracy",
               "weightMeasure", "weightFraction", "remainingFraction", "flippedFraction",
               "changedFraction", "relativeToBaseline", "baselineAccuracy")
RESULT_HEADERS = ("Runs", "Peak epoch", "Test acc. mean %", "Test acc. min %", "Test acc. max %",
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
        return (shared, other["peak"].mean)

    return max(candidates, key=preference)


def table_rows(configurations):
    """One dict per row of the configurations frame: 'fields' (settings), 'peak' (Peak), 'epochs', 'relative',
    'baseline'."""
    rows = [{"fields": c.fields, "peak": peak_of(c), "epochs": c.epochs} for c in configurations_of(configurations)]
    for row in rows:
        baseline = _find_baseline(row, rows)
        row["baseline"] = None if baseline is None else baseline["peak"].mean
        row["relative"] = (row["peak"].mean / baseline["peak"].mean
                           if baseline is not None and baseline["peak"].mean else None)

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


def _percent(value):
    return "n/a" if value is None or not math.isfinite(value) else f"{100 * value:.2f}"


def _text(value):
    return "" if value is None else str(value)


def _display_cells(row, extras):
    p = row["peak"]
    return ([_text(row["fields"].get(k)) for k in MAIN_FIELDS + tuple(extras)]
            + [str(p.runs), str(p.epoch), _percent(p.mean), _percent(p.min), _percent(p.max),
               _percent(p.weight_fraction), _percent(p.changed), _percent(row["relative"])])


def to_markdown(rows):
    extras = extra_fields(rows, only_varying=True)
    headers = list(MAIN_HEADERS) + extras + list(RESULT_HEADERS)
    settings = len(MAIN_HEADERS) + len(extras)
    return markdown_table(headers, [_display_cells(row, extras) for row in rows],
                          right_aligned=range(settings, len(headers)), notes=[
        "Reporting rule: the epoch where the mean test-accuracy curve over runs peaks (earliest on a tie); mean, "
        "min and max across runs at that epoch. Remaining / flipped: fraction of weights remaining (Baseline, "
        "pruning) or flipped (masktype flip) at that epoch, mean over runs. Changed: fraction of connections "
        "pruned or flipped relative to the initial network. vs Baseline: mean peak accuracy relative to the "
        "Baseline of the same network, initializer, data set, activation and p1."])


def to_csv(rows):
    extras = extra_fields(rows, only_varying=False)
    header = list(MAIN_FIELDS) + extras + list(CSV_RESULTS)
    body = []
    for row in rows:
        p = row["peak"]
        body.append([_text(row["fields"].get(k)) for k in MAIN_FIELDS + tuple(extras)]
                    + [p.runs, p.epoch, row["epochs"], repr(p.mean), repr(p.min), repr(p.max),
                       p.weight_measure, repr(p.weight_fraction), repr(p.remaining), repr(p.flipped),
                       repr(p.changed), "" if row["relative"] is None else repr(row["relative"]),
                       "" if row["baseline"] is None else repr(row["baseline"])])
    return header, body


def csv_text(rows):
    header, body = to_csv(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(body)
    return buffer.getvalue()


LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                 "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def latex_escape(text):
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def to_latex(rows):
    extras = extra_fields(rows, only_varying=True)
    headers = list(MAIN_HEADERS) + extras + list(RESULT_HEADERS)
    left = len(MAIN_HEADERS) + len(extras)
    spec = "l" * left + "r" * len(RESULT_HEADERS)
    lines = ["% Paper table by the reporting rule (peak of the mean test-accuracy curve; mean, min, max",
             "% across runs at that epoch). Needs \\usepackage{booktabs}.",
             f"\\begin{{tabular}}{{{spec}}}", "\\toprule",
             " & ".join(latex_escape(h) for h in headers) + r" \\", "\\midrule"]
    for row in rows:
        lines.append(" & ".join(latex_escape(c) for c in _display_cells(row, extras)) + r" \\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


def write_tables(rows, folder):
    """Writes paper_table.md, .csv and .tex into folder; returns the paths."""
    os.makedirs(folder, exist_ok=True)
    written = []
    for extension, text in (("md", to_markdown(rows)), ("csv", csv_text(rows)), ("tex", to_latex(rows))):
        path = os.path.join(folder, f"{paths.PAPER_TABLE}.{extension}")
        write_text(path, text)
        written.append(path)
    return written
