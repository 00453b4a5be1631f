"""Plotter.py's pruning-at-initialisation part: accuracy against sparsity per method, and its table."""

import csv

import matplotlib.image
import pytest

from reporting.cli import main
from reporting.merge import merge_table
from reporting.pruning_figures import table_rows
from reporting.runs_table import load_runs
from tests.result_folders import write_fake_run

LEVELS = {"RandomPruning": 0.90, "KStarts": 0.93, "DissipatingGradients": 0.91, "KStartsDG": 0.95}
TOTAL = 266_200


@pytest.fixture
def results(tmp_path):
    for method, level in LEVELS.items():
        for sparsity in (0.5, 0.9):
            for seed in (1, 2):
                top = level - 0.1 * (sparsity - 0.5) + 0.01 * seed
                config = {"traintype": method, "sparsity": sparsity, "kstarts": 5, "fitness": "magnitude"}
                write_fake_run(tmp_path, config, seed, [0.1, top - 0.02, top, top - 0.01],
                               remaining=[round((1 - sparsity) * TOTAL)] * 4)
    write_fake_run(tmp_path, {"traintype": "Baseline"}, 1, [0.1, 0.97, 0.98])
    return tmp_path


def test_rows_follow_the_reporting_rule_per_method_and_sparsity(results):
    header, rows, varying = table_rows(merge_table(load_runs([str(results)]).runs))
    assert varying == [] and len(rows) == 8
    row = dict(zip(header, rows[2]))  # KStarts at sparsity 0.5: methods in order, then sparsity
    assert (row["traintype"], row["sparsity"], row["runs"], row["peakEpoch"]) == ("KStarts", 0.5, 2, 2)
    assert row["meanAccuracy"] == pytest.approx(0.945) and row["minAccuracy"] == pytest.approx(0.94)
    assert row["maxAccuracy"] == pytest.approx(0.95) and row["remainingFraction"] == pytest.approx(0.5)


def test_plotter_writes_the_sparsity_figure_and_tables(results, tmp_path_factory, capsys):
    figures = tmp_path_factory.mktemp("figures")
    assert main([str(results), "--only", "pruning", "--figures-dir", str(figures)]) == 0
    assert "pruning_at_init_LeNet_mnist" in capsys.readouterr().out
    image = matplotlib.image.imread(figures / "pruning_at_init_LeNet_mnist.png")
    assert image.shape[0] > 200 and image.shape[1] > 200 and image.std() > 0.01
    assert (figures / "pruning_at_init_LeNet_mnist.pdf").read_bytes()[:5] == b"%PDF-"
    markdown = (results / "pruning_at_init.md").read_text()
    assert "| LeNet | mnist | KStartsDG | 90 | 2 | 2 | 92.50 | 92.00 | 93.00 | 10.00 |" in markdown
    with open(results / "pruning_at_init.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 8 and {row["traintype"] for row in table} == set(LEVELS)


def test_without_pruning_runs_the_part_writes_nothing(tmp_path, capsys):
    write_fake_run(tmp_path, {"traintype": "Baseline"}, 1, [0.1, 0.97, 0.98])
    assert main([str(tmp_path), "--only", "pruning", "--figures-dir", str(tmp_path / "figures")]) == 0
    assert "Pruning at initialisation: none" in capsys.readouterr().out
    assert not (tmp_path / "pruning_at_init.md").exists()
