"""The comparison table: configurations against each other on the same seeds, beside the paper table.

Within each group of configurations of the same network, initializer, data set, activation and p1 (the paper
table's Baseline match): every method against its Baseline (the one the paper table compares it with), then
every two methods against each other. Each row pairs the per-seed test accuracies of the two configurations
under the reporting rule (rules.py) on the seeds both ran, and gives the number of pairs, the mean difference
(first minus second) with its 95% confidence interval, and the p-value of the paired t-test (statistics.py).
Written as Markdown and LaTeX (percentage points, 2 decimals) and CSV (fractions, full precision).
"""

import os
from itertools import combinations

from reporting import style
from reporting.frames import latex_table, markdown_table, varying_settings
from reporting.paper_table import BASELINE_MATCH, MAIN_FIELDS, MAIN_HEADERS
from reporting.rules import DEFAULT_RULE, rule_label, rule_sentence
from reporting.statistics import CONFIDENCE, PAIRED_NOTE, interval_text, number, p_value_text, paired, percent
from results import paths
from results.atomic import write_csv, write_text

VS_BASELINE, BETWEEN_METHODS = "vs-baseline", "between-methods"
GROUP_HEADERS = tuple(dict(zip(MAIN_FIELDS, MAIN_HEADERS))[name] for name in BASELINE_MATCH)
HEADERS = (*GROUP_HEADERS, "First", "Second", "Pairs", "Difference (pp)", f"{CONFIDENCE:.0%} CI (pp)", "p-value")
CSV_HEADER = (*BASELINE_MATCH, "comparison", "first", "second", "pairs", "seeds", "firstMean", "secondMean",
              "meanDifference", "sdDifference", "ciLow", "ciHigh", "confidence", "tStatistic", "pValue",
              "reportingRule")
GROUPS_NOTE = ("Groups: the configurations of one network, initializer, data set, activation and p1. First the "
               "methods against their Baseline (the paper table's), then every two methods. A configuration is "
               "named by its method and the settings in which it differs from the group's other configurations "
               "of that method.")
NOTHING = "No two configurations share a network, initializer, data set, activation and p1: nothing to compare."


def _labels(group):
    """{id(row): label} for the paper-table rows of one group."""
    names = sorted({k for row in group for k in row["fields"]} - set(BASELINE_MATCH) - {"traintype"})
    labels = {}
    for method in {row["fields"].get("traintype") for row in group}:
        same = [row for row in group if row["fields"].get("traintype") == method]
        varying = varying_settings([row["fields"] for row in same], names)
        for row in same:
            shown = ", ".join(f"{k}={row['fields'][k]}" for k in varying if k in row["fields"])
            labels[id(row)] = f"{method} ({shown})" if shown else str(method)
    return labels


def comparison_rows(rows):
    """One dict per comparison, from the paper table's rows (paper_table.table_rows, in their order): 'group'
    (the settings of BASELINE_MATCH), 'kind', 'first', 'second' (labels), 'paired' (statistics.Paired), 'rule'."""
    groups = {}
    for row in rows:
        groups.setdefault(tuple(row["fields"].get(k) for k in BASELINE_MATCH), []).append(row)
    found = []
    for key, group in groups.items():
        labels = _labels(group)
        methods = [row for row in group if row["fields"].get("traintype") != style.BASELINE]
        pairs = [(VS_BASELINE, row, row["baseline_row"]) for row in methods if row["baseline_row"] is not None]
        pairs += [(BETWEEN_METHODS, first, second) for first, second in combinations(methods, 2)]
        for kind, first, second in pairs:
            found.append({"group": dict(zip(BASELINE_MATCH, key)), "kind": kind, "first": labels[id(first)],
                          "second": labels[id(second)], "rule": first["reported"].rule,
                          "paired": paired(first["reported"].by_seed(), second["reported"].by_seed())})
    return found


def _interval(comparison):
    if comparison.n == 0:
        return "none (no common seed)"
    if comparison.n == 1:
        return "none (1 common seed)"
    return interval_text(comparison.difference, signed=True)


def _text(value):
    return "" if value is None else str(value)


def display_cells(row):
    c = row["paired"]
    return ([_text(row["group"][k]) for k in BASELINE_MATCH]
            + [row["first"], row["second"], str(c.n), percent(c.difference.mean, signed=True), _interval(c),
               p_value_text(c)])


def _notes(rule, rows):
    return [rule_sentence(rule), PAIRED_NOTE, GROUPS_NOTE] + ([] if rows else [NOTHING])


def to_markdown(rows, rule=DEFAULT_RULE):
    return markdown_table(HEADERS, [display_cells(row) for row in rows],
                          right_aligned=range(len(GROUP_HEADERS) + 2, len(HEADERS)), notes=_notes(rule, rows))


def to_latex(rows, rule=DEFAULT_RULE):
    return latex_table(HEADERS, [display_cells(row) for row in rows], left=len(GROUP_HEADERS) + 2,
                       under=f"{rule_label(rule)} Paired t-test on the common seeds.", notes=_notes(rule, rows))


def csv_rows(rows):
    body = []
    for row in rows:
        c, d = row["paired"], row["paired"].difference
        body.append([_text(row["group"][k]) for k in BASELINE_MATCH]
                    + [row["kind"], row["first"], row["second"], c.n, ";".join(str(seed) for seed in c.seeds),
                       number(c.first_mean), number(c.second_mean), number(d.mean), number(d.sd), number(d.low),
                       number(d.high), d.confidence, number(c.statistic), number(c.p_value), row["rule"]])
    return body


def write_comparison_tables(table_rows, folder):
    """comparison_table.md, .csv and .tex in folder, from the paper table's rows; returns the paths."""
    rule = table_rows[0]["reported"].rule if table_rows else DEFAULT_RULE
    rows = comparison_rows(table_rows)
    os.makedirs(folder, exist_ok=True)
    stem = os.path.join(folder, paths.COMPARISON_TABLE)
    write_text(f"{stem}.md", to_markdown(rows, rule))
    write_csv(f"{stem}.csv", CSV_HEADER, csv_rows(rows))
    write_text(f"{stem}.tex", to_latex(rows, rule))
    return [f"{stem}.md", f"{stem}.csv", f"{stem}.tex"]
