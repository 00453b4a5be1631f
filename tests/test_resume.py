"""Runs that survive: kill, Ctrl-C, resume, NaN, concurrent runs (damaged files: test_resume_damaged.py)."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import MaskTrainer
from conftest import REPOSITORY
from interruptions import interrupt_after
from tensorboard_files import assert_events_match_logs

ARGUMENTS = ["--dataset", "mnist-subset", "--limit", "400", "--batchsize", "10", "--maxepochs", "3",
             "--seed", "21", "--traintype", "MinPruning", "--masktype", "mask_rs", "--tensorboard"]
COMPARED = ("trainLoss", "valLoss", "testLoss", "trainAccuracy", "valAccuracy", "testAccuracy",
            "remainingWeights", "remainingWeightsPerLayer", "seed", "config")


def finished_run(folder):
    (logs_path,) = folder.rglob("*_logs.json")
    logs = json.loads(logs_path.read_text())
    masks_path = logs_path.with_name(logs_path.name.replace("_logs.json", "_final_masks.npz"))
    with np.load(masks_path, allow_pickle=False) as archive:
        masks = {key: archive[key] for key in archive.files}
    return logs_path, logs, masks


def assert_same_run(expected, actual):
    _, expected_logs, expected_masks = expected
    _, actual_logs, actual_masks = actual
    assert actual_logs["status"] == "finished"
    for key in COMPARED:
        if key == "config":
            assert {k: v for k, v in actual_logs[key].items() if k != "outputpath"} == \
                   {k: v for k, v in expected_logs[key].items() if k != "outputpath"}
        else:
            assert actual_logs[key] == expected_logs[key], key
    assert actual_masks.keys() == expected_masks.keys()
    for name in expected_masks:
        np.testing.assert_array_equal(actual_masks[name], expected_masks[name])


def uninterrupted_run(folder):
    """ARGUMENTS' run, trained without a stop into folder: (logs path, logs, final masks)."""
    assert MaskTrainer.main([*ARGUMENTS, "--outputpath", str(folder)]) == 0
    return finished_run(folder)


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return uninterrupted_run(tmp_path_factory.mktemp("uninterrupted"))


@pytest.fixture(scope="module")
def uninterrupted_jax(tmp_path_factory):
    folder = tmp_path_factory.mktemp("uninterrupted_jax")
    finished = subprocess.run([sys.executable, "MaskTrainer.py", *ARGUMENTS, "--backend", "jax", "--outputpath",
                               str(folder)], cwd=REPOSITORY, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    return finished_run(folder)


@pytest.fixture(params=["tensorflow", "jax"])
def backend(request):
    """(backend, its uninterrupted run): the process-level resume tests run on both Keras backends."""
    return request.param, request.getfixturevalue("uninterrupted" if request.param == "tensorflow"
                                                  else "uninterrupted_jax")


def test_ctrl_c_inside_an_epoch_saves_and_resume_matches_an_uninterrupted_run(
        tmp_path, monkeypatch, capsys, uninterrupted):
    with monkeypatch.context() as patch:
        interrupt_after(patch, calls=9)  # 40 steps per epoch, 6 calls: stops inside epoch 2
        assert MaskTrainer.main([*ARGUMENTS, "--outputpath", str(tmp_path)]) == 130
    error = capsys.readouterr().err
    assert "--resume" in error and len(error.strip().splitlines()) == 1
    (logs_path,) = tmp_path.rglob("*_logs.json")
    logs = json.loads(logs_path.read_text())
    assert logs["status"] == "interrupted" and len(logs["testLoss"]) == 2
    assert MaskTrainer.main(["--resume", str(logs_path)]) == 0
    assert "inside epoch 2" in capsys.readouterr().out
    assert_same_run(uninterrupted, finished_run(tmp_path))
    assert not list(tmp_path.rglob("*_checkpoint*.npz"))


def test_a_conv_network_interrupted_inside_an_epoch_resumes_to_the_uninterrupted_run(tmp_path, monkeypatch):
    arguments = ["--dataset", "mnist-subset", "--limit", "100", "--batchsize", "10", "--maxepochs", "2",
                 "--seed", "5", "--nettype", "Conv2", "--traintype", "FreePruning"]
    assert MaskTrainer.main([*arguments, "--outputpath", str(tmp_path / "whole")]) == 0
    with monkeypatch.context() as patch:
        interrupt_after(patch, calls=3)  # 10 steps per epoch, 2 calls: stops inside epoch 2
        assert MaskTrainer.main([*arguments, "--outputpath", str(tmp_path / "cut")]) == 130
    (logs_path,) = (tmp_path / "cut").rglob("*_logs.json")
    assert MaskTrainer.main(["--resume", str(logs_path)]) == 0
    assert_same_run(finished_run(tmp_path / "whole"), finished_run(tmp_path / "cut"))


def test_resuming_a_finished_run_reports_it_and_changes_nothing(tmp_path, capsys, uninterrupted):
    logs_path = uninterrupted[0]
    before = logs_path.read_bytes()
    assert MaskTrainer.main(["--resume", str(logs_path)]) == 0
    assert "already finished" in capsys.readouterr().out
    assert logs_path.read_bytes() == before


def start_trainer(output, *extra, backend="tensorflow"):
    return subprocess.Popen([sys.executable, "MaskTrainer.py", *ARGUMENTS, "--backend", backend, "--outputpath",
                             str(output), *extra],
                            cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_epochs(output, epochs, process, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for path in output.rglob("*_logs.json"):
            try:
                if len(json.loads(path.read_text())["testLoss"]) > epochs:
                    return path
            except (ValueError, KeyError):
                pass  # the exclusive placeholder, before the first write
        assert process.poll() is None, process.communicate()
        time.sleep(0.01)
    raise AssertionError("the run did not get that far in time")


@pytest.mark.parametrize("backend, delay", [("tensorflow", 0.0), ("tensorflow", 0.25), ("jax", 0.25)],
                         ids=["tensorflow-between-epochs", "tensorflow-inside-an-epoch", "jax-inside-an-epoch"])
def test_sigkill_then_resume_matches_an_uninterrupted_run(tmp_path, request, backend, delay):
    """The resume reads the backend from the run's logs (no --backend flag). (JAX between epochs is left out for
    the suite's time: it differs from inside an epoch only in what the checkpoint holds, the same on both.)"""
    uninterrupted = request.getfixturevalue("uninterrupted" if backend == "tensorflow" else "uninterrupted_jax")
    process = start_trainer(tmp_path, backend=backend)
    logs_path = wait_for_epochs(tmp_path, 1, process)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    process.wait()
    finished = subprocess.run([sys.executable, "MaskTrainer.py", "--resume", str(logs_path)], cwd=REPOSITORY,
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert_same_run(uninterrupted, finished_run(tmp_path))
    assert_events_match_logs(logs_path)  # no epoch missing or repeated in TensorBoard's view


KILL_AFTER_FIRST_CHECKPOINT = """
import os, sys
import training.loop
written = []
original = training.loop.write_encoded
def write_or_die(files):
    written.append(files)
    if len(written) == 2:
        os._exit(9)  # killed as epoch 0's logs were to be written, its checkpoint already on disk
    original(files)
training.loop.write_encoded = write_or_die
import MaskTrainer
sys.exit(MaskTrainer.main(sys.argv[1:]))
"""


def test_a_run_killed_between_its_first_checkpoint_and_its_logs_is_found_and_resumed(tmp_path, capsys,
                                                                                      uninterrupted):
    """The logs are written as the run starts, so there is no moment with a checkpoint beside an empty logs file
    (which a sweep or --continue cannot read, and so would start the run again beside the orphan)."""
    killed = subprocess.run([sys.executable, "-c", KILL_AFTER_FIRST_CHECKPOINT, *ARGUMENTS, "--outputpath",
                             str(tmp_path)], cwd=REPOSITORY, capture_output=True, text=True, timeout=300)
    assert killed.returncode == 9, killed.stderr
    (logs_path,) = tmp_path.rglob("*_logs.json")
    assert json.loads(logs_path.read_text())["testLoss"] == [] and list(tmp_path.rglob("*_checkpoint.npz"))
    assert MaskTrainer.main([*ARGUMENTS, "--outputpath", str(tmp_path), "--continue"]) == 0
    assert "Resuming run" in capsys.readouterr().out
    assert_same_run(uninterrupted, finished_run(tmp_path))


def test_sigint_saves_the_state_and_says_how_to_resume_and_the_resume_matches(tmp_path, backend):
    backend, uninterrupted = backend
    process = start_trainer(tmp_path, backend=backend)
    wait_for_epochs(tmp_path, 0, process)
    process.send_signal(signal.SIGINT)
    _, error = process.communicate(timeout=120)
    assert process.returncode == 130
    assert "Resume with: python MaskTrainer.py --resume" in error
    (logs_path,) = tmp_path.rglob("*_logs.json")
    assert json.loads(logs_path.read_text())["status"] == "interrupted"
    assert list(tmp_path.rglob("*_checkpoint.npz"))
    run_id = logs_path.name.split("_")[0]
    finished = subprocess.run([sys.executable, "MaskTrainer.py", "--resume", run_id, "--outputpath", str(tmp_path)],
                              cwd=REPOSITORY, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert_same_run(uninterrupted, finished_run(tmp_path))


def test_nan_loss_stops_with_one_sentence_and_marks_the_run_failed(tmp_path, capsys):
    code = MaskTrainer.main(["--dataset", "mnist-subset", "--limit", "100", "--batchsize", "20", "--seed", "1",
                             "--traintype", "Baseline", "--lr", "1e12", "--maxepochs", "3",
                             "--outputpath", str(tmp_path)])
    error = capsys.readouterr().err
    assert code == 1 and len(error.strip().splitlines()) == 1
    assert "loss became nan in epoch 1" in error
    (logs_path,) = tmp_path.rglob("*_logs.json")
    logs = json.loads(logs_path.read_text())
    assert logs["status"] == "failed" and "epoch 1" in logs["failureReason"]
    assert len(logs["testLoss"]) == 1  # epoch 0 is kept
    assert (logs_path.parent / logs_path.name.replace("_logs.json", "_initial_weights.npz")).exists()


def test_two_concurrent_runs_into_one_folder_leave_two_complete_runs(tmp_path):
    # Two seeds of one configuration share its folder (the same seed twice at once is refused: tests/test_claims.py).
    processes = [start_trainer(tmp_path, "--maxepochs", "1", "--seed", str(seed)) for seed in (21, 22)]
    for process in processes:
        _, error = process.communicate(timeout=300)
        assert process.returncode == 0, error
    logs = [json.loads(path.read_text()) for path in tmp_path.rglob("*_logs.json")]
    assert len(logs) == 2 and logs[0]["runId"] != logs[1]["runId"]
    assert len({path.parent for path in tmp_path.rglob("*_logs.json")}) == 1
    assert all(log["status"] == "finished" and len(log["testLoss"]) == 2 for log in logs)
    assert sorted(log["seed"] for log in logs) == [21, 22]
    assert len(list(tmp_path.rglob("*_final_masks.npz"))) == 2


def test_full_disk_mid_run_gives_one_sentence_and_keeps_earlier_files(tmp_path, monkeypatch, capsys):
    import errno

    import results.atomic
    original = results.atomic.os.fsync

    def failing_after_epoch_1(descriptor):
        # A full disk shows when the data reaches it: the error of write() or fsync() names no file.
        written = os.readlink(f"/proc/self/fd/{descriptor}")
        logs = [path for path in tmp_path.rglob("*_logs.json") if path.stat().st_size]
        if ".tmp" in written and "_logs.json" in written and logs and len(json.loads(logs[0].read_text())
                                                                           ["testLoss"]) >= 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return original(descriptor)

    monkeypatch.setattr(results.atomic.os, "fsync", failing_after_epoch_1)
    code = MaskTrainer.main([*ARGUMENTS, "--outputpath", str(tmp_path)])
    error = capsys.readouterr().err
    assert code == 1 and len(error.strip().splitlines()) == 1
    assert "No space left on device" in error and "writable folder with free space" in error
    assert "_logs.json" in error and str(tmp_path) in error and "None" not in error
    (logs_path,) = tmp_path.rglob("*_logs.json")
    logs = json.loads(logs_path.read_text())  # still the complete file of epoch 1
    assert len(logs["testLoss"]) == 2 and logs["status"] == "running"
    assert not list(tmp_path.rglob("*.tmp"))


def test_continue_resumes_an_interrupted_run_and_then_has_nothing_to_do(tmp_path, monkeypatch, capsys,
                                                                        uninterrupted):
    with monkeypatch.context() as patch:
        interrupt_after(patch, calls=9)
        assert MaskTrainer.main([*ARGUMENTS, "--outputpath", str(tmp_path)]) == 130
    assert MaskTrainer.main([*ARGUMENTS, "--outputpath", str(tmp_path), "--continue"]) == 0
    assert "Resuming run" in capsys.readouterr().out
    assert_same_run(uninterrupted, finished_run(tmp_path))
    assert MaskTrainer.main([*ARGUMENTS, "--outputpath", str(tmp_path), "--continue"]) == 0
    assert "finished already" in capsys.readouterr().out and len(list(tmp_path.rglob("*_logs.json"))) == 1
    assert MaskTrainer.main([*ARGUMENTS, "--outputpath", str(tmp_path / "fresh"), "--continue", "--seed", "0"]) == 2
