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


def test_conv2_on_cifar10_files_in_the_official_format(tmp_path, monkeypatch, capsys):
    import json

    from datasets import registry
    from test_datasets_cifar10 import tiny_batches, write_archive
    monkeypatch.setattr(registry, "VALIDATION_SIZE", 30)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    write_archive(data_dir / "cifar-10-python.tar.gz", tiny_batches())
    code = MaskTrainer.main(["--nettype", "Conv2", "--traintype", "MinFlipping", "--data-dir", str(data_dir),
                             "--maxepochs", "1", "--batchsize", "10", "--seed", "1",
                             "--outputpath", str(tmp_path / "out")])
    assert code == 0, capsys.readouterr().err
    (logs_path,) = (tmp_path / "out").rglob("*_logs.json")
    logs = json.loads(logs_path.read_text())
    assert logs["dataset"]["name"] == "cifar10" and logs["config"]["xla"] == "auto"
    assert logs["totalWeights"] == 4_300_992 and logs["layerShapes"][0] == [3, 3, 3, 64]
    assert logs["status"] == "finished" and len(logs["testAccuracy"]) == 2
