"""Plotter.py's pruning-at-initialisation part: accuracy against sparsity per method, and its table, from
RandomPruning runs of the real trainer (tests/trained_runs.py) and a Baseline."""

import csv
import math

import matplotlib.image
import pytest

from reporting.cli import main
from reporting.merge import merge_table
from reporting.pruning_figures import table_rows
from reporting.runs_table import load_runs
from tests.trained_runs import configurations, copy_runs, expected_peak, read_logs, write_edited_copy

pytest_plugins = ["tests.fixtures_trained"]

METHODS = ("RandomPruning", "KStarts", "DissipatingGradients", "KStartsDG")


@pytest.fixture
def results(trained_runs, tmp_path):
    """The RandomPruning runs and the Baseline; the other methods as copies of the RandomPruning logs with only
    their traintype changed (training them is slower, and the report does not tell them apart)."""
    copy_runs(trained_runs, tmp_path, traintype=["RandomPruning", "Baseline"])
    for index, method in enumerate(METHODS[1:]):
        for number, logs in enumerate(read_logs(trained_runs, traintype="RandomPruning")):
            write_edited_copy(logs, tmp_path / method, f"{index + 1}{number:07d}", config={"traintype": method})
    return tmp_path


def peak_of_sparsity(trained_runs, sparsity):
    [runs] = configurations(trained_runs, traintype="RandomPruning", sparsity=sparsity).values()
    return expected_peak(runs)


def test_rows_follow_the_reporting_rule_per_method_and_sparsity(results, trained_runs):
    header, rows, varying = table_rows(merge_table(load_runs([str(results)])))
    assert varying == [] and len(rows) == 8
    assert [(row[2], row[3]) for row in rows] == [(method, s) for method in METHODS for s in (0.5, 0.9)]
    for row in rows:
        row = dict(zip(header, row))
        expected = peak_of_sparsity(trained_runs, row["sparsity"])
        assert (row["runs"], row["peakEpoch"]) == (2, expected["epoch"])
        assert row["meanAccuracy"] == pytest.approx(expected["mean"], abs=1e-15)
        assert (row["minAccuracy"], row["maxAccuracy"]) == (expected["min"], expected["max"])
        assert row["remainingFraction"] == pytest.approx(expected["remaining"], abs=1e-15)
        assert row["remainingFraction"] == pytest.approx(1 - row["sparsity"], abs=1e-4)


def test_plotter_writes_the_sparsity_figure_and_tables(results, trained_runs, tmp_path_factory, capsys):
    figures = tmp_path_factory.mktemp("figures")
    assert main([str(results), "--only", "pruning", "--figures-dir", str(figures)]) == 0
    assert "pruning_at_init_LeNet_mnist-subset" in capsys.readouterr().out
    image = matplotlib.image.imread(figures / "pruning_at_init_LeNet_mnist-subset.png")
    assert image.shape[0] > 200 and image.shape[1] > 200 and image.std() > 0.01
    assert (figures / "pruning_at_init_LeNet_mnist-subset.pdf").read_bytes()[:5] == b"%PDF-"
    markdown = (results / "pruning_at_init.md").read_text()
    p = peak_of_sparsity(trained_runs, 0.9)
    # Two seeds: the interval is the mean +- t(0.975, 1 degree of freedom) = tan(0.475 pi) times half their range.
    half = math.tan(0.475 * math.pi) * (p["max"] - p["min"]) / 2
    line = (f"| LeNet | mnist-subset | KStartsDG | 90 | 2 | {p['epoch']} | {100 * p['mean']:.2f} | "
            f"[{100 * (p['mean'] - half):.2f}, {100 * (p['mean'] + half):.2f}] | {100 * p['remaining']:.2f} |")
    assert line in markdown
    assert "Reporting rule 'authors' (Plotter.py --reporting-rule authors)" in markdown
    with open(results / "pruning_at_init.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 8 and {row["traintype"] for row in table} == set(METHODS)
    assert {(row["reportingRule"], row["n"], row["minAccuracy"] != "") for row in table} == {("authors", "2", True)}


def test_without_pruning_runs_the_part_writes_nothing(trained_runs, tmp_path, capsys):
    copy_runs(trained_runs, tmp_path, traintype="Baseline")
    assert main([str(tmp_path), "--only", "pruning", "--figures-dir", str(tmp_path / "figures")]) == 0
    assert "Pruning at initialisation: none" in capsys.readouterr().out
    assert not (tmp_path / "pruning_at_init.md").exists()
