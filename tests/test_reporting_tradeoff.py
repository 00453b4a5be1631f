"""Plotter.py's trade-off part: accuracy against compression ratio and theoretical speed-up, one line per method,
from real RandomPruning runs at two sparsities (tests/trained_runs.py) and copies of them as SNIP runs."""

import math

import numpy as np
import pytest
from scipy import stats

from reporting.cli import main
from reporting.merge import merge_table
from reporting.runs_table import load_runs
from reporting.tradeoff_figures import Series, tradeoff_figure, tradeoff_series
from tests.trained_runs import configurations, copy_runs, expected_peak, read_logs, write_edited_copy

pytest_plugins = ["tests.fixtures_trained"]


@pytest.fixture(scope="module")
def results(trained_runs, tmp_path_factory):
    root = tmp_path_factory.mktemp("tradeoff")
    copy_runs(trained_runs, root, traintype=["RandomPruning", "Baseline"])
    for number, logs in enumerate(read_logs(trained_runs, traintype="RandomPruning")):
        write_edited_copy(logs, root / "SNIP", f"5{number:07d}", config={"traintype": "SNIP"})
    return root


def test_each_method_is_a_line_of_its_sparsities(results, trained_runs):
    runs = load_runs([str(results)])
    [(key, series)] = tradeoff_series(merge_table(runs)).items()
    assert key == ("LeNet", "mnist-subset") and [line.method for line in series] == ["RandomPruning", "SNIP"]
    for line in series:
        assert line.n == [2, 2]
        for column in ("compressionRatio", "theoreticalSpeedup"):
            expected = [runs[(runs.traintype == line.method) & (runs.sparsity == s)][column].mean() for s in (0.5, 0.9)]
            assert line.x[column] == pytest.approx(expected, rel=1e-12)
        assert line.x["compressionRatio"] == pytest.approx([2, 10], rel=0.01)  # 1 / (1 - sparsity)
        for index, sparsity in enumerate((0.5, 0.9)):
            [logs] = configurations(trained_runs, traintype="RandomPruning", sparsity=sparsity).values()
            peak = expected_peak(logs)
            values = [run["testAccuracy"][peak["epoch"]] for run in logs]
            half = stats.t.ppf(0.975, 1) * np.std(values, ddof=1) / math.sqrt(2)
            assert line.mean[index] == pytest.approx(peak["mean"], abs=1e-15)
            assert (line.low[index], line.high[index]) == pytest.approx((peak["mean"] - half, peak["mean"] + half))
    figure = tradeoff_figure(*key, series)
    for ax, column in zip(figure.axes, ("compressionRatio", "theoreticalSpeedup")):
        assert ax.get_xscale() == "log"
        for container, line in zip(ax.containers, series):
            plotted = container.lines[0]
            np.testing.assert_allclose(np.asarray(plotted.get_xdata(), dtype=float), line.x[column], rtol=1e-12)
            np.testing.assert_allclose(np.asarray(plotted.get_ydata(), dtype=float), 100 * np.array(line.mean),
                                       atol=1e-12)


def test_plotter_draws_it_by_default_and_only_where_called_for(results, trained_runs, tmp_path, capsys):
    assert main([str(results), "--only", "tradeoff", "--formats", "png", "--figures-dir", str(tmp_path)]) == 0
    assert "tradeoff_LeNet_mnist-subset.png" in capsys.readouterr().out
    assert (tmp_path / "tradeoff_LeNet_mnist-subset.png").stat().st_size > 1000
    single = tmp_path / "single"
    copy_runs(trained_runs, single, traintype="RandomPruning", sparsity=0.9)
    assert main([str(single), "--only", "table,tradeoff", "--figures-dir", str(single / "figures")]) == 0
    assert "Trade-off: none" in capsys.readouterr().out and not (single / "figures").exists()
    assert main([str(single), "--formats", "png", "--figures-dir", str(single / "figures")]) == 0
    assert "Trade-off" not in capsys.readouterr().out


def test_an_interval_past_100_percent_is_drawn_up_to_100():
    line = Series("SNIP", "SNIP", {"compressionRatio": [2.0, 4.0], "theoreticalSpeedup": [2.0, 4.0]},
                  mean=[0.97, 0.9], low=[0.5, -0.2], high=[1.44, 0.95], n=[2, 2])
    figure = tradeoff_figure("LeNet", "mnist", [line])
    for ax in figure.axes[:2]:
        [container] = ax.containers
        bars = [segment[:, 1] for segment in container.lines[2][0].get_segments()]
        np.testing.assert_allclose(bars, [[50.0, 100.0], [0.0, 95.0]], atol=1e-9)
