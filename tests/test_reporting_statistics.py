"""The statistics of Plotter's tables (reporting/statistics.py) against values computed by hand, the reporting
rules (reporting/rules.py) on hand-made runs, and the rule, n and intervals as the paper and comparison tables
show them.

The t quantiles and p-values by hand: with 1 degree of freedom Student's t is the Cauchy distribution, so
t(0.975, 1) = tan(0.475 pi); with 2, its distribution function is F(t) = 1/2 + t / (2 sqrt(t^2 + 2)), so
t(0.975, 2) = 0.95 / sqrt(2 x 0.975 x 0.025) = 4.30265272974946 and a two-sided p-value is 1 - |t| / sqrt(t^2 + 2).
"""

import csv
import json
import math
from pathlib import Path

import pytest

from reporting.cli import main
from reporting.comparison_table import comparison_rows, to_latex
from reporting.merge import configurations_of, merge_table
from reporting.paper_table import table_rows
from reporting.rules import RULES, reported_of
from reporting.runs_table import load_runs
from reporting.statistics import (
    interval_text,
    mean_interval_text,
    number,
    p_value_text,
    paired,
    summarise,
)

T_1 = math.tan(0.475 * math.pi)  # 12.706204736174...
T_2 = 0.95 / math.sqrt(2 * 0.975 * 0.025)  # 4.302652729749...
TOTAL = 100  # weights of the hand-made runs


def test_hand_computed_quantiles():
    assert T_1 == pytest.approx(12.706204736174707, abs=1e-9)
    assert T_2 == pytest.approx(4.30265272974946, abs=1e-12)


def test_mean_and_interval_of_three_values():
    s = summarise([0.90, 0.92, 0.94])
    assert s.n == 3 and s.mean == pytest.approx(0.92, abs=1e-15) and s.sd == pytest.approx(0.02, abs=1e-15)
    half = 0.02 * T_2 / math.sqrt(3)  # 0.0496827...
    assert (s.low, s.high) == pytest.approx((0.92 - half, 0.92 + half), abs=1e-12)
    assert (s.min, s.max) == (0.90, 0.94) and s.has_interval
    assert interval_text(s) == "[87.03, 96.97]" and mean_interval_text(s) == "92.00 [87.03, 96.97]"


def test_two_values_and_missing_ones():
    s = summarise([0.80, float("nan"), 0.90])  # NaN: no value, not counted
    assert s.n == 2 and s.mean == pytest.approx(0.85, abs=1e-15)
    assert (s.low, s.high) == pytest.approx((0.85 - T_1 * 0.05, 0.85 + T_1 * 0.05), abs=1e-12)


def test_one_value_has_no_interval_and_none_has_no_mean():
    one = summarise([0.9, float("nan")])
    assert one.n == 1 and one.mean == 0.9 and not one.has_interval
    assert math.isnan(one.sd) and math.isnan(one.low) and math.isnan(one.high)
    assert interval_text(one) == "none (n = 1)" and mean_interval_text(one) == "90.00 (n = 1, no CI)"
    assert number(one.low) == "" and number(one.mean) == "0.9"
    none = summarise([])
    assert none.n == 0 and math.isnan(none.mean)
    assert interval_text(none) == mean_interval_text(none) == "n/a"


def test_equal_values_have_an_interval_of_width_zero():
    s = summarise([0.9, 0.9, 0.9])
    assert (s.n, s.sd, s.low, s.high) == (3, 0.0, 0.9, 0.9)


def test_paired_t_test_by_hand():
    # Differences 0.05, 0.10, 0.10: mean 1/12, sd 0.05 / sqrt(3), standard error 0.05 / 3, t = 5 exactly.
    first = {1: 0.90, 2: 0.80, 3: 0.70, 4: 0.99, 6: float("nan")}  # seed 4 only here; seed 6 has no value
    second = {3: 0.60, 1: 0.85, 2: 0.70, 5: 0.10, 6: 0.5}
    c = paired(first, second)
    assert c.seeds == (1, 2, 3) and c.n == 3
    assert c.difference.mean == pytest.approx(0.25 / 3, abs=1e-15)
    assert c.difference.sd == pytest.approx(0.05 / math.sqrt(3), abs=1e-15)
    assert c.statistic == pytest.approx(5.0, abs=1e-9)
    assert c.p_value == pytest.approx(1 - 5 / math.sqrt(27), abs=1e-9)  # 0.0377495513...
    half = T_2 * 0.05 / 3
    assert (c.difference.low, c.difference.high) == pytest.approx((0.25 / 3 - half, 0.25 / 3 + half), abs=1e-12)
    assert (c.first_mean, c.second_mean) == pytest.approx((0.8, 0.7166666666666667), abs=1e-15)
    assert p_value_text(c) == "0.038" and c.has_test


def test_fewer_than_two_pairs_have_no_test():
    one = paired({1: 0.9, 2: 0.8}, {1: 0.85, 3: 0.7})
    assert one.n == 1 and one.difference.mean == pytest.approx(0.05, abs=1e-15) and not one.has_test
    assert math.isnan(one.p_value) and math.isnan(one.difference.low) and p_value_text(one) == "n/a"
    none = paired({1: 0.9}, {2: 0.9})
    assert none.n == 0 and math.isnan(none.difference.mean) and p_value_text(none) == "n/a"


def test_equal_differences_have_no_t_test():
    c = paired({1: 0.9, 2: 0.8}, {1: 0.8, 2: 0.7})  # +0.1 on both seeds (up to rounding): no spread
    assert c.n == 2 and not c.has_test and p_value_text(c) == "n/a (no spread)"
    assert c.difference.low == c.difference.high == pytest.approx(0.1, abs=1e-15)


# Hand-made runs: logs files as MaskTrainer writes them, with only what reporting reads.

def write_run(root, run_id, traintype, seed, test, val=None, remaining=None, **config):
    folder = Path(root) / traintype / str(config.get("p1", 0.5))
    folder.mkdir(parents=True, exist_ok=True)
    logs = {"config": {"traintype": traintype, "nettype": "LeNet", "initializer": "heconstant", "seed": seed,
                       "outputpath": str(root), **config},
            "runId": run_id, "seed": seed, "status": "finished", "dataset": {"name": "mnist"},
            "testAccuracy": test, "remainingWeights": remaining or [TOTAL] * len(test), "totalWeights": TOTAL}
    if val is not None:
        logs["valAccuracy"] = val
    (folder / f"{run_id}_logs.json").write_text(json.dumps(logs))


def only(root):
    [configuration] = configurations_of(merge_table(load_runs([str(root)])))
    return configuration


@pytest.fixture
def two_seeds(tmp_path):
    """Seed 1 peaks on validation at epoch 1 (a tie with epoch 3: the earliest), seed 2 at epoch 2; the mean test
    curve (0.10, 0.55, 0.675, 0.65) peaks at epoch 2."""
    write_run(tmp_path, "0000000a", "FreePruning", 1, [0.10, 0.50, 0.70, 0.60], [0.10, 0.60, 0.55, 0.60],
              [100, 90, 80, 70])
    write_run(tmp_path, "0000000b", "FreePruning", 2, [0.10, 0.60, 0.65, 0.70], [0.10, 0.50, 0.70, 0.65],
              [100, 95, 85, 75])
    return tmp_path


@pytest.mark.parametrize("rule, epochs, values, remaining", [
    ("authors", [2, 2], [0.70, 0.65], (0.80 + 0.85) / 2),
    ("best-validation", [1, 2], [0.50, 0.65], (0.90 + 0.85) / 2),
    ("final", [3, 3], [0.60, 0.70], (0.70 + 0.75) / 2),
])
def test_each_rule_on_hand_made_runs(two_seeds, rule, epochs, values, remaining):
    r = reported_of(only(two_seeds), rule)
    assert r.rule == rule and r.epochs.tolist() == epochs and r.values.tolist() == values
    assert r.by_seed() == {1: values[0], 2: values[1]} and r.peak_epoch == 2
    mean, half = sum(values) / 2, T_1 * abs(values[0] - values[1]) / 2
    assert r.summary.n == 2 and r.mean == pytest.approx(mean, abs=1e-15)
    assert (r.summary.low, r.summary.high) == pytest.approx((mean - half, mean + half), abs=1e-12)
    assert r.remaining == pytest.approx(remaining, abs=1e-15) and r.changed == pytest.approx(1 - remaining)
    assert r.epoch_text() == ("1-2" if rule == "best-validation" else str(epochs[0]))


def test_a_run_without_validation_accuracy_has_no_value_under_best_validation(tmp_path):
    write_run(tmp_path, "0000000a", "FreePruning", 1, [0.1, 0.5, 0.4], [0.1, 0.3, 0.6])
    write_run(tmp_path, "0000000b", "FreePruning", 2, [0.1, 0.6, 0.7])  # no valAccuracy
    r = reported_of(only(tmp_path), "best-validation")
    assert r.runs == 2 and r.summary.n == 1 and r.mean == 0.4 and r.epoch_text() == "2"
    assert r.epochs_field() == "2;" and interval_text(r.summary) == "none (n = 1)"


def markdown_rows(text):
    lines = [line for line in text.splitlines() if line.startswith("|")]
    headers = [cell.strip() for cell in lines[0].strip("|").split("|")]
    return [dict(zip(headers, (cell.strip() for cell in line.strip("|").split("|")))) for line in lines[2:]]


def read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.parametrize("rule", list(RULES))
def test_the_rule_is_named_under_every_table(two_seeds, rule, capsys):
    assert main([str(two_seeds), "--only", "table", "--reporting-rule", rule]) == 0
    sentence = f"Reporting rule '{rule}' (Plotter.py --reporting-rule {rule}): {RULES[rule]}."
    for name in ("paper_table", "comparison_table"):
        markdown = (two_seeds / f"{name}.md").read_text()
        assert f"\n\n{sentence}\n" in markdown, name
        latex = (two_seeds / f"{name}.tex").read_text()
        assert f"% {sentence}" in latex and f"{{\\footnotesize Reporting rule: {rule} (" in latex, name
        assert "nan" not in markdown.lower() + latex.lower()
    [row] = read_csv(two_seeds / "paper_table.csv")
    assert row["reportingRule"] == rule
    assert sentence in capsys.readouterr().out  # the printed Markdown table too


def test_the_paper_table_by_each_rule(two_seeds):
    for rule, values, epochs in (("final", (0.60, 0.70), "3;3"), ("best-validation", (0.50, 0.65), "1;2")):
        assert main([str(two_seeds), "--only", "table", "--reporting-rule", rule]) == 0
        [row] = read_csv(two_seeds / "paper_table.csv")
        mean, half = sum(values) / 2, T_1 * (values[1] - values[0]) / 2
        assert (row["n"], row["runs"], row["peakEpoch"], row["reportedEpochs"]) == ("2", "2", "2", epochs)
        assert float(row["meanAccuracy"]) == pytest.approx(mean, abs=1e-15)
        assert (float(row["minAccuracy"]), float(row["maxAccuracy"])) == values  # kept for the CSV's readers
        assert float(row["ciLow"]) == pytest.approx(mean - half, abs=1e-12)
        assert float(row["ciHigh"]) == pytest.approx(mean + half, abs=1e-12)
        assert float(row["sdAccuracy"]) == pytest.approx((values[1] - values[0]) / math.sqrt(2), abs=1e-15)
        [cells] = markdown_rows((two_seeds / "paper_table.md").read_text())
        assert cells["n"] == "2" and cells["Test acc. mean %"] == f"{100 * mean:.2f}"
        assert cells["95% CI %"] == f"[{100 * (mean - half):.2f}, {100 * (mean + half):.2f}]"
        assert cells["Epoch"] == ("1-2" if rule == "best-validation" else "3")


def test_one_seed_has_no_interval_and_no_nan_in_the_tables(tmp_path):
    write_run(tmp_path, "0000000a", "FreePruning", 1, [0.1, 0.5, 0.4], [0.1, 0.3, 0.6])
    assert main([str(tmp_path), "--only", "table"]) == 0
    [cells] = markdown_rows((tmp_path / "paper_table.md").read_text())
    assert cells["n"] == "1" and cells["95% CI %"] == "none (n = 1)" and cells["Test acc. mean %"] == "50.00"
    [row] = read_csv(tmp_path / "paper_table.csv")
    assert (row["n"], row["ciLow"], row["ciHigh"], row["sdAccuracy"]) == ("1", "", "", "")
    assert row["minAccuracy"] == row["maxAccuracy"] == "0.5"
    for name in ("paper_table.md", "paper_table.csv", "paper_table.tex", "comparison_table.md",
                 "comparison_table.csv", "comparison_table.tex"):
        assert "nan" not in (tmp_path / name).read_text().lower(), name
    assert "nothing to compare" in (tmp_path / "comparison_table.md").read_text()


@pytest.fixture
def group(tmp_path):
    """A Baseline and FreePruning on seeds 1-3 (FreePruning 0.05, 0.10 and 0.10 better at the end: t = 5),
    MinPruning on seeds 1 and 4 (one seed in common with each), and a FreePruning of another p1 (another group)."""
    finals = {"Baseline": {1: 0.85, 2: 0.70, 3: 0.60}, "FreePruning": {1: 0.90, 2: 0.80, 3: 0.70},
              "MinPruning": {1: 0.88, 4: 0.75}}
    for method, by_seed in finals.items():
        for seed, final in by_seed.items():
            write_run(tmp_path, f"{len(list(tmp_path.rglob('*_logs.json'))):08x}", method, seed, [0.1, final],
                      [0.1, 0.5])
    write_run(tmp_path, "000000ff", "FreePruning", 1, [0.1, 0.5], [0.1, 0.5], p1=0.3)
    return tmp_path


def test_the_comparison_table_pairs_the_seeds_both_ran(group):
    assert main([str(group), "--only", "table", "--reporting-rule", "final"]) == 0
    found = [(c["First"], c["Second"], c["Pairs"], c["Difference (pp)"], c["95% CI (pp)"], c["p-value"])
             for c in markdown_rows((group / "comparison_table.md").read_text())]
    half = 100 * T_2 * 0.05 / 3
    assert found == [
        ("FreePruning", "Baseline", "3", "+8.33", f"[{25 / 3 - half:+.2f}, {25 / 3 + half:+.2f}]", "0.038"),
        ("MinPruning", "Baseline", "1", "+3.00", "none (1 common seed)", "n/a"),
        ("FreePruning", "MinPruning", "1", "+2.00", "none (1 common seed)", "n/a")]
    rows = read_csv(group / "comparison_table.csv")
    assert [(row["p1"], row["comparison"], row["seeds"]) for row in rows] == [
        ("0.5", "vs-baseline", "1;2;3"), ("0.5", "vs-baseline", "1"), ("0.5", "between-methods", "1")]
    first = rows[0]
    assert float(first["pValue"]) == pytest.approx(1 - 5 / math.sqrt(27), abs=1e-9)
    assert float(first["tStatistic"]) == pytest.approx(5.0, abs=1e-9)
    assert float(first["meanDifference"]) == pytest.approx(0.25 / 3, abs=1e-15)
    assert float(first["ciLow"]) == pytest.approx(0.25 / 3 - T_2 * 0.05 / 3, abs=1e-12)
    assert float(first["ciHigh"]) == pytest.approx(0.25 / 3 + T_2 * 0.05 / 3, abs=1e-12)
    assert float(first["firstMean"]) == pytest.approx(0.8, abs=1e-15) and first["reportingRule"] == "final"
    one = rows[1]
    assert (one["pairs"], one["pValue"], one["ciLow"], one["tStatistic"]) == ("1", "", "", "")
    assert float(one["meanDifference"]) == pytest.approx(0.03, abs=1e-15)


def test_comparisons_under_the_authors_rule_take_each_configuration_at_its_own_peak(tmp_path):
    # Baseline peaks at epoch 1 (mean 0.75), FreePruning at epoch 2 (mean 0.8).
    write_run(tmp_path, "0000000a", "Baseline", 1, [0.1, 0.8, 0.5])
    write_run(tmp_path, "0000000b", "Baseline", 2, [0.1, 0.7, 0.6])
    write_run(tmp_path, "0000000c", "FreePruning", 1, [0.1, 0.5, 0.9])
    write_run(tmp_path, "0000000d", "FreePruning", 2, [0.1, 0.6, 0.7])
    [c] = comparison_rows(table_rows(merge_table(load_runs([str(tmp_path)]))))
    assert (c["first"], c["second"], c["kind"], c["rule"]) == ("FreePruning", "Baseline", "vs-baseline", "authors")
    assert c["paired"].seeds == (1, 2)
    assert c["paired"].difference.mean == pytest.approx(((0.9 - 0.8) + (0.7 - 0.7)) / 2, abs=1e-15)
    # Differences 0.1 and 0: t = 0.05 / (0.1 / sqrt(2) / sqrt(2)) = 1, p = 1 - 2 atan(1) / pi = 0.5 (1 d.f.).
    assert c["paired"].statistic == pytest.approx(1.0, abs=1e-9)
    assert c["paired"].p_value == pytest.approx(0.5, abs=1e-9)
    latex = to_latex([c], "authors")
    assert "FreePruning & Baseline & 2 & +5.00" in latex and "\\bottomrule" in latex
