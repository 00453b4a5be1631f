"""MaskTrainer.py end to end, on a tiny slice of the committed MNIST subset."""

import gzip
import json
import subprocess
import sys

import numpy as np
import pytest

import MaskTrainer
from conftest import REPOSITORY
from methods import METHODS

TINY = ["--dataset", "mnist-subset", "--limit", "60", "--batchsize", "20", "--maxepochs", "1"]
REFERENCE_METHODS = ["Baseline", "FreePruning", "MinPruning", "FreeFlipping", "MinFlipping"]
CURVES = ("trainLoss", "valLoss", "testLoss", "trainAccuracy", "valAccuracy", "testAccuracy")


def run(tmp_path, *arguments):
    code = MaskTrainer.main([*TINY, "--outputpath", str(tmp_path), *arguments])
    logs = sorted(tmp_path.rglob("*_logs.json"))
    return code, [json.loads(path.read_text()) for path in logs], logs


@pytest.mark.parametrize("traintype", REFERENCE_METHODS)
def test_each_training_type_writes_valid_files(tmp_path, traintype):
    code, (log,), (log_path,) = run(tmp_path, "--traintype", traintype, "--seed", "3")
    assert code == 0 and log["status"] == "finished"
    masktype = METHODS[traintype].default_masktype
    expected_folder = tmp_path / traintype / "LeNet" / "P1_0.5" / f"{masktype}_relu_he_LR0.001"
    assert log_path.parent == expected_folder
    assert all(len(log[key]) == 2 for key in CURVES + ("remainingWeights", "epochSeconds"))
    assert log["dataset"]["name"] == "mnist-subset" and log["dataset"]["trainExamples"] == 60
    assert log["config"]["traintype"] == traintype and log["seed"] == 3
    assert set(log["versions"]) == {"python", "numpy", "tensorflow", "keras"}
    run_id = log["runId"]
    csv_lines = (expected_folder / f"{run_id}_curves.csv").read_text().splitlines()
    assert csv_lines[0].startswith("epoch,trainLoss") and len(csv_lines) == 3
    initial = np.load(expected_folder / f"{run_id}_initial_weights.npz", allow_pickle=False)
    masks = np.load(expected_folder / f"{run_id}_final_masks.npz", allow_pickle=False)
    assert list(initial) == list(masks) == log["layerNames"] == ["dense1", "dense2", "output"]
    assert initial["dense1"].shape == (784, 300)
    assert (expected_folder / f"{run_id}_final_weights.npz").exists() == (traintype == "Baseline")
    remaining = int(sum(np.count_nonzero(masks[name]) for name in masks))
    assert log["remainingWeights"][-1] == remaining


def test_six_counts_add_up_to_the_layer_sizes(tmp_path):
    _, (log,), _ = run(tmp_path, "--traintype", "FreeFlipping", "--seed", "4")
    for epoch_counts in log["remainingWeightsPerLayer"]:
        for counts, size in zip(epoch_counts, log["layerSizes"]):
            assert sum(counts[:3]) == size and sum(counts[3:]) == size
    assert log["totalWeights"] == 266_200


@pytest.mark.parametrize("nettype", ["LeNet", "Conv2"])
def test_same_seed_twice_gives_identical_logs(tmp_path, nettype):
    _, (first,), _ = run(tmp_path / "a", "--traintype", "MinPruning", "--seed", "11", "--nettype", nettype)
    _, (second,), _ = run(tmp_path / "b", "--traintype", "MinPruning", "--seed", "11", "--nettype", nettype)
    for key in CURVES + ("remainingWeights", "remainingWeightsPerLayer"):
        assert first[key] == second[key], key
    _, (other,), _ = run(tmp_path / "c", "--traintype", "MinPruning", "--seed", "12", "--nettype", nettype)
    assert other["testLoss"] != first["testLoss"]


def test_seed_zero_draws_and_records_a_fresh_seed_and_nruns_counts_up(tmp_path):
    code, logs, _ = run(tmp_path, "--seed", "0", "--nruns", "2", "--maxepochs", "0")
    assert code == 0 and len(logs) == 2
    seeds = sorted(log["seed"] for log in logs)
    assert seeds[0] > 0 and seeds[1] == seeds[0] + 1
    assert all(log["config"]["seed"] == log["seed"] for log in logs)


def test_zero_epochs_evaluates_the_untrained_network(tmp_path):
    code, (log,), _ = run(tmp_path, "--maxepochs", "0", "--seed", "2")
    assert code == 0 and log["status"] == "finished"
    assert len(log["testAccuracy"]) == 1 and log["remainingWeights"] == [266_200]


def write_truncated_mnist(folder):
    folder.mkdir()
    images = np.zeros((10, 28, 28), dtype=np.uint8)
    header = np.array([2051, 10, 28, 28], dtype=">i4").tobytes()
    for name, payload in [("train-images-idx3-ubyte.gz", header + images.tobytes()),
                          ("t10k-images-idx3-ubyte.gz", header + images.tobytes())]:
        (folder / name).write_bytes(gzip.compress(payload))
    labels = np.array([2049, 10], dtype=">i4").tobytes() + bytes(10)
    for name in ("train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (folder / name).write_bytes(gzip.compress(labels))
    whole = (folder / "train-images-idx3-ubyte.gz").read_bytes()
    (folder / "train-images-idx3-ubyte.gz").write_bytes(whole[: len(whole) // 2])


BAD_INPUTS = {
    "unknown nettype": (["--nettype", "ResNet"], "--nettype"),
    "p1 above one": (["--p1", "1.5"], "--p1"),
    "batch size zero": (["--batchsize", "0"], "--batchsize"),
    "negative epochs": (["--maxepochs", "-1"], "--maxepochs"),
    "negative learning rate": (["--lr", "-1"], "--lr"),
    "flipping with a 0/1 mask": (["--traintype", "FreeFlipping", "--masktype", "mask"], "--masktype flip"),
    "pruning with flip": (["--traintype", "FreePruning", "--masktype", "flip"], "--masktype mask"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_gives_one_line_exit_2_and_no_files(tmp_path, capsys, case):
    arguments, expected_text = BAD_INPUTS[case]
    output = tmp_path / "out"
    try:
        code = MaskTrainer.main(["--outputpath", str(output), *arguments])
    except SystemExit as exit_:
        code = exit_.code
    error = capsys.readouterr().err
    assert code == 2
    assert len(error.strip().splitlines()) == 1 and expected_text in error
    assert not output.exists()


def test_truncated_mnist_file_is_named_in_one_line(tmp_path, capsys):
    write_truncated_mnist(tmp_path / "data")
    code = MaskTrainer.main(["--dataset", "mnist", "--data-dir", str(tmp_path / "data"),
                             "--outputpath", str(tmp_path / "out")])
    error = capsys.readouterr().err
    assert code == 2 and len(error.strip().splitlines()) == 1
    assert "train-images-idx3-ubyte.gz" in error and "--data-dir" in error
    assert not (tmp_path / "out").exists()


def test_output_path_that_is_a_file_is_refused(tmp_path, capsys):
    blocker = tmp_path / "results.txt"
    blocker.write_text("not a folder")
    code = MaskTrainer.main([*TINY, "--outputpath", str(blocker)])
    error = capsys.readouterr().err
    assert code == 2 and "is a file" in error and len(error.strip().splitlines()) == 1
    assert blocker.read_text() == "not a folder"


def test_command_line_error_has_no_traceback():
    finished = subprocess.run([sys.executable, "MaskTrainer.py", "--batchsize", "0"], cwd=REPOSITORY,
                              capture_output=True, text=True, timeout=120)
    assert finished.returncode == 2
    assert finished.stderr.strip().splitlines() == [
        "MaskTrainer.py: error: --batchsize must be at least 1, got 0."]
    assert finished.stdout == ""


def test_flags_cannot_be_abbreviated_since_the_backend_is_read_before_parsing(capsys):
    assert MaskTrainer.main(["--back", "jax"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "unrecognized arguments: --back jax" in error[0]


def test_running_out_of_device_memory_ends_in_one_sentence(tmp_path, monkeypatch, capsys):
    import training.loop

    def out_of_memory(self):
        raise RuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate 123456 bytes.")

    monkeypatch.setattr(training.loop.Experiment, "run", out_of_memory)
    code = MaskTrainer.main(["--dataset", "mnist-subset", "--limit", "20", "--outputpath", str(tmp_path)])
    error = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(error) == 1 and "ran out of memory" in error[0] and "--resume" in error[0]
