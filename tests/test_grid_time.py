"""bench/grid_time.py: the paper's grids counted from their files, the hours of a setting computed as documented, and
the benchmark end to end (child processes that really train) on a tiny setting."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPOSITORY

sys.path.insert(0, str(Path(REPOSITORY) / "bench"))

import grid_time  # noqa: E402


def test_the_paper_grids_are_the_331_runs_of_the_paper():
    networks = grid_time.paper_grids()
    assert {name: entry["runs"] for name, entry in networks.items()} == {
        "LeNet": 127, "Conv2": 63, "Conv4": 63, "Conv6": 63, "ResNet20": 15}
    # LeNet: 45 + 40 + 42 runs of 20 epochs; ResNet20: 15 of 200.
    assert networks["LeNet"]["epochs"] == 127 * 20 and networks["ResNet20"]["epochs"] == 15 * 200
    assert networks["Conv6"]["grids"] == ["conv6_cifar10", "conv6_p1_sweep_cifar10"]
    assert all(entry["config"].traintype == "FreePruning" for entry in networks.values())


def test_grid_hours_pay_start_up_once_per_batch_of_runs_together():
    # 10 runs of 20 epochs, 3 at a time: 4 rounds of (20 epochs x 5 s + 12 s of start-up and compilation).
    assert grid_time.grid_seconds(10, 200, 5.0, 12.0, 3) == 4 * (20 * 5.0 + 12.0)
    assert grid_time.grid_seconds(10, 200, 5.0, 12.0, 1) == 10 * (20 * 5.0 + 12.0)
    # 90 s of training on 500 images scale to 45,000; the record (full validation and test splits) does not.
    assert grid_time.full_epoch_seconds({"train_s": 1.0, "record_s": 2.0, "training_examples": 500},
                                        "cifar10") == 90 + 2.0


def test_a_setting_that_did_not_run_is_listed_with_its_reason_and_the_fastest_is_marked():
    result = {"device": "CPU", "date": "today", "command": "grid_time.py", "examples": 10, "epochs": 1,
              "networks": {"LeNet": {"grids": ["lenet_mnist"], "runs": 45, "epochs": 900, "best": "solo (jax)",
                                     "best_hours": 0.5,
                                     "rows": [{"setting": "solo (jax)", "together": 1, "epoch_s": 1.5,
                                               "epoch_s_per_run": 1.5, "start_s": 3.0, "compile_s": 2.0,
                                               "grid_hours": 0.5},
                                              {"setting": "pack 4 (tensorflow)", "together": 4,
                                               "not_run": "packs train on JAX only (--pack)"}]}}}
    table = grid_time.markdown(result)
    assert "| LeNet | lenet_mnist | 45 | 900 | solo (jax) **(fastest)** | 1.50 (1.50) | 3.0 | 2.0 | 0.50 |" in table
    assert "| pack 4 (tensorflow) | not run: packs train on JAX only (--pack) |" in table
    assert table.endswith("one after another: **0.5 hours**.")


def test_each_grid_file_gets_the_hours_of_its_network_in_its_fastest_setting():
    files = grid_time.grid_files(("lenet_mnist", "conv2_cifar10"))
    assert [(entry["grid"], entry["network"], entry["dataset"]) for entry in files] == [
        ("lenet_mnist", "LeNet", "mnist"), ("conv2_cifar10", "Conv2", "cifar10")]
    assert files[0]["runs"] == 45 and files[0]["epochs"] == 45 * 20
    timing = {"epoch_s_per_run": 1.0, "grid_hours": 1.0}
    result = {"networks": {"LeNet": {"best": "pack 4 (jax)", "grids": ["lenet_mnist"], "runs": 45, "epochs": 900,
                                     "best_hours": 1.0, "rows": [
        {"setting": "solo (jax)", "together": 1, "epoch_s": 9.0, "start_s": 1.0, "compile_s": 1.0, **timing},
        {"setting": "pack 4 (jax)", "together": 4, "epoch_s": 10.0, "start_s": 3.0, "compile_s": 2.0, **timing}]}}}
    lenet, conv2 = grid_time.hours_per_grid(result, files)
    # ceil(45 / 4) = 12 rounds of (20 epochs x 10 s + 5 s)
    assert (lenet["setting"], lenet["hours"]) == ("pack 4 (jax)", round(12 * (20 * 10.0 + 5.0) / 3600, 2))
    assert (conv2["setting"], conv2["hours"]) == (None, None)
    table = grid_time.markdown({**result, "device": "CPU", "date": "today", "command": "c", "examples": 1,
                                "epochs": 1, "grid_files": [lenet, conv2]})
    assert "| experiments/lenet_mnist.json | LeNet | 45 | pack 4 (jax) | 0.68 |" in table
    assert "| experiments/conv2_cifar10.json | Conv2 | " in table and table.endswith("| not measured |")


@pytest.mark.slow
def test_the_benchmark_runs_end_to_end_and_writes_its_table(tmp_path):
    output = tmp_path / "grid_time.json"
    finished = subprocess.run([sys.executable, "bench/grid_time.py", "--quick", "--nets", "LeNet", "--backends",
                               "jax", "--packs", "2", "--workers", "0", "--examples", "50", "--output", str(output)],
                              cwd=REPOSITORY, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr[-2000:]
    result = json.loads(output.read_text())
    rows = {row["setting"]: row for row in result["networks"]["LeNet"]["rows"]}
    assert list(rows) == ["solo (jax)", "pack 2 (jax)"]
    for row in rows.values():
        (process,) = row["measured"]
        assert process["training_examples"] == 50 and len(process["epochs"]) == 2  # the warm-up and one timed
        assert row["epoch_s"] == pytest.approx(process["train_s"] * 55_000 / 50 + process["record_s"], abs=1e-3)
        hours = grid_time.grid_seconds(127, 2540, row["epoch_s"], row["start_s"] + row["compile_s"],
                                       row["together"]) / 3600
        assert row["grid_hours"] == pytest.approx(hours, rel=1e-2)
    assert result["networks"]["LeNet"]["best"] in rows
    assert "| LeNet | lenet_mnist, lenet_p1_sweep, lenet_p1_sweep_full | 127 | 2540 | solo (jax)" in (
        output.with_suffix(".md").read_text())


def test_each_network_is_written_as_it_is_measured_so_that_a_stopped_benchmark_keeps_it(tmp_path, monkeypatch):
    measured = {"grids": ["resnet20_cifar10"], "runs": 15, "epochs": 3000, "best": "solo (jax)", "best_hours": 2.5,
                "rows": [{"setting": "solo (jax)", "together": 1, "epoch_s": 3.0, "epoch_s_per_run": 3.0,
                          "start_s": 4.0, "compile_s": 6.0, "grid_hours": 2.5,
                          "measured": [{"device": "NVIDIA H200"}]}]}

    def measure_network(args, network, entry):
        if network == "Conv6":  # the GPU check's time limit, while the second network is timed
            raise KeyboardInterrupt
        return measured

    monkeypatch.setattr(grid_time, "measure_network", measure_network)
    output = tmp_path / "grid_time.json"
    with pytest.raises(KeyboardInterrupt):
        grid_time.main(["--device", "cpu", "--nets", "ResNet20,Conv6", "--output", str(output)])
    result = json.loads(output.read_text())
    assert (result["complete"], list(result["networks"]), result["devices"]) == (False, ["ResNet20"], ["NVIDIA H200"])
    table = output.with_suffix(".md").read_text()
    assert "**Partial: the networks measured so far; the benchmark did not finish.**" in table
    # 15 runs of 200 epochs of 3 s, one at a time, each with 10 s of start-up and compilation
    assert "| experiments/resnet20_cifar10.json | ResNet20 | 15 | solo (jax) | 2.54 |" in table
    assert "| experiments/conv6_cifar10.json | Conv6 | 45 |  | not measured |" in table
