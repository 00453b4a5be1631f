"""What the figures plot, read back from their Line2D objects and error bars, equals what the runs of the
real trainer logged (tests/trained_runs.py), computed here from their `_logs.json` files."""

import numpy as np
import pytest

from methods import METHODS
from reporting.comparison_figures import comparison_figure, comparison_groups
from reporting.figures import configuration_figure
from reporting.lottery_figures import lottery_figure, lottery_groups
from reporting.merge import configurations_of, merge_table
from reporting.pruning_figures import pruning_configurations, series_of, sparsity_figure
from reporting.runs_table import load_runs
from reporting.sweep_figures import sweep_figure, sweep_series
from tests.trained_runs import changed_fraction, configurations, curve, expected_peak

pytest_plugins = ["tests.fixtures_trained"]


@pytest.fixture(scope="module")
def merged(trained_runs):
    return merge_table(load_runs(trained_runs))


def logs_of(trained_runs, configuration):
    """The logs of a merged configuration's runs, by seed."""
    return configurations(trained_runs)[configuration.key]


def band_values(runs):
    """100 x (min, max, mean) over the runs, per epoch: test accuracy and changed fraction."""
    accuracy = curve(runs, "testAccuracy")
    changed = np.array([changed_fraction(logs) for logs in runs]).T
    return [[100 * values.min(axis=1), 100 * values.max(axis=1), 100 * values.mean(axis=1)]
            for values in (accuracy, changed)]


def check_band(lines, expected, epochs):
    """Three lines (min, max, mean) plotted against the epochs, with the expected values."""
    assert len(lines) == 3
    for line, values in zip(lines, expected):
        np.testing.assert_array_equal(line.get_xdata(), np.arange(epochs))
        np.testing.assert_allclose(line.get_ydata(), values, rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["Baseline", "FreePruning", "FreeFlipping", "IMP", "RandomPruning"])
def test_configuration_figure_plots_the_runs_accuracy_and_changed_fraction(merged, trained_runs, method):
    configuration = next(c for c in configurations_of(merged) if c.get("traintype") == method)
    runs = logs_of(trained_runs, configuration)
    accuracy, changed = band_values(runs)
    figure = configuration_figure(configuration)
    left, right = figure.axes
    for ax, expected in ((left, accuracy), (right, changed)):
        *band, peak = ax.get_lines()
        check_band(band, expected, len(runs[0]["testAccuracy"]))
        assert all(line.get_color() == METHODS[method].color for line in band)  # each method its own colour
        assert list(peak.get_xdata()) == [expected_peak(runs)["epoch"]] * 2
    assert f"{100 * expected_peak(runs)['mean']:.2f}%" in left.get_title()
    if method in ("FreePruning", "FreeFlipping"):
        assert changed[2][-1] > 1  # percent of weights changed by the end


def test_comparison_figure_plots_each_methods_mean_and_range(merged, trained_runs):
    groups = comparison_groups(merged)
    assert len(groups) == 2
    for family, fields, members in groups:
        figure = comparison_figure(family, fields, members)
        left, right = figure.axes
        for index, configuration in enumerate(members):
            runs = logs_of(trained_runs, configuration)
            accuracy, changed = band_values(runs)
            for ax, expected in ((left, accuracy), (right, changed)):
                lines = ax.get_lines()[3 * index:3 * index + 3]
                check_band(lines, expected, len(runs[0]["testAccuracy"]))
                assert lines[2].get_label().startswith(configuration.get("traintype") + " (")
        assert len(left.get_lines()) == 3 * len(members) == 9


def check_error_bars(container, x, mean, low, high):
    data_line, _, (bars,) = container.lines
    np.testing.assert_allclose(data_line.get_xdata(), x, rtol=0, atol=1e-12)
    np.testing.assert_allclose(data_line.get_ydata(), mean, rtol=0, atol=1e-12)
    ends = np.array([segment[:, 1] for segment in bars.get_segments()])
    np.testing.assert_allclose(ends, np.array([low, high]).T, rtol=0, atol=1e-12)


def test_sweep_figure_points_are_the_peaks_of_each_p1(merged, trained_runs):
    [series] = sweep_series(merged)
    peaks = [expected_peak(logs_of(trained_runs, c)) for c in series]
    assert [c.get("p1") for c in series] == [0.3, 0.5, 0.7]
    figure = sweep_figure("LeNet", "mnist-subset", [series])
    left, right = figure.axes
    [accuracy] = left.containers
    [changed] = right.containers
    x = [0.3, 0.5, 0.7]
    check_error_bars(accuracy, x, *(100 * np.array([p[k] for p in peaks]) for k in ("mean", "min", "max")))
    check_error_bars(changed, x, *(100 * np.array([p[k] for p in peaks])
                                   for k in ("changed", "changed_min", "changed_max")))


def test_pruning_figure_points_are_the_peaks_of_each_sparsity_with_their_intervals(merged, trained_runs):
    members = pruning_configurations(merged)
    [series] = series_of(members)
    peaks = [expected_peak(logs_of(trained_runs, c)) for c in series]
    [baseline] = [c for c in configurations_of(merged) if c.get("traintype") == "Baseline"]
    figure = sparsity_figure("LeNet", "mnist-subset", [series], [baseline])
    [ax] = figure.axes
    [container] = ax.containers
    # Two seeds: the 95% interval is the mean +- t(0.975, 1 degree of freedom) = tan(0.475 pi) times half the range.
    mean = np.array([p["mean"] for p in peaks])
    half = np.tan(0.475 * np.pi) * np.array([(p["max"] - p["min"]) / 2 for p in peaks])
    check_error_bars(container, [50, 90], 100 * mean, 100 * (mean - half), 100 * (mean + half))
    dense = ax.get_lines()[-1]
    assert list(dense.get_ydata()) == [100 * expected_peak(logs_of(trained_runs, baseline))["mean"]] * 2
    assert peaks[0]["remaining"] == 0.5 and peaks[1]["remaining"] == pytest.approx(0.1, abs=1e-4)


def at_min_validation_loss(entry):
    """Frankle & Carbin's early stopping, written out independently: epoch 0 left out, first minimum."""
    losses = entry["valLoss"][1:]
    return entry["testAccuracy"][1 + losses.index(min(losses))]


@pytest.mark.parametrize("rule", ["val-loss", "val-accuracy"])
def test_lottery_figure_plots_each_round_against_the_weights_remaining(merged, trained_runs, rule):
    [group] = lottery_groups(merged)
    figure = lottery_figure(group, rule)
    [ax] = figure.axes
    lines = ax.get_lines()
    assert [c.get("reset") for c in group] == ["original", "random"] and len(lines) == 8
    for index, configuration in enumerate(group):
        rounds = [logs["rounds"] for logs in logs_of(trained_runs, configuration)]
        assert [len(entries) for entries in rounds] == [2, 2]  # round 0 (dense) and one pruning round
        remaining = 100 * np.mean([[entry["remainingFraction"] for entry in entries] for entries in rounds], axis=0)
        at = (lambda entry: entry["testAccuracyAtBestValidation"]) if rule == "val-accuracy" else at_min_validation_loss
        best = 100 * np.array([[at(entry) for entry in entries] for entries in rounds])
        final = 100 * np.array([[entry["finalTestAccuracy"] for entry in entries] for entries in rounds])
        low, high, mean, end = lines[4 * index:4 * index + 4]
        for line, values in ((low, best.min(axis=0)), (high, best.max(axis=0)), (mean, best.mean(axis=0)),
                             (end, final.mean(axis=0))):
            np.testing.assert_allclose(line.get_xdata(), remaining, rtol=0, atol=1e-12)
            np.testing.assert_allclose(line.get_ydata(), values, rtol=0, atol=1e-12)
        assert remaining[0] == 100 and 79 < remaining[1] < 81  # 20% of the dense layers pruned, 10% of the output
