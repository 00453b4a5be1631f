"""Plotter.py end to end, over runs of the real trainer (tests/trained_runs.py) and edited copies of them."""

import csv
import os
import subprocess
import sys

import matplotlib.image
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from reporting.cli import main  # noqa: E402
from tests.trained_runs import CONNECTIVITY, copy_runs, expected_peak, read_logs, write_edited_copy  # noqa: E402

pytest_plugins = ["tests.fixtures_trained"]

PLOTTER = os.path.join(ROOT, "Plotter.py")
HINT = "run MaskTrainer.py first or pass the folder that holds the runs."


def plotter(*args, cwd=None):
    return subprocess.run([sys.executable, PLOTTER, *map(str, args)], cwd=cwd or ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "MPLBACKEND": "Agg"})


def plot_here(capsys, *args):
    """(exit code, stdout, stderr) of Plotter.py's main in this process (argparse's own exits included): the script
    itself starts in a process of its own in test_missing_folder_exits_2_with_one_sentence."""
    try:
        code = main([str(arg) for arg in args])
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def test_missing_folder_exits_2_with_one_sentence(tmp_path):
    result = plotter(tmp_path / "nowhere")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.strip() == f"No results folder at {tmp_path / 'nowhere'}; {HINT}"


def test_default_folder_is_outputs_and_its_absence_is_explained(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, _, err = plot_here(capsys)
    assert code == 2 and err.strip() == f"No results folder at Outputs; {HINT}"


def test_empty_folder_exits_2_with_one_sentence(tmp_path, monkeypatch, capsys):
    (tmp_path / "Outputs").mkdir()
    (tmp_path / "Outputs" / "notes.txt").write_text("nothing here")
    monkeypatch.chdir(tmp_path)
    code, out, err = plot_here(capsys)
    assert code == 2
    assert err.strip() == f"No finished runs found under Outputs; {HINT}"


def test_only_failed_runs_exits_2_and_names_them(trained_runs, tmp_path, capsys):
    [logs, _] = read_logs(trained_runs, traintype="Baseline")
    write_edited_copy(logs, tmp_path, "0badf00d", status="failed", failureReason="The loss became NaN in epoch 2.")
    code, _, err = plot_here(capsys, tmp_path)
    assert code == 2
    lines = err.strip().splitlines()
    assert "0badf00d" in lines[0] and "failed" in lines[0] and "loss became NaN" in lines[0]
    assert lines[1] == f"No finished runs found under {tmp_path} (1 failed left out); {HINT}"


def test_help_explains_the_parts(capsys):
    code, out, _ = plot_here(capsys, "--help")
    assert code == 0
    for word in ("merged", "compare", "sweep", "layers", "table", "--figures-dir", "--formats", "--only",
                 "--reporting-rule", "best-validation", "comparison_table"):
        assert word in out


def test_bad_arguments_exit_2_without_traceback(tmp_path, capsys):
    for args in (["--only", "pictures"], ["--formats", "gif2"], ["--reporting-rule", "best-test"]):
        code, _, err = plot_here(capsys, tmp_path, *args)
        assert code == 2 and err.strip().splitlines()[-1].startswith("Plotter.py: error: argument ")


def _read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))




def test_everything_from_one_command(trained_runs, tmp_path, capsys):
    runs = tmp_path / "Outputs"
    copy_runs(trained_runs, runs)
    [min_pruning, _] = read_logs(trained_runs, traintype="MinPruning")
    failed = write_edited_copy(min_pruning, runs, "0badf00d", seed=9, status="failed")
    write_edited_copy(min_pruning, runs, "5107a11d", seed=8, epochs=2, status="running")
    (failed.parent / "feedface_logs.json").write_text("{truncated")
    (failed.parent / "notes.txt").write_text("unrelated")
    code = main([str(runs), "--formats", "png"])
    out, err = capsys.readouterr()
    assert code == 0, err
    # One line each for what was left out.
    err_lines = err.strip().splitlines()
    assert len(err_lines) == 3
    assert any("0badf00d" in line and "failed" in line for line in err_lines)
    assert any("5107a11d" in line and "running" in line for line in err_lines)
    assert any("feedface_logs.json" in line for line in err_lines)
    assert "notes.txt" not in err
    # Merged arrays and the two-panel figure next to every configuration's runs.
    logs = read_logs(trained_runs)
    folders = {os.path.relpath(os.path.dirname(entry["_path"]), trained_runs) for entry in logs}
    assert len(folders) == 11
    for folder in folders:
        run_ids = [entry["runId"] for entry in sorted(logs, key=lambda entry: entry["seed"])
                   if os.path.dirname(entry["_path"]) == os.path.join(trained_runs, folder)]
        with np.load(runs / folder / "merged.npz", allow_pickle=False) as merged:
            assert merged["testAccuracy"].shape == (4, 2)
            assert merged["runIds"].tolist() == run_ids
        assert matplotlib.image.imread(runs / folder / "merged_curves.png").shape[0] > 200
        assert not os.path.exists(runs / folder / "merged_curves.pdf")
    figures = sorted(os.listdir(runs / "figures"))
    for name in ("compare_pruning_LeNet_heconstant_P1_0.5_mnist-subset_relu.png",
                 "compare_flipping_LeNet_heconstant_P1_0.5_mnist-subset_relu.png", "sweep_p1_LeNet_mnist-subset.png",
                 "layers_LeNet_heconstant_P1_0.5_mnist-subset_relu.png", "pruning_at_init_LeNet_mnist-subset.png",
                 "lottery_LeNet_glorot_mnist-subset_E3.png"):
        assert name in figures
    assert len([f for f in figures if f.startswith("masks_")]) == 10  # every configuration but Baseline
    for name in figures:
        assert matplotlib.image.imread(str(runs / "figures" / name)).shape[1] > 200
    # The paper table: written three ways, printed as Markdown, failed run left out.
    rows = _read_csv(runs / "paper_table.csv")
    assert len(rows) == 11
    [row] = [r for r in rows if r["traintype"] == "MinPruning"]
    expected = expected_peak(read_logs(trained_runs, traintype="MinPruning"))
    assert row["runs"] == "2" and float(row["meanAccuracy"]) == pytest.approx(expected["mean"], abs=1e-15)
    for name in ("paper_table.md", "paper_table.tex", "comparison_table.md", "comparison_table.csv",
                 "comparison_table.tex", "pruning_at_init.md", "pruning_at_init.csv", "lottery_table.md",
                 "lottery_table.csv"):
        assert os.path.isfile(runs / name), name
    with open(runs / "paper_table.md") as handle:
        assert handle.read() in out
    # What was written, concisely: one line per configuration folder and per figure.
    assert "merged.npz, merged_curves.png" in out
    assert "sweep_p1_LeNet_mnist-subset.png" in out
    assert len([line for line in out.splitlines() if line.endswith(": merged.npz, merged_curves.png")]) == 11
    assert "masks_*.png (10 figures)" in out  # a long series of one kind: one line
    assert len(out.splitlines()) < 60


def test_only_and_output_folders(trained_runs, tmp_path, capsys):
    copy_runs(trained_runs, tmp_path / "runs", traintype=list(CONNECTIVITY), p1=0.5, seed=1)
    code = main([str(tmp_path / "runs"), "--only", "table,compare", "--formats", "pdf",
                 "--figures-dir", str(tmp_path / "figs"), "--tables-dir", str(tmp_path / "tables")])
    assert code == 0
    assert sorted(os.listdir(tmp_path / "tables")) == ["comparison_table.csv", "comparison_table.md",
                                                       "comparison_table.tex", "paper_table.csv", "paper_table.md",
                                                       "paper_table.tex"]
    assert sorted(os.listdir(tmp_path / "figs")) == [
        "compare_flipping_LeNet_heconstant_P1_0.5_mnist-subset_relu.pdf",
        "compare_pruning_LeNet_heconstant_P1_0.5_mnist-subset_relu.pdf"]
    assert not list((tmp_path / "runs").rglob("merged*"))
    assert not (tmp_path / "runs" / "figures").exists()
    out = capsys.readouterr().out
    assert "| Network | Method |" in out


def test_an_output_folder_that_cannot_be_written_is_refused_before_anything_is_written(trained_runs, tmp_path,
                                                                                       capsys):
    copy_runs(trained_runs, tmp_path / "runs", traintype="FreeFlipping", seed=1)
    (tmp_path / "a-file").write_text("")
    for flag in ("--figures-dir", "--tables-dir"):
        code = main([str(tmp_path / "runs"), flag, str(tmp_path / "a-file" / "out"), "--formats", "png"])
        assert code == 2
        assert capsys.readouterr().err.strip() == (f"{flag} {tmp_path / 'a-file' / 'out'} cannot be written "
                                                   f"({tmp_path / 'a-file'} is a file); pass a folder you can write.")
    assert not list((tmp_path / "runs").rglob("merged*"))  # the merged arrays used to be written first


def test_a_single_run_folder_is_enough(trained_runs, tmp_path, capsys):
    [path] = copy_runs(trained_runs, tmp_path, traintype="FreeFlipping", seed=1)
    [logs] = read_logs(tmp_path)
    folder = os.path.dirname(path)
    assert main([folder, "--only", "merged,table", "--formats", "png"]) == 0
    assert os.path.isfile(os.path.join(folder, "merged_curves.png"))
    [row] = _read_csv(os.path.join(folder, "paper_table.csv"))
    expected = expected_peak([logs])
    flipped = sum(layer[0] for layer in logs["remainingWeightsPerLayer"][expected["epoch"]]) / logs["totalWeights"]
    assert row["weightMeasure"] == "flipped" and float(row["changedFraction"]) == flipped > 0
    assert row["minAccuracy"] == row["maxAccuracy"] == row["meanAccuracy"] == repr(max(logs["testAccuracy"]))


def test_runs_of_different_lengths_are_named_on_the_console(trained_runs, tmp_path, capsys):
    [first, second] = read_logs(trained_runs, traintype="MinPruning")
    write_edited_copy(first, tmp_path, "1ong1ong", seed=1)
    write_edited_copy(second, tmp_path, "5h0r7000", seed=2, epochs=3)
    assert main([str(tmp_path), "--only", "table"]) == 0
    out, err = capsys.readouterr()
    [line] = err.strip().splitlines()
    assert "5h0r7000" in line and "1ong1ong" not in line and "3 epochs common to all" in line
    [row] = _read_csv(tmp_path / "paper_table.csv")
    expected = expected_peak([first, {**second, "testAccuracy": second["testAccuracy"][:3]}])
    assert row["epochs"] == "3" and row["peakEpoch"] == str(expected["epoch"])
    assert float(row["meanAccuracy"]) == pytest.approx(expected["mean"], abs=1e-15)


def test_a_run_trained_twice_counts_once_in_the_table_with_a_one_line_warning(trained_runs, tmp_path, capsys):
    [first, second] = read_logs(trained_runs, traintype="MinPruning")
    write_edited_copy(first, tmp_path, "aaaaaaa1")
    write_edited_copy(second, tmp_path, "aaaaaaa2")
    write_edited_copy(first, tmp_path, "bbbbbbb1")  # the first seed again: a second sweep on the same folder
    assert main([str(tmp_path), "--only", "table"]) == 0
    out, err = capsys.readouterr()
    [line] = err.strip().splitlines()
    assert line.startswith("Counted once: 1 run(s)") and ("aaaaaaa1" in line) != ("bbbbbbb1" in line)
    [row] = _read_csv(tmp_path / "paper_table.csv")
    expected = expected_peak([first, second])
    assert float(row["meanAccuracy"]) == pytest.approx(expected["mean"], abs=1e-15) and row["runs"] == "2"
    assert "Read 2 finished runs of 1 configurations" in out
