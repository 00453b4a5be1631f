"""Two tiny real runs from MaskTrainer.py, then Plotter.py over them."""

import csv
import subprocess
import sys

import numpy as np

import MaskTrainer
from conftest import REPOSITORY


def test_trainer_then_plotter(tmp_path):
    tiny = ["--dataset", "mnist-subset", "--limit", "60", "--batchsize", "20", "--maxepochs", "2",
            "--outputpath", str(tmp_path)]
    assert MaskTrainer.main([*tiny, "--traintype", "Baseline", "--seed", "1"]) == 0
    assert MaskTrainer.main([*tiny, "--traintype", "FreePruning", "--seed", "1", "--nruns", "2"]) == 0

    finished = subprocess.run([sys.executable, "Plotter.py", str(tmp_path)], cwd=REPOSITORY,
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr

    merged_path = next((tmp_path / "FreePruning").rglob("merged.npz"))
    with np.load(merged_path, allow_pickle=False) as merged:
        assert merged["testAccuracy"].shape == (3, 2)  # epochs 0..2 x two seeds
        assert sorted(merged["seeds"].tolist()) == [1, 2]
    assert list((tmp_path / "FreePruning").rglob("merged_curves.png"))
    assert list((tmp_path / "figures").glob("compare_pruning_LeNet_he*.png"))

    with open(tmp_path / "paper_table.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(row["traintype"] for row in rows) == ["Baseline", "FreePruning"]
    pruning = next(row for row in rows if row["traintype"] == "FreePruning")
    assert int(pruning["runs"]) == 2
    assert "FreePruning" in (tmp_path / "paper_table.md").read_text()
