"""The reporting rule and the paper table in Markdown, CSV and LaTeX, on runs of the real trainer
(tests/trained_runs.py); the rule's corner cases on edited copies of their logs."""

import csv
import io
import os

import pytest

from reporting.merge import configurations_of, merge_table
from reporting.paper_table import (
    CSV_RESULTS,
    MAIN_FIELDS,
    MAIN_HEADERS,
    csv_text,
    table_rows,
    to_latex,
    to_markdown,
    write_tables,
)
from reporting.peak import peak_epoch, peak_of
from reporting.runs_table import load_runs
from tests.trained_runs import configurations, copy_runs, expected_peak, identity, read_logs, write_edited_copy

pytest_plugins = ["tests.fixtures_trained"]


def merged(root):
    return merge_table(load_runs([str(root)]))


def only(root):
    [configuration] = configurations_of(merged(root))
    return configuration


def edited_runs(trained_runs, root, accuracies, epochs=None, **fields):
    """Copies of the two MinPruning runs with their test accuracy replaced (and cut to `epochs`)."""
    runs = read_logs(trained_runs, traintype="MinPruning")
    for index, (logs, accuracy) in enumerate(zip(runs, accuracies)):
        write_edited_copy(logs, root, f"{index + 1:08d}", epochs=epochs, testAccuracy=accuracy, seed=index + 1,
                          **{key: value[index] for key, value in fields.items()})
    return runs


def test_peak_epoch_takes_the_earliest_of_tied_maxima():
    assert peak_epoch([0.1, 0.8, 0.9, 0.9, 0.7]) == 2
    assert peak_epoch([0.1, 0.3, 0.2, 0.3 + 1e-15]) == 1  # summation noise is a tie
    assert peak_epoch([0.1, 0.3, 0.2, 0.3 + 1e-6]) == 3  # a real difference is not
    assert peak_epoch([float("nan"), 0.2, 0.5]) == 2


def test_the_peak_of_every_configuration_follows_the_rule_computed_from_the_logs(trained_runs):
    expected = {key: expected_peak(runs) for key, runs in configurations(trained_runs).items()}
    found = {c.key: peak_of(c) for c in configurations_of(merged(trained_runs))}
    assert sorted(found) == sorted(expected) and len(found) == 11
    for key, peak in found.items():
        want = expected[key]
        assert (peak.epoch, peak.runs) == (want["epoch"], want["runs"]), key
        assert (peak.mean, peak.min, peak.max) == pytest.approx((want["mean"], want["min"], want["max"]), abs=1e-15)
        assert (peak.changed, peak.changed_min, peak.changed_max) == pytest.approx(
            (want["changed"], want["changed_min"], want["changed_max"]), abs=1e-15)
        assert peak.remaining == pytest.approx(want["remaining"], abs=1e-15)
    assert {peak.epoch for peak in found.values()} != {3}, "some configuration should peak before the end"


def test_peak_mean_min_max_at_the_peak_of_the_mean_curve(trained_runs, tmp_path):
    # Run 2 alone peaks at epoch 1 (0.95), but the mean curve peaks at epoch 2.
    runs = edited_runs(trained_runs, tmp_path, [[0.1, 0.5, 0.9], [0.1, 0.95, 0.8]], epochs=3,
                       remainingWeights=[[266200, 250000, 230000], [266200, 260000, 210000]])
    peak = peak_of(only(tmp_path))
    total = runs[0]["totalWeights"]
    assert peak.epoch == 2 and peak.runs == 2 and peak.weight_measure == "remaining"
    assert peak.mean == (0.9 + 0.8) / 2 and peak.min == 0.8 and peak.max == 0.9
    assert peak.remaining == pytest.approx((230000 + 210000) / 2 / total, abs=1e-15)
    assert peak.changed == pytest.approx(1 - (230000 + 210000) / 2 / total, abs=1e-15)
    assert (peak.changed_min, peak.changed_max) == pytest.approx((1 - 230000 / total, 1 - 210000 / total))


def test_a_tie_in_the_mean_curve_goes_to_the_earliest_epoch(trained_runs, tmp_path):
    # Mean curve: 0.1, 0.6, 0.6 (up to summation noise) -> epoch 1, although run 2 peaks later.
    edited_runs(trained_runs, tmp_path, [[0.1, 0.7, 0.6, 0.6], [0.1, 0.5, 0.6, 0.4]])
    peak = peak_of(only(tmp_path))
    assert peak.epoch == 1
    assert (peak.min, peak.max) == (0.5, 0.7)
    assert peak.mean == pytest.approx(0.6, abs=1e-15)


def test_runs_of_different_lengths_are_judged_on_the_common_epochs(trained_runs, tmp_path):
    runs = read_logs(trained_runs, traintype="MinPruning")
    write_edited_copy(runs[0], tmp_path, "11111111", seed=1, testAccuracy=[0.1, 0.5, 0.6, 0.99])
    write_edited_copy(runs[1], tmp_path, "22222222", seed=2, epochs=3, testAccuracy=[0.1, 0.7, 0.6])
    peak = peak_of(only(tmp_path))
    assert peak.epoch == 1 and peak.mean == (0.5 + 0.7) / 2 and (peak.min, peak.max) == (0.5, 0.7)


def test_flipping_reports_the_flipped_fraction(trained_runs):
    for method in ("FreeFlipping", "MinFlipping"):
        [runs] = configurations(trained_runs, traintype=method).values()
        want = expected_peak(runs)
        [c] = [c for c in configurations_of(merged(trained_runs)) if c.get("traintype") == method]
        peak = peak_of(c)
        assert peak.epoch == want["epoch"] and peak.weight_measure == "flipped"
        assert peak.flipped == pytest.approx(want["changed"], abs=1e-15) and peak.flipped > 0.01
        assert peak.weight_fraction == peak.flipped == peak.changed
        assert (peak.changed_min, peak.changed_max) == pytest.approx((want["changed_min"], want["changed_max"]))
        assert peak.remaining == 1.0


def test_relative_to_the_baseline_of_the_same_network_initializer_dataset_activation_p1(trained_runs, tmp_path):
    copy_runs(trained_runs, tmp_path)
    [swish, other_lr] = read_logs(trained_runs, traintype="MinPruning")
    write_edited_copy(swish, tmp_path, "5a15a15a", config={"activation": "swish"})
    write_edited_copy(other_lr, tmp_path, "0dd1a000", config={"lr": 0.003})  # the learning rate need not match
    [baseline] = configurations(trained_runs, traintype="Baseline").values()
    baseline_mean = expected_peak(baseline)["mean"]
    rows = table_rows(merged(tmp_path))
    assert len(rows) == 13
    for row in rows:
        fields = row["fields"]
        matches = (fields["initializer"], fields["p1"], fields["activation"]) == ("heconstant", 0.5, "relu")
        if not matches:  # IMP (glorot), the p1 sweep, the swish copy
            assert row["relative"] is None and row["baseline"] is None, fields
            continue
        assert row["baseline"] == baseline_mean
        assert row["relative"] == row["reported"].mean / baseline_mean, fields
    assert sum(row["relative"] is not None for row in rows) == 8  # 5 connectivity, 2 RandomPruning, lr 0.003


def check_display(headers, found, rows):
    """Every parsed row (cells by header) shows the numbers of the table row with the same settings."""
    settings = headers[:headers.index("n")]
    field = dict(zip(MAIN_HEADERS, MAIN_FIELDS))

    def text(value):
        return "" if value is None else str(value)

    expected = {tuple(text(row["fields"].get(field.get(h, h))) for h in settings): row for row in rows}
    assert len(found) == len(expected) == len(rows)
    for cells in found:
        row = expected[tuple(cells[h] for h in settings)]
        reported = row["reported"]
        assert int(cells["n"]) == reported.runs == 2 and int(cells["Epoch"]) == reported.peak_epoch
        summary = reported.summary
        assert cells["95% CI %"] == f"[{100 * summary.low:.2f}, {100 * summary.high:.2f}]"
        for header, value in [("Test acc. mean %", reported.mean), ("Remaining / flipped %", reported.weight_fraction),
                              ("Changed %", reported.changed), ("vs Baseline %", row["relative"])]:
            shown = None if cells[header] == "n/a" else float(cells[header])
            assert (shown is None) == (value is None), header
            if value is not None:
                assert shown == round(100 * value, 2), header
        assert cells["Network"] == "LeNet" and cells["Dataset"] == "mnist-subset"


def test_markdown_parses_back_to_the_same_numbers(trained_runs):
    rows = table_rows(merged(trained_runs))
    lines = [line for line in to_markdown(rows).splitlines() if line.startswith("|")]
    headers = [h.strip() for h in lines[0].strip("|").split("|")]
    assert headers[len(MAIN_HEADERS):headers.index("n")] == ["reset", "sparsity"]  # the settings that vary
    assert set(lines[1].replace("|", "").replace("-", "").replace(":", "")) == set()
    found = [dict(zip(headers, (c.strip() for c in line.strip("|").split("|")))) for line in lines[2:]]
    check_display(headers, found, rows)
    # By initializer, p1, then method; a family's settings last.
    assert [(c["Init"], c["p1"], c["Method"], c["reset"] or c["sparsity"]) for c in found] == [
        ("glorot", "0.5", "IMP", "original"), ("glorot", "0.5", "IMP", "random"),
        ("heconstant", "0.3", "FreePruning", ""), ("heconstant", "0.5", "Baseline", ""),
        ("heconstant", "0.5", "FreePruning", ""), ("heconstant", "0.5", "MinPruning", ""),
        ("heconstant", "0.5", "FreeFlipping", ""), ("heconstant", "0.5", "MinFlipping", ""),
        ("heconstant", "0.5", "RandomPruning", "0.5"), ("heconstant", "0.5", "RandomPruning", "0.9"),
        ("heconstant", "0.7", "FreePruning", "")]


def test_latex_parses_back_to_the_same_numbers(trained_runs):
    rows = table_rows(merged(trained_runs))
    text = to_latex(rows)
    assert "\\begin{tabular}" in text and "\\end{tabular}" in text
    body = text.split("\\toprule\n")[1].split("\\bottomrule")[0]
    header, rest = body.split("\\midrule\n")

    def cells(line):
        line = line.strip()
        assert line.endswith("\\\\")
        return [c.strip().replace("\\%", "%").replace("\\_", "_") for c in line[:-2].split(" & ")]

    headers = cells(header)
    check_display(headers, [dict(zip(headers, cells(line))) for line in rest.strip().splitlines()], rows)


def test_csv_carries_the_logs_numbers_at_full_precision(trained_runs):
    expected = configurations(trained_runs)
    [baseline] = configurations(trained_runs, traintype="Baseline").values()
    found = list(csv.DictReader(io.StringIO(csv_text(table_rows(merged(trained_runs))))))
    assert len(found) == len(expected)
    settings = {name for runs in expected.values() for name in identity(runs[0])}
    assert set(found[0]) - set(CSV_RESULTS) == settings | set(MAIN_FIELDS)
    for cells in found:
        [runs] = [runs for key, runs in expected.items()
                  if all(cells[name] == ("" if value is None else str(value)) for name, value in key)]
        want = expected_peak(runs)
        assert int(cells["runs"]) == 2 and int(cells["peakEpoch"]) == want["epoch"] and cells["epochs"] == "4"
        assert float(cells["meanAccuracy"]) == pytest.approx(want["mean"], abs=1e-15)
        assert (float(cells["minAccuracy"]), float(cells["maxAccuracy"])) == (want["min"], want["max"])
        flipping = cells["masktype"] == "flip"
        assert cells["weightMeasure"] == ("flipped" if flipping else "remaining")
        assert float(cells["weightFraction"]) == pytest.approx(want["changed" if flipping else "remaining"], abs=1e-15)
        assert float(cells["changedFraction"]) == pytest.approx(want["changed"], abs=1e-15)
        if (cells["initializer"], cells["p1"]) == ("heconstant", "0.5"):
            relative = want["mean"] / expected_peak(baseline)["mean"]
            assert float(cells["relativeToBaseline"]) == pytest.approx(relative, rel=1e-14)
        else:
            assert cells["relativeToBaseline"] == "" and cells["baselineAccuracy"] == ""
        if cells["traintype"] != "RandomPruning":
            assert cells["sparsity"] == ""  # another family's setting is no part of the configuration
    assert "seed" not in found[0] and "outputpath" not in found[0]


def test_csv_columns_are_the_settings_of_the_runs_shown(trained_runs, tmp_path):
    # Another method family's settings (sparsity, reset, ...) are no part of a connectivity run's configuration.
    copy_runs(trained_runs, tmp_path, traintype=["Baseline", "FreePruning"])
    header = next(csv.reader(io.StringIO(csv_text(table_rows(merged(tmp_path))))))
    assert not {"sparsity", "reset", "rounds", "kstarts"} & set(header)
    common = {"batchsize", "maxepochs", "limit", "test_normalization", "backend", "augmentation", "lr_drops",
              "resnet_variant", "batchnorm_affine", "precision", "optimizer", "momentum", "weight_decay",
              "lr_schedule"}
    own = {"sanity_check"}  # FreePruning's (methods/sanity_checks.py)
    assert set(header) - set(CSV_RESULTS) == set(MAIN_FIELDS) | common | own


def test_tables_are_written_to_disk(trained_runs, tmp_path):
    paths = write_tables(table_rows(merged(trained_runs)), str(tmp_path / "tables"))
    assert sorted(os.path.basename(p) for p in paths) == ["paper_table.csv", "paper_table.md", "paper_table.tex"]
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            assert "FreePruning" in handle.read()
