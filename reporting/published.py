"""Published figures as data: reporting/published.csv, one row per published test accuracy of a network and data
set this tool has (from ../shared/PUBLISHED.md and docs/RESULTS.md), with its source and, where one exists, the
experiments/ grid file that reproduces it in the paper's own recipe.

Columns: method (a --traintype where this tool has the method, else the paper's name), nettype, dataset,
sparsity and keptFraction where the source gives them, accuracy (percent, as published), source (paper and table
or figure, or the work it was read in), secondary (yes: read in another work, not in the paper), note, recipe.
The paper table lists those matching its rows' method, network and data set under it; the comparison figures draw
them as markers beside the runs.
"""

import csv
import math
import os

PUBLISHED_CSV = os.path.join(os.path.dirname(os.path.abspath(__file__)), "published.csv")
FIELDS = ("method", "nettype", "dataset", "sparsity", "keptFraction", "accuracy", "source", "secondary", "note",
          "recipe")


def _number(text):
    return float(text) if str(text).strip() else math.nan


def load_published(path=PUBLISHED_CSV):
    """The rows of the published file, as dicts (sparsity, keptFraction and accuracy as floats, NaN if not given)."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        for name in ("sparsity", "keptFraction", "accuracy"):
            row[name] = _number(row[name])
    return rows


def matching(published, method, nettype, dataset):
    """The published rows of one method, network and data set."""
    return [row for row in published
            if (row["method"], row["nettype"], row["dataset"]) == (method, nettype, dataset)]


def describe(row):
    """'SNIP, LeNet, mnist, sparsity 0.95: 98.4% (Lee et al. 2019 (SNIP), Table 1; reproduced by ...)'."""
    where = [f"sparsity {row['sparsity']:g}" if math.isfinite(row["sparsity"]) else ""]
    text = ", ".join(part for part in (row["method"], row["nettype"], row["dataset"], *where) if part)
    extra = "; ".join(part for part in (row["source"], "secondary" if row["secondary"] == "yes" else "", row["note"],
                                        f"recipe: {row['recipe']}" if row["recipe"] else "") if part)
    return f"{text}: {row['accuracy']:g}% ({extra})"


def published_note(published, rows_fields):
    """The paragraph under the paper table: the published values of the methods, networks and data sets of its rows
    (none: no paragraph)."""
    keys = {(f.get("traintype"), f.get("nettype"), f.get("dataset")) for f in rows_fields}
    found = [row for row in published if (row["method"], row["nettype"], row["dataset"]) in keys]
    if not found:
        return []
    return ["Published (reporting/published.csv): " + "; ".join(describe(row) for row in found) + "."]


def problems(rows):
    """What is wrong with published rows, one sentence each (empty: nothing): a row without its source, a value that
    is not an accuracy, a network or data set this tool lacks, a recipe file that does not exist."""
    from datasets.registry import REGISTRY
    from networks.registry import NETWORK_NAMES

    repository = os.path.dirname(os.path.dirname(PUBLISHED_CSV))
    found = []
    for number, row in enumerate(rows, start=2):  # the header is line 1
        name = f"line {number} ({row.get('method')}, {row.get('nettype')}, {row.get('dataset')})"
        if not str(row.get("source") or "").strip():
            found.append(f"{name} has no source.")
        if not 0 < row.get("accuracy", math.nan) <= 100:
            found.append(f"{name}: accuracy {row.get('accuracy')} is not a percentage.")
        if row.get("nettype") not in NETWORK_NAMES or row.get("dataset") not in REGISTRY:
            found.append(f"{name}: not a network and data set of this tool.")
        if row.get("secondary") not in ("yes", "no"):
            found.append(f"{name}: secondary is '{row.get('secondary')}', not yes or no.")
        if row.get("recipe") and not os.path.isfile(os.path.join(repository, row["recipe"])):
            found.append(f"{name}: no recipe file {row['recipe']}.")
    return found
