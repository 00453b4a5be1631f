"""Plotter.py's sanity part: each criterion beside its sanity checks, in one table and one figure, from hand-made
logs (copies of real RandomPruning runs, tests/trained_runs.py, made SNIP runs with chosen accuracies)."""

import csv
import math

import numpy as np
import pytest
from scipy import stats

from reporting.cli import main
from reporting.merge import merge_table
from reporting.runs_table import load_runs
from reporting.sanity_figures import figure_panels, sanity_figure
from reporting.sanity_table import markdown_cells, sanity_rows
from tests.trained_runs import copy_runs, read_logs, write_edited_copy

pytest_plugins = ["tests.fixtures_trained"]

# The final test accuracy of each (sparsity, check) by seed; the earlier epochs are lower, so that every rule
# reports the last epoch.
FINAL = {
    (0.9, "none"): {1: 0.95, 2: 0.96, 3: 0.94},
    (0.9, "shuffle"): {1: 0.951, 2: 0.955, 3: 0.945},
    (0.9, "reinit"): {1: 0.93, 2: 0.95, 3: 0.92},
    (0.9, "invert"): {1: 0.50, 2: 0.60},
    (0.98, "none"): {1: 0.90, 2: 0.91},
    (0.98, "shuffle"): {2: 0.80},
}


def t_interval(values):
    """Student's t interval, by the textbook formula: mean +- t(0.975, n - 1) sd / sqrt(n)."""
    values = np.array(values)
    half = stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / math.sqrt(len(values))
    return values.mean() - half, values.mean() + half


def paired_p(first, second):
    """The paired t-test's two-sided p-value, by the textbook formula."""
    differences = np.array(first) - np.array(second)
    t = differences.mean() / (differences.std(ddof=1) / math.sqrt(len(differences)))
    return 2 * stats.t.sf(abs(t), len(differences) - 1)


@pytest.fixture(scope="module")
def results(trained_runs, tmp_path_factory):
    root = tmp_path_factory.mktemp("sanity")
    source = read_logs(trained_runs, traintype="RandomPruning", sparsity=0.9)[0]
    number = 0
    for (sparsity, check), by_seed in FINAL.items():
        for seed, final in by_seed.items():
            number += 1
            write_edited_copy(source, root, f"{number:08x}", seed=seed, testAccuracy=[0.1, 0.2, 0.3, final],
                              config={"traintype": "SNIP", "sanity_check": check, "sparsity": sparsity})
    return root


@pytest.fixture(scope="module")
def configurations(results):
    return merge_table(load_runs([str(results)]))


def test_rows_pair_each_check_with_the_criterions_own_mask(configurations):
    rows, varying = sanity_rows(configurations, "final")
    assert varying == [] and [(row.get("traintype"), row.get("sparsity")) for row in rows] == [("SNIP", 0.9),
                                                                                              ("SNIP", 0.98)]
    dense, sparse = rows
    for check in ("none", "shuffle", "reinit", "invert"):
        values = list(FINAL[0.9, check].values())
        summary = dense.reported[check].summary
        assert summary.n == len(values) and summary.mean == pytest.approx(np.mean(values), abs=1e-15)
        assert (summary.low, summary.high) == pytest.approx(t_interval(values), abs=1e-12)
    for check in ("shuffle", "reinit", "invert"):
        seeds = sorted(FINAL[0.9, check])
        first, second = [FINAL[0.9, check][s] for s in seeds], [FINAL[0.9, "none"][s] for s in seeds]
        comparison = dense.versus[check]
        assert comparison.seeds == tuple(seeds)
        assert comparison.difference.mean == pytest.approx(np.mean(np.subtract(first, second)), abs=1e-15)
        assert (comparison.difference.low, comparison.difference.high) == pytest.approx(
            t_interval(np.subtract(first, second)), abs=1e-12)
        assert comparison.p_value == pytest.approx(paired_p(first, second), rel=1e-9)
    assert set(sparse.reported) == {"none", "shuffle"} and sparse.versus["shuffle"].n == 1
    assert not sparse.versus["shuffle"].has_test


def test_the_figure_plots_each_checks_mean_and_interval(configurations):
    rows, varying = sanity_rows(configurations)
    panels = figure_panels(rows, varying)
    [(key, [panel])] = panels.items()
    assert key == ("LeNet", "mnist-subset") and panel.method == "SNIP" and panel.sparsities == [0.9, 0.98]
    assert list(panel.points) == ["none", "shuffle", "reinit", "invert"]
    shuffle = panel.points["shuffle"]
    assert shuffle["n"] == [3, 1] and shuffle["mean"] == pytest.approx([np.mean(list(FINAL[0.9, "shuffle"]
                                                                                      .values())), 0.80])
    assert shuffle["low"][0] == pytest.approx(t_interval(list(FINAL[0.9, "shuffle"].values()))[0])
    assert math.isnan(shuffle["low"][1]) and math.isnan(panel.points["reinit"]["mean"][1])  # not run at 0.98
    [ax] = sanity_figure(*key, [panel]).axes
    plotted = {container.get_label().split(" ")[0]: container for container in ax.containers}
    assert list(plotted) == ["none", "shuffle", "reinit", "invert"]
    for check, container in plotted.items():
        line, _, (bars,) = container
        np.testing.assert_allclose(line.get_ydata(), 100 * np.array(panel.points[check]["mean"]), atol=1e-12)
        segments = bars.get_segments()  # one per finite point: from the CI's low to its high
        np.testing.assert_allclose(segments[0][:, 1], [100 * panel.points[check]["low"][0],
                                                       100 * panel.points[check]["high"][0]], atol=1e-12)


def test_plotter_writes_the_table_and_figure_by_default_where_checks_ran(results, tmp_path, capsys):
    assert main([str(results), "--formats", "png", "--figures-dir", str(tmp_path)]) == 0
    assert "Sanity checks:" in capsys.readouterr().out
    assert (tmp_path / "sanity_checks_LeNet_mnist-subset.png").stat().st_size > 1000
    markdown = (results / "sanity_checks.md").read_text()
    none, reinit = FINAL[0.9, "none"], FINAL[0.9, "reinit"]
    low, high = t_interval(list(reinit.values()))
    difference = np.subtract(list(reinit.values()), list(none.values()))
    d_low, d_high = t_interval(difference)
    p = paired_p(list(reinit.values()), list(none.values()))
    assert (f"| {100 * np.mean(list(reinit.values())):.2f} [{100 * low:.2f}, {100 * high:.2f}] | "
            f"{100 * difference.mean():+.2f} [{100 * d_low:+.2f}, {100 * d_high:+.2f}] | {p:.3f} |") in markdown
    assert "| SNIP | 98 | 90.50 [" in markdown.replace("| LeNet | mnist-subset ", "")
    assert "| none finished | n/a | n/a |" in markdown and "(pairs: 1, no CI)" in markdown
    assert "Reporting rule 'authors'" in markdown
    with open(results / "sanity_checks.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert [(row["traintype"], row["sparsity"]) for row in table] == [("SNIP", "0.9"), ("SNIP", "0.98")]
    assert float(table[0]["invertVsNoneDifference"]) == pytest.approx(-0.405, abs=1e-12)
    assert table[0]["invertVsNonePairs"] == "2" and table[0]["invertSeeds"] == "1;2"
    assert table[1]["reinitN"] == "" and table[1]["shuffleVsNonePValue"] == ""
    assert float(table[0]["reinitVsNonePValue"]) == pytest.approx(p, rel=1e-9)


def test_without_checks_the_part_is_left_out(trained_runs, tmp_path, capsys):
    copy_runs(trained_runs, tmp_path, traintype="RandomPruning", sparsity=0.9)
    assert main([str(tmp_path), "--formats", "png"]) == 0  # every part by default
    out = capsys.readouterr().out
    assert "Sanity" not in out and "Pruning at initialisation:" in out
    assert main([str(tmp_path), "--only", "sanity", "--figures-dir", str(tmp_path / "sanity")]) == 0
    assert "Sanity checks: none" in capsys.readouterr().out
    assert not (tmp_path / "sanity_checks.md").exists() and not (tmp_path / "sanity").exists()


def test_a_learned_mask_is_paired_with_its_checks_and_a_method_without_checks_has_no_row(trained_runs, tmp_path):
    source = read_logs(trained_runs, traintype="FreePruning")[0]
    accuracies = {("FreePruning", "none"): {1: 0.90, 2: 0.92}, ("FreePruning", "shuffle"): {1: 0.11, 2: 0.12},
                  ("MinPruning", "none"): {1: 0.93, 2: 0.94}}
    for number, ((traintype, check), by_seed) in enumerate(accuracies.items()):
        for seed, final in by_seed.items():
            write_edited_copy(source, tmp_path, f"{number:04x}{seed:04x}", seed=seed,
                              testAccuracy=[0.1, 0.2, 0.3, final], config={"traintype": traintype,
                                                                          "sanity_check": check})
    rows, varying = sanity_rows(merge_table(load_runs([str(tmp_path)])), "final")
    [row] = rows
    assert (row.get("traintype"), row.get("sparsity"), set(row.reported)) == ("FreePruning", None, {"none", "shuffle"})
    assert row.versus["shuffle"].difference.mean == pytest.approx(-0.795, abs=1e-12)
    cells = markdown_cells(row, varying)  # reinit was not run; invert is no check of a learned mask
    assert cells[-6] == "none finished" and cells[-3:] == ["does not apply", "n/a", "n/a"]
    [(key, [panel])] = figure_panels(rows, varying).items()
    [ax] = sanity_figure(*key, [panel]).axes
    assert [label.get_text() for label in ax.get_xticklabels()] == ["learned"]
    assert ax.get_xlabel() == "the learned mask"


def test_the_legend_names_every_check_that_finished_in_some_panel(configurations):
    rows, varying = sanity_rows(configurations)
    [(key, [panel])] = figure_panels(rows, varying).items()
    fewer = type(panel)("GraSP", "GraSP", panel.sparsities, {"none": panel.points["none"]})
    figure = sanity_figure(*key, [fewer, panel])
    [legend] = figure.legends
    assert [text.get_text().split(" ")[0] for text in legend.get_texts()] == ["none", "shuffle", "reinit", "invert"]
