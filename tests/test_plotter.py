"""Plotter.py end to end over result folders written by the tests (not by training)."""

import csv
import os
import subprocess
import sys

import matplotlib.image
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from reporting.cli import main  # noqa: E402
from tests.result_folders import write_fake_run, write_method_tree  # noqa: E402

PLOTTER = os.path.join(ROOT, "Plotter.py")
HINT = "run MaskTrainer.py first or pass the folder that holds the runs."


def plotter(*args, cwd=None):
    return subprocess.run([sys.executable, PLOTTER, *map(str, args)], cwd=cwd or ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "MPLBACKEND": "Agg"})


def test_missing_folder_exits_2_with_one_sentence(tmp_path):
    result = plotter(tmp_path / "nowhere")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.strip() == f"No results folder at {tmp_path / 'nowhere'}; {HINT}"


def test_default_folder_is_outputs_and_its_absence_is_explained(tmp_path):
    result = plotter(cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == f"No results folder at Outputs; {HINT}"


def test_empty_folder_exits_2_with_one_sentence(tmp_path):
    (tmp_path / "Outputs").mkdir()
    (tmp_path / "Outputs" / "notes.txt").write_text("nothing here")
    result = plotter(cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stderr.strip() == f"No finished runs found under Outputs; {HINT}"


def test_only_failed_runs_exits_2_and_names_them(tmp_path):
    write_fake_run(tmp_path, {}, 1, [0.1, float("nan")], run_id="0badf00d", status="failed")
    result = plotter(tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert "0badf00d" in lines[0] and "failed" in lines[0]
    assert lines[1] == f"No finished runs found under {tmp_path} (1 failed left out); {HINT}"


def test_help_explains_the_parts():
    result = plotter("--help")
    assert result.returncode == 0
    for word in ("merged", "compare", "sweep", "layers", "table", "--figures-dir", "--formats", "--only"):
        assert word in result.stdout


def test_bad_arguments_exit_2_without_traceback(tmp_path):
    for args in (["--only", "pictures"], ["--formats", "gif2"]):
        result = plotter(tmp_path, *args)
        assert result.returncode == 2 and "Traceback" not in result.stderr and "error:" in result.stderr


def _read_csv(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_everything_from_one_command(tmp_path, capsys):
    runs = tmp_path / "Outputs"
    write_method_tree(runs, seeds=(1, 2), epochs=4, p1_sweep=(0.3,))
    min_pruning = {"traintype": "MinPruning", "initializer": "heconstant"}
    failed = write_fake_run(runs, min_pruning, 9, [0.1, float("nan")], run_id="0badf00d", status="failed")
    write_fake_run(runs, min_pruning, 8, [0.1, 0.2], run_id="5107a11d", status="running")
    folder = os.path.dirname(failed)
    with open(os.path.join(folder, "feedface_logs.json"), "w") as handle:
        handle.write("{truncated")
    with open(os.path.join(folder, "notes.txt"), "w") as handle:
        handle.write("unrelated")
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
    configuration_folders = sorted({os.path.dirname(p) for p in (runs.rglob("*_logs.json"))})
    assert len(configuration_folders) == 6
    for config_folder in configuration_folders:
        with np.load(os.path.join(config_folder, "merged.npz"), allow_pickle=False) as merged:
            assert merged["testAccuracy"].shape == (4, 2)
            assert "0badf00d" not in merged["runIds"].tolist()
        assert matplotlib.image.imread(os.path.join(config_folder, "merged_curves.png")).shape[0] > 200
        assert not os.path.exists(os.path.join(config_folder, "merged_curves.pdf"))
    figures = sorted(os.listdir(runs / "figures"))
    assert "compare_pruning_LeNet_heconstant_P1_0.5_mnist_relu.png" in figures
    assert "compare_flipping_LeNet_heconstant_P1_0.5_mnist_relu.png" in figures
    assert "sweep_p1_LeNet_mnist.png" in figures
    assert "layers_LeNet_heconstant_P1_0.5_mnist_relu.png" in figures
    assert len([f for f in figures if f.startswith("masks_")]) == 5
    for name in figures:
        assert matplotlib.image.imread(str(runs / "figures" / name)).shape[1] > 200
    # The paper table: written three ways, printed as Markdown, failed run left out.
    rows = _read_csv(runs / "paper_table.csv")
    assert len(rows) == 6
    min_pruning = [r for r in rows if r["traintype"] == "MinPruning"][0]
    assert min_pruning["runs"] == "2"
    assert os.path.isfile(runs / "paper_table.md") and os.path.isfile(runs / "paper_table.tex")
    with open(runs / "paper_table.md") as handle:
        assert handle.read() in out
    # What was written, concisely: one line per configuration folder and per figure.
    assert "merged.npz, merged_curves.png" in out
    assert "sweep_p1_LeNet_mnist.png" in out
    assert len(out.splitlines()) < 40


def test_only_and_output_folders(tmp_path, capsys):
    write_method_tree(tmp_path / "runs", seeds=(1,), epochs=3, p1_sweep=())
    code = main([str(tmp_path / "runs"), "--only", "table,compare", "--formats", "pdf",
                 "--figures-dir", str(tmp_path / "figs"), "--tables-dir", str(tmp_path / "tables")])
    assert code == 0
    assert sorted(os.listdir(tmp_path / "tables")) == ["paper_table.csv", "paper_table.md", "paper_table.tex"]
    assert sorted(os.listdir(tmp_path / "figs")) == [
        "compare_flipping_LeNet_heconstant_P1_0.5_mnist_relu.pdf",
        "compare_pruning_LeNet_heconstant_P1_0.5_mnist_relu.pdf"]
    assert not list((tmp_path / "runs").rglob("merged*"))
    assert not (tmp_path / "runs" / "figures").exists()
    out = capsys.readouterr().out
    assert "| Network | Method |" in out


def test_a_single_run_folder_is_enough(tmp_path, capsys):
    path = write_fake_run(tmp_path, {"traintype": "FreeFlipping"}, 3, [0.1, 0.6, 0.7], flipped=[0, 500, 900])
    folder = os.path.dirname(path)
    assert main([folder, "--only", "merged,table", "--formats", "png"]) == 0
    assert os.path.isfile(os.path.join(folder, "merged_curves.png"))
    [row] = _read_csv(os.path.join(folder, "paper_table.csv"))
    assert row["weightMeasure"] == "flipped" and float(row["changedFraction"]) == 900 / 266200
    assert row["minAccuracy"] == row["maxAccuracy"] == row["meanAccuracy"] == "0.7"


def test_runs_of_different_lengths_are_named_on_the_console(tmp_path, capsys):
    config = {"traintype": "MinPruning", "maxepochs": 4}
    write_fake_run(tmp_path, config, 1, [0.1, 0.5, 0.6, 0.7, 0.8], run_id="1ong1ong")
    write_fake_run(tmp_path, config, 2, [0.1, 0.4, 0.9], run_id="5h0r7000")
    assert main([str(tmp_path), "--only", "table"]) == 0
    out, err = capsys.readouterr()
    [line] = err.strip().splitlines()
    assert "5h0r7000" in line and "1ong1ong" not in line and "3 epochs common to all" in line
    [row] = _read_csv(tmp_path / "paper_table.csv")
    assert row["epochs"] == "3" and row["peakEpoch"] == "2" and float(row["meanAccuracy"]) == (0.6 + 0.9) / 2
