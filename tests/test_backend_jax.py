"""The runner on Keras' JAX backend: the same steps as on TensorFlow, every method, no TensorFlow import.

JAX runs in subprocesses (this test process runs Keras on TensorFlow; a process has one backend).
The resume and determinism tests of tests/test_resume.py and tests/test_mask_trainer.py run on JAX too.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backend_steps import CASES
from conftest import REPOSITORY


@pytest.fixture(scope="module")
def steps_folder(tmp_path_factory):
    """Every case trained on TensorFlow (which writes the initial values), then on JAX from those values."""
    folder = tmp_path_factory.mktemp("backend_steps")
    for backend in ("tensorflow", "jax"):
        finished = subprocess.run([sys.executable, "tests/backend_steps.py", backend, str(folder)], cwd=REPOSITORY,
                                  capture_output=True, text=True, timeout=300)
        assert finished.returncode == 0, finished.stderr
    return folder


def trained(folder, backend, case):
    with np.load(folder / f"{backend}_{case}.npz") as values:
        return {key: values[key] for key in values.files}


@pytest.mark.parametrize("case", list(CASES))
def test_jax_steps_train_as_the_tensorflow_steps_do(steps_folder, case):
    """From the same initial values and batches: the same losses, updates, masks and gradient sums, to float
    rounding (XLA on either backend may order sums differently; measured: at most 1.4e-6 apart, while 6 steps
    of Adam at 1e-3 move a weight by up to 6e-3)."""
    tensorflow, jax = trained(steps_folder, "tensorflow", case), trained(steps_folder, "jax", case)
    assert tensorflow.keys() == jax.keys()
    np.testing.assert_array_equal(jax["correct"], tensorflow["correct"])
    np.testing.assert_array_equal(jax["counts"], tensorflow["counts"])
    for key in tensorflow:
        np.testing.assert_allclose(jax[key], tensorflow[key], rtol=1e-4, atol=1e-5, err_msg=key)
    if CASES[case][5]:
        assert any(key.startswith("g") and np.any(tensorflow[key] > 0) for key in tensorflow)


FAST = ["--lr", "0.03"]  # scores start at 0.01-0.1: a few steps at 1e-3 would not change a single mask
RUNS = {  # name: MaskTrainer.py flags, on the MNIST subset's first 100 examples
    "Baseline": ["--traintype", "Baseline"],
    "FreePruning": ["--traintype", "FreePruning", *FAST],
    "FreePruning-again": ["--traintype", "FreePruning", *FAST, "--tensorboard"],
    "MinPruning": ["--traintype", "MinPruning", "--masktype", "mask_rs", *FAST],
    "FreeFlipping": ["--traintype", "FreeFlipping", *FAST],
    "MinFlipping": ["--traintype", "MinFlipping", *FAST],
    "Supermask": ["--traintype", "Supermask", "--mask-samples", "2", "--lr", "0.05"],
    "IMP": ["--traintype", "IMP", "--rounds", "2", "--reset", "original"],
    "IMP-control": ["--traintype", "IMP", "--rounds", "2", "--reset", "control"],
    "RandomPruning": ["--traintype", "RandomPruning"],
    "KStarts": ["--traintype", "KStarts", "--kstarts", "2", "--selection-epochs", "1", "--fitness", "both"],
    "DissipatingGradients": ["--traintype", "DissipatingGradients", "--selection-epochs", "1"],
    "KStartsDG": ["--traintype", "KStartsDG", "--kstarts", "2", "--selection-epochs", "1"],
    "Conv2": ["--traintype", "FreePruning", "--nettype", "Conv2", "--lr", "0.01"],
    "LeNet5-MinFlipping": ["--traintype", "MinFlipping", "--nettype", "LeNet5", *FAST],
    "ResNet8-frozen-BatchNorm": ["--traintype", "FreePruning", "--nettype", "ResNet8", "--batchnorm-affine", "frozen",
                                 "--lr-drops", "2", *FAST],
    "ResNet8-IMP-2020": ["--traintype", "IMP", "--rounds", "1", "--nettype", "ResNet8", "--resnet-variant", "2020"],
}
DRIVER = """
import contextlib, io, json, sys
sys.path.insert(0, "tests")
from main_calls import main_calls
results = main_calls(json.loads(sys.argv[1]))
results["tensorflow imported"] = sys.modules.get("tensorflow") is not None
import Export, re
run_id = re.search(r"^Run ([0-9a-f]{8}):", results["FreePruning"]["output"], re.MULTILINE).group(1)
output = io.StringIO()
with contextlib.redirect_stdout(output):
    code = Export.main([run_id, "--outputpath", json.loads(sys.argv[1])["FreePruning"][-1], "--check"])
results["export"] = {"code": code, "output": output.getvalue()}
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def jax_runs(tmp_path_factory):
    """Every method (and the conv networks) trained by MaskTrainer.py --backend jax in one process."""
    root = tmp_path_factory.mktemp("jax_runs")
    common = ["--backend", "jax", "--dataset", "mnist-subset", "--limit", "100", "--batchsize", "20",
              "--maxepochs", "2", "--seed", "4"]
    # One output folder, so that the F&C control finds its original-init run.
    arguments = {name: [*common, *flags, "--outputpath", str(root)] for name, flags in RUNS.items()}
    finished = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(arguments)], cwd=REPOSITORY,
                              capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    results = json.loads(finished.stdout.strip().splitlines()[-1])
    results["root"], results["common"] = str(root), common
    for name in RUNS:
        run_ids = re.findall(r"^Run ([0-9a-f]{8}):", results[name]["output"], re.MULTILINE)
        assert len(run_ids) == 1, results[name]["output"]
        (logs_path,) = root.rglob(f"{run_ids[0]}_logs.json")
        results[name]["logs"] = json.loads(logs_path.read_text())
        results[name]["logs_path"] = str(logs_path)
    return results


@pytest.mark.parametrize("name", list(RUNS))
def test_every_method_runs_on_jax_with_the_same_logs_and_console_lines(jax_runs, name):
    run = jax_runs[name]
    assert run["code"] == 0, run["output"]
    logs = run["logs"]
    assert logs["status"] == "finished"
    assert logs["config"]["backend"] == "jax"
    assert "jax" in logs["versions"] and "tensorflow" not in logs["versions"]
    assert len(logs["testLoss"]) == 3  # epochs 0..2 (of the last round, for IMP)
    assert all(np.isfinite(logs[key]).all() for key in ("trainLoss", "valLoss", "testLoss"))
    assert "Epoch   2/2" in run["output"] and f"Run {logs['runId']}" in run["output"]
    assert abs(logs["trainLoss"][-1] - logs["trainLoss"][0]) > 0.01  # it trains (tests above check how)
    if name == "FreePruning":
        assert logs["trainAccuracy"][-1] > logs["trainAccuracy"][0] + 0.3  # and learns


def test_a_jax_run_never_imports_tensorflow(jax_runs):
    assert jax_runs["tensorflow imported"] is False


def test_same_seed_twice_on_jax_gives_identical_logs(jax_runs):
    first, second = jax_runs["FreePruning"]["logs"], jax_runs["FreePruning-again"]["logs"]
    for key in ("trainLoss", "valLoss", "testLoss", "trainAccuracy", "testAccuracy", "remainingWeightsPerLayer"):
        assert first[key] == second[key], key


def test_the_backend_is_part_of_a_runs_identity(jax_runs):
    from config import RunConfig
    stored = jax_runs["FreePruning"]["logs"]["config"]
    on_jax = RunConfig.from_settings(stored, strict=False)
    on_tensorflow = on_jax.replace(backend="tensorflow")
    assert on_jax.identity()["backend"] == "jax"
    assert on_jax.identity_key() != on_tensorflow.identity_key()


def test_resuming_a_jax_run_in_a_tensorflow_process_says_to_start_a_new_process(jax_runs, capsys):
    import MaskTrainer
    code = MaskTrainer.main(["--resume", jax_runs["FreePruning"]["logs_path"]])
    error = capsys.readouterr().err
    assert code == 2 and len(error.strip().splitlines()) == 1
    assert "start a new process with --backend jax" in error


def test_plotter_keeps_runs_of_the_two_backends_apart(jax_runs, tmp_path):
    import csv
    import shutil

    import MaskTrainer
    root = tmp_path / "both"
    lenet = Path(jax_runs["FreePruning"]["logs_path"]).parents[2]
    shutil.copytree(lenet, root / "FreePruning" / "LeNet")  # two JAX runs: seed 4 twice, counted once
    tensorflow_flags = [flag for flag in jax_runs["common"] if flag not in ("--backend", "jax")]
    assert MaskTrainer.main([*tensorflow_flags, *RUNS["FreePruning"], "--seed", "5", "--outputpath", str(root)]) == 0
    finished = subprocess.run([sys.executable, "Plotter.py", str(root), "--only", "table"], cwd=REPOSITORY,
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    with open(root / "paper_table.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted((row["backend"], row["runs"]) for row in rows) == [("jax", "1"), ("tensorflow", "1")]
    assert "Counted once: 1 run(s) repeat the settings and seed of another run" in finished.stderr


def test_a_jax_run_exports_and_its_exports_check_on_jax(jax_runs):
    """Export.py on a JAX run: the supermask's kernels are drawn again on JAX (the run's backend)."""
    export = jax_runs["export"]
    assert export["code"] == 0, export["output"]
    assert export["output"].count("equal to the run's logged final test accuracy") == 2


def test_tensorboard_files_of_a_jax_run_equal_its_logs(jax_runs):
    from tensorboard_files import assert_events_match_logs
    assert_events_match_logs(jax_runs["FreePruning-again"]["logs_path"])


def test_resume_refuses_a_backend_other_than_the_runs_own(jax_runs, capsys):
    import MaskTrainer
    code = MaskTrainer.main(["--resume", jax_runs["FreePruning"]["logs_path"], "--backend", "tensorflow"])
    error = capsys.readouterr().err
    assert code == 2 and "trains on jax, and --resume continues there; leave --backend tensorflow out" in error
