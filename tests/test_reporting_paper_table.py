"""The reporting rule and the paper table in Markdown, CSV and LaTeX."""

import csv
import io
import math
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from reporting.merge import merge_table  # noqa: E402
from reporting.paper_table import csv_text, table_rows, to_latex, to_markdown, write_tables  # noqa: E402
from reporting.peak import peak_epoch, peak_of  # noqa: E402
from reporting.runs_table import load_runs  # noqa: E402
from tests.result_folders import write_fake_run  # noqa: E402

TOTAL = 266200


def configurations_of(root):
    return merge_table(load_runs([str(root)]).runs)


def only(root):
    [configuration] = configurations_of(root)
    return configuration


def test_peak_epoch_takes_the_earliest_of_tied_maxima():
    assert peak_epoch([0.1, 0.8, 0.9, 0.9, 0.7]) == 2
    assert peak_epoch([0.1, 0.3, 0.2, 0.3 + 1e-15]) == 1  # summation noise is a tie
    assert peak_epoch([0.1, 0.3, 0.2, 0.3 + 1e-6]) == 3  # a real difference is not
    assert peak_epoch([float("nan"), 0.2, 0.5]) == 2


def test_peak_mean_min_max_at_the_peak_of_the_mean_curve(tmp_path):
    # Run 2 alone peaks at epoch 2 (0.95), but the mean curve peaks at epoch 3.
    write_fake_run(tmp_path, {}, 1, [0.1, 0.5, 0.6, 0.9, 0.8], remaining=[TOTAL, 250000, 240000, 230000, 220000])
    write_fake_run(tmp_path, {}, 2, [0.1, 0.6, 0.95, 0.8, 0.7], remaining=[TOTAL, 260000, 250000, 210000, 200000])
    peak = peak_of(only(tmp_path))
    assert peak.epoch == 3
    assert peak.mean == (0.9 + 0.8) / 2 and peak.min == 0.8 and peak.max == 0.9
    assert peak.runs == 2
    assert peak.weight_measure == "remaining"
    assert peak.remaining == pytest.approx((230000 + 210000) / 2 / TOTAL, abs=1e-15)
    assert peak.changed == pytest.approx(1 - (230000 + 210000) / 2 / TOTAL, abs=1e-15)
    assert (peak.changed_min, peak.changed_max) == pytest.approx((1 - 230000 / TOTAL, 1 - 210000 / TOTAL))


def test_a_tie_in_the_mean_curve_goes_to_the_earliest_epoch(tmp_path):
    # Mean curve: 0.1, 0.6, 0.55, 0.6, 0.6 -> epoch 1, although single runs peak later.
    write_fake_run(tmp_path, {}, 1, [0.1, 0.7, 0.5, 0.6, 0.5])
    write_fake_run(tmp_path, {}, 2, [0.1, 0.5, 0.6, 0.6, 0.7])
    peak = peak_of(only(tmp_path))
    assert peak.epoch == 1
    assert (peak.min, peak.max) == (0.5, 0.7)
    assert peak.mean == pytest.approx(0.6, abs=1e-15)


def test_runs_of_different_lengths_are_judged_on_the_common_epochs(tmp_path):
    config = {"maxepochs": 4}
    write_fake_run(tmp_path, config, 1, [0.1, 0.5, 0.6, 0.99, 0.99], run_id="11111111")
    write_fake_run(tmp_path, config, 2, [0.1, 0.7, 0.6], run_id="22222222")
    peak = peak_of(only(tmp_path))
    assert peak.epoch == 1 and peak.mean == (0.5 + 0.7) / 2 and (peak.min, peak.max) == (0.5, 0.7)


def test_flipping_reports_the_flipped_fraction(tmp_path):
    write_fake_run(tmp_path, {"traintype": "MinFlipping"}, 1, [0.1, 0.5, 0.7, 0.6], flipped=[0, 1331, 2662, 3993])
    write_fake_run(tmp_path, {"traintype": "MinFlipping"}, 2, [0.1, 0.5, 0.7, 0.6], flipped=[0, 1331, 7986, 3993])
    peak = peak_of(only(tmp_path))
    assert peak.epoch == 2 and peak.weight_measure == "flipped"
    assert peak.flipped == pytest.approx((0.01 + 0.03) / 2, abs=1e-15)
    assert peak.weight_fraction == peak.flipped == peak.changed
    assert (peak.changed_min, peak.changed_max) == pytest.approx((0.01, 0.03), abs=1e-15)
    assert peak.remaining == 1.0


def test_relative_to_the_baseline_of_the_same_network_initializer_dataset_activation_p1(tmp_path):
    write_fake_run(tmp_path, {"traintype": "Baseline"}, 1, [0.1, 0.9, 0.8])
    write_fake_run(tmp_path, {"traintype": "Baseline"}, 2, [0.1, 0.7, 0.8])  # mean peak 0.8 at epoch 1
    write_fake_run(tmp_path, {"traintype": "FreePruning", "lr": 0.003}, 1, [0.1, 0.6, 0.72])
    write_fake_run(tmp_path, {"traintype": "FreeFlipping"}, 1, [0.1, 0.4, 0.5])
    write_fake_run(tmp_path, {"traintype": "FreePruning", "initializer": "glorot"}, 1, [0.1, 0.6, 0.7])
    write_fake_run(tmp_path, {"traintype": "FreePruning", "activation": "swish"}, 1, [0.1, 0.6, 0.7])
    rows = {(r["fields"]["traintype"], r["fields"]["initializer"], r["fields"]["activation"]): r
            for r in table_rows(configurations_of(tmp_path))}
    assert rows[("Baseline", "he", "relu")]["relative"] == 1.0
    assert rows[("FreePruning", "he", "relu")]["relative"] == 0.72 / 0.8
    assert rows[("FreeFlipping", "he", "relu")]["relative"] == 0.5 / 0.8
    assert rows[("FreePruning", "glorot", "relu")]["relative"] is None
    assert rows[("FreePruning", "he", "swish")]["relative"] is None


def _tree(root):
    write_fake_run(root, {"traintype": "Baseline"}, 1, [0.1, 0.9812, 0.97])
    write_fake_run(root, {"traintype": "Baseline"}, 2, [0.1, 0.9788, 0.975])
    write_fake_run(root, {"traintype": "FreePruning"}, 1, [0.1, 0.95, 0.9701], remaining=[TOTAL, 200000, 123456])
    write_fake_run(root, {"traintype": "FreePruning"}, 2, [0.1, 0.95, 0.9655], remaining=[TOTAL, 210000, 133456])
    write_fake_run(root, {"traintype": "MinFlipping"}, 1, [0.1, 0.93, 0.94], flipped=[0, 10000, 20000])
    write_fake_run(root, {"traintype": "FreePruning", "batchsize": 50}, 1, [0.1, 0.5, 0.6])
    return table_rows(configurations_of(root))


def _expected(rows):
    """(method, batchsize) -> the numbers every format must carry."""
    return {(r["fields"]["traintype"], r["fields"]["batchsize"]): r for r in rows}


def _percent_or_none(text):
    return None if text == "n/a" else float(text)


def _check_display(found, rows):
    expected = _expected(rows)
    assert len(found) == len(expected)
    for cells in found:
        row = expected[(cells["Method"], int(cells["batchsize"]))]
        peak = row["peak"]
        assert int(cells["Runs"]) == peak.runs and int(cells["Peak epoch"]) == peak.epoch
        for header, value in [("Test acc. mean %", peak.mean), ("Test acc. min %", peak.min),
                              ("Test acc. max %", peak.max), ("Remaining / flipped %", peak.weight_fraction),
                              ("Changed %", peak.changed), ("vs Baseline %", row["relative"])]:
            shown = _percent_or_none(cells[header])
            assert (shown is None) == (value is None), header
            if value is not None:
                assert shown == round(100 * value, 2), header
        assert cells["Network"] == "LeNet" and cells["p1"] == "0.5" and cells["Dataset"] == "mnist"


def test_markdown_parses_back_to_the_same_numbers(tmp_path):
    rows = _tree(tmp_path)
    lines = [line for line in to_markdown(rows).splitlines() if line.startswith("|")]
    headers = [h.strip() for h in lines[0].strip("|").split("|")]
    assert set(lines[1].replace("|", "").replace("-", "").replace(":", "")) == set()
    found = [dict(zip(headers, (c.strip() for c in line.strip("|").split("|")))) for line in lines[2:]]
    _check_display(found, rows)
    assert [c["Method"] for c in found] == ["Baseline", "FreePruning", "FreePruning", "MinFlipping"]


def test_latex_parses_back_to_the_same_numbers(tmp_path):
    rows = _tree(tmp_path)
    text = to_latex(rows)
    assert "\\begin{tabular}" in text and "\\end{tabular}" in text
    body = text.split("\\toprule\n")[1].split("\\bottomrule")[0]
    header, rest = body.split("\\midrule\n")

    def cells(line):
        line = line.strip()
        assert line.endswith("\\\\")
        return [c.strip().replace("\\%", "%").replace("\\_", "_") for c in line[:-2].split(" & ")]

    headers = cells(header)
    found = [dict(zip(headers, cells(line))) for line in rest.strip().splitlines()]
    _check_display(found, rows)


def test_csv_parses_back_to_full_precision(tmp_path):
    rows = _tree(tmp_path)
    found = list(csv.DictReader(io.StringIO(csv_text(rows))))
    expected = _expected(rows)
    assert len(found) == len(expected)
    for cells in found:
        row = expected[(cells["traintype"], int(cells["batchsize"]))]
        peak = row["peak"]
        assert int(cells["runs"]) == peak.runs and int(cells["peakEpoch"]) == peak.epoch
        assert float(cells["meanAccuracy"]) == peak.mean
        assert float(cells["minAccuracy"]) == peak.min and float(cells["maxAccuracy"]) == peak.max
        assert float(cells["weightFraction"]) == peak.weight_fraction
        assert cells["weightMeasure"] == ("flipped" if cells["traintype"] == "MinFlipping" else "remaining")
        assert float(cells["changedFraction"]) == peak.changed
        if row["relative"] is None:
            assert cells["relativeToBaseline"] == ""
        else:
            assert float(cells["relativeToBaseline"]) == row["relative"]
    assert "seed" not in found[0] and "outputpath" not in found[0]
    free = expected[("FreePruning", 25)]
    assert free["peak"].epoch == 2 and free["peak"].mean == (0.9701 + 0.9655) / 2
    assert free["peak"].remaining == pytest.approx((123456 + 133456) / 2 / TOTAL, abs=1e-15)
    assert free["relative"] == free["peak"].mean / ((0.9812 + 0.9788) / 2)
    assert math.isclose(free["relative"], 0.9678 / 0.98)


def test_tables_are_written_to_disk(tmp_path):
    rows = _tree(tmp_path / "runs")
    paths = write_tables(rows, str(tmp_path / "tables"))
    assert sorted(os.path.basename(p) for p in paths) == ["paper_table.csv", "paper_table.md", "paper_table.tex"]
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            assert "FreePruning" in handle.read()
