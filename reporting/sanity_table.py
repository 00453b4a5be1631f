"""Sanity checks beside the mask they check: one row per method, network, data set, sparsity and other settings,
one column group per check (none: the method's own mask; shuffle, reinit, invert: methods/sanity_checks.py), and
each check against `none` on the same seeds. A row is written where a check ran.

Each check is a configuration of its own (`--sanity-check` is part of a run's identity); the configurations that
differ only in it form a row. Per check: n, the mean test accuracy under the reporting rule (rules.py) and its 95%
confidence interval (statistics.summarise); per check but `none`: the paired difference check minus none on the
seeds both ran, its 95% CI and the paired t-test's p-value (statistics.paired). Written as Markdown (percent,
percentage points) and CSV (fractions, full precision). Nothing is written without a run of a check.
"""

import os
from dataclasses import dataclass, field

from methods import family_of
from methods.sanity_checks import CHECKS as SANITY_CHECKS
from reporting import style
from reporting.frames import markdown_table, ordered_groups, sort_value, varying_settings
from reporting.merge import configurations_of, setting_columns
from reporting.rules import DEFAULT_RULE, reported_of, rule_sentence
from reporting.statistics import (
    CONFIDENCE,
    PAIRED_NOTE,
    STATISTICS_NOTE,
    interval_text,
    mean_interval_text,
    number,
    p_value_text,
    paired,
    percent,
)
from results import paths
from results.atomic import write_csv, write_text

SETTING = "sanity_check"
OWN_MASK = SANITY_CHECKS[0]  # "none": the method's own mask, what every check is compared with
CHECKS = SANITY_CHECKS[1:]
SHOWN = ("nettype", "dataset", "traintype")  # then the varying settings, then sparsity
CHECKS_NOTE = ("Checks (Frankle et al. 2021; Su et al. 2020): none, the method's own mask; shuffle, each layer's "
               "kept positions drawn anew (the same layer densities); reinit, the same mask over new weights; "
               "invert, a criterion's lowest scores kept. A criterion at initialisation (SNIP, GraSP, SynFlow, "
               "MagnitudeAtInit) trains under the checked mask; a method over fixed weights (FreePruning, "
               "MinPruning, FreeFlipping, MinFlipping, EdgePopup, Supermask) is evaluated with its learned mask "
               "checked, without retraining. Each check minus none: paired on the seeds both ran. none finished: no "
               "run of the check finished (not run, or failed, e.g. a mask that leaves no path from the input to "
               "the output; Plotter names the runs it leaves out); does not apply: the method does not take the check "
               "(invert needs a criterion's scores).")


@dataclass
class SanityRow:
    """The configurations of one method, network, data set, sparsity and other settings that differ only in their
    check: `fields` (their common settings), `reported` {check: rules.Reported} and `versus` {check: statistics
    .Paired, check minus none} for the checks that ran (`versus` only where `none` ran too)."""

    fields: dict
    reported: dict = field(default_factory=dict)
    versus: dict = field(default_factory=dict)

    def get(self, name):
        return self.fields.get(name)


def sanity_configurations(configurations):
    """The rows of the configurations frame whose method can be sanity-checked (a `sanity_check` setting)."""
    if SETTING not in configurations:
        return configurations.iloc[0:0]
    return configurations[configurations[SETTING].notna()]


def has_checks(configurations):
    """Whether any run is a sanity check (a check other than `none`)."""
    members = sanity_configurations(configurations)
    return bool(len(members)) and bool(members[SETTING].isin(CHECKS).any())


def sanity_rows(configurations, rule=DEFAULT_RULE):
    """(rows, varying setting names): a SanityRow per group of configurations that differ only in their check, by
    network, data set, method, the varying settings and sparsity; no rows when no run is a check."""
    if not has_checks(configurations):
        return [], []
    members = sanity_configurations(configurations)
    rows = []
    for _, group in ordered_groups(members, setting_columns(members, leaving_out=(SETTING,))):
        found = {c.get(SETTING): c for c in configurations_of(group)}
        if not set(found) & set(CHECKS):
            continue  # a method's own mask without a check of it
        row = SanityRow(fields={k: v for k, v in next(iter(found.values())).fields.items() if k != SETTING})
        for check in SANITY_CHECKS:
            if check in found:
                row.reported[check] = reported_of(found[check], rule)
        own = row.reported.get(OWN_MASK)
        for check in CHECKS:
            if own is not None and check in row.reported:
                row.versus[check] = paired(row.reported[check].by_seed(), own.by_seed())
        rows.append(row)
    names = sorted({k for row in rows for k in row.fields} - set(SHOWN) - {"sparsity"})
    varying = varying_settings([row.fields for row in rows], names)
    rows.sort(key=lambda row: (sort_value(row.get("nettype")), sort_value(row.get("dataset")),
                               style.method_order(row.get("traintype")),
                               tuple(sort_value(row.get(k)) for k in varying), sort_value(row.get("sparsity"))))
    return rows, varying


def _sparsity(row):
    value = row.get("sparsity")
    return "" if value is None else f"{100 * float(value):g}"


def _difference_text(comparison):
    if comparison is None:
        return "n/a"
    if comparison.n < 2:
        return f"{percent(comparison.difference.mean, signed=True)} (pairs: {comparison.n}, no CI)"
    return f"{percent(comparison.difference.mean, signed=True)} {interval_text(comparison.difference, signed=True)}"


def markdown_cells(row, varying):
    cells = [*(row.get(k) for k in SHOWN), *(row.get(k) for k in varying), _sparsity(row)]
    for check in SANITY_CHECKS:
        reported = row.reported.get(check)
        offered = check in family_of(row.get("traintype")).sanity_check_values
        cells.append(mean_interval_text(reported.summary) if reported is not None else
                     "none finished" if offered else "does not apply")
        if check != OWN_MASK:
            comparison = row.versus.get(check)
            cells += [_difference_text(comparison), "n/a" if comparison is None else p_value_text(comparison)]
    return ["" if cell is None else cell for cell in cells]


def to_markdown(rows, varying, rule=DEFAULT_RULE):
    headers = ["Network", "Dataset", "Method", *varying, "Sparsity %", f"none: acc. % [{CONFIDENCE:.0%} CI]"]
    for check in CHECKS:
        headers += [f"{check}: acc. % [{CONFIDENCE:.0%} CI]", f"{check} - none (pp) [{CONFIDENCE:.0%} CI]",
                    f"{check}: p"]
    settings = len(SHOWN) + len(varying)
    return markdown_table(headers, [markdown_cells(row, varying) for row in rows],
                          right_aligned=range(settings, len(headers)),
                          notes=[rule_sentence(rule), STATISTICS_NOTE, PAIRED_NOTE, CHECKS_NOTE])


CHECK_COLUMNS = ("N", "Seeds", "Mean", "Sd", "CiLow", "CiHigh", "Min", "Max")
VERSUS_COLUMNS = ("Pairs", "Difference", "DifferenceCiLow", "DifferenceCiHigh", "TStatistic", "PValue")


def csv_header(varying):
    header = [*SHOWN, *varying, "sparsity"]
    for check in SANITY_CHECKS:
        header += [f"{check}{name}" for name in CHECK_COLUMNS]
        if check != OWN_MASK:
            header += [f"{check}VsNone{name}" for name in VERSUS_COLUMNS]
    return header + ["confidence", "reportingRule"]


def csv_cells(row, varying, rule):
    cells = [*(row.get(k) for k in SHOWN), *(row.get(k) for k in varying), row.get("sparsity")]
    for check in SANITY_CHECKS:
        reported = row.reported.get(check)
        if reported is None:
            cells += [""] * len(CHECK_COLUMNS)
        else:
            s = reported.summary
            cells += [s.n, ";".join(str(seed) for seed in reported.seeds), *map(number, (s.mean, s.sd, s.low,
                                                                                            s.high, s.min, s.max))]
        if check != OWN_MASK:
            c = row.versus.get(check)
            cells += ([""] * len(VERSUS_COLUMNS) if c is None else
                      [c.n, *map(number, (c.difference.mean, c.difference.low, c.difference.high, c.statistic,
                                          c.p_value))])
    return ["" if cell is None else cell for cell in cells] + [CONFIDENCE, rule]


def write_sanity_tables(configurations, folder, rule=DEFAULT_RULE):
    """sanity_checks.md and .csv in folder (nothing without a run of a check); returns the paths."""
    rows, varying = sanity_rows(configurations, rule)
    if not rows:
        return []
    os.makedirs(folder, exist_ok=True)
    markdown, csv_path = (os.path.join(folder, f"{paths.SANITY_TABLE}.{ext}") for ext in ("md", "csv"))
    write_text(markdown, to_markdown(rows, varying, rule))
    write_csv(csv_path, csv_header(varying), [csv_cells(row, varying, rule) for row in rows])
    return [markdown, csv_path]
