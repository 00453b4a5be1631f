"""Resuming runs whose files are damaged or whose command line asks for what a resume cannot do: truncated
checkpoints, a lost initial weights file, an attempt killed before its first checkpoint, flags --resume would
ignore (tests/test_resume.py has the runs that survive kills and Ctrl-C)."""

import json
import os
import shutil

import numpy as np
import pytest

import MaskTrainer
from interruptions import interrupt_after
from test_resume import ARGUMENTS, assert_same_run, finished_run, uninterrupted_run


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return uninterrupted_run(tmp_path_factory.mktemp("uninterrupted"))


def test_resume_refuses_the_flags_it_would_ignore_and_keeps_those_that_still_apply(tmp_path, capsys, uninterrupted):
    """A resumed run keeps the settings in its logs: --lr or --maxepochs beside --resume used to be ignored
    silently (found by an audit)."""
    logs_path = str(uninterrupted[0])
    refused = {("--lr", "0.5"): "--lr does nothing with --resume, whose runs keep the settings they stored; leave "
                                 "it out (or leave --resume out to start a run with other settings).",
               ("--traintype", "SNIP"): "--traintype does nothing with --resume",
               ("--continue",): "--resume and --continue each say which runs to train; pass one of them."}
    for flags, message in refused.items():
        assert MaskTrainer.main(["--resume", logs_path, *flags]) == 2
        assert message in capsys.readouterr().err
    assert MaskTrainer.main(["--pack-file", str(tmp_path / "pack.json"), "--seed", "4"]) == 2
    assert "--seed does nothing with --pack-file" in capsys.readouterr().err
    # where the run is, where its data is, where it trains now: still theirs to say
    assert MaskTrainer.main(["--resume", os.path.basename(logs_path).split("_")[0], "--outputpath",
                             str(uninterrupted[0].parents[4]), "--device", "cpu"]) == 0
    assert "already finished" in capsys.readouterr().out


def test_truncated_checkpoint_falls_back_to_the_previous_one(tmp_path, monkeypatch, capsys, uninterrupted):
    with monkeypatch.context() as patch:
        interrupt_after(patch, calls=12)  # stops right after epoch 2: checkpoints of epochs 1 and 2
        assert MaskTrainer.main([*ARGUMENTS, "--outputpath", str(tmp_path)]) == 130
    (current,) = tmp_path.rglob("*_checkpoint.npz")
    assert current.with_name(current.name.replace(".npz", ".previous.npz")).exists()
    current.write_bytes(current.read_bytes()[: current.stat().st_size // 2])  # a crash mid-write
    run_id = current.name.split("_")[0]
    assert MaskTrainer.main(["--resume", run_id, "--outputpath", str(tmp_path)]) == 0
    output = capsys.readouterr().out
    assert "truncated or corrupt" in output and "after epoch 1 of 3" in output
    assert_same_run(uninterrupted, finished_run(tmp_path))


def test_a_run_without_a_readable_checkpoint_says_what_to_remove_and_then_starts_anew(tmp_path, monkeypatch, capsys,
                                                                                      uninterrupted):
    with monkeypatch.context() as patch:
        interrupt_after(patch, calls=12)
        assert MaskTrainer.main([*ARGUMENTS, "--outputpath", str(tmp_path)]) == 130
    for checkpoint in tmp_path.rglob("*_checkpoint*.npz"):
        checkpoint.write_bytes(checkpoint.read_bytes()[:100])
    capsys.readouterr()
    assert MaskTrainer.main([*ARGUMENTS, "--continue", "--outputpath", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert "trying the previous one" in captured.out and "no other is left" in captured.out
    (error,) = captured.err.strip().splitlines()
    files = error[error.index("remove its files (rm -r ") + len("remove its files (rm -r "):error.index("_*)")]
    assert error.endswith("and train it again (its flags with --continue start it anew).")
    for path in tmp_path.rglob(os.path.basename(files) + "_*"):  # what the sentence says to do
        shutil.rmtree(path) if path.is_dir() else path.unlink()
    assert MaskTrainer.main([*ARGUMENTS, "--continue", "--outputpath", str(tmp_path)]) == 0
    assert_same_run(uninterrupted, finished_run(tmp_path))


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_a_resumed_run_writes_its_initial_weights_again_where_they_are_damaged(tmp_path, monkeypatch, capsys,
                                                                                uninterrupted, damage):
    """A finished run's initial weights are what Export.py and the lottery-ticket rewinds read: a resumed run whose
    file was lost would have finished without it."""
    with monkeypatch.context() as patch:
        interrupt_after(patch, calls=12)
        assert MaskTrainer.main([*ARGUMENTS, "--outputpath", str(tmp_path)]) == 130
    (initial,) = tmp_path.rglob("*_initial_weights.npz")
    initial.unlink() if damage == "missing" else initial.write_bytes(initial.read_bytes()[:200])
    assert MaskTrainer.main([*ARGUMENTS, "--continue", "--outputpath", str(tmp_path)]) == 0
    assert f"Warning: {initial} is missing or unreadable; written again from the run's seed." in capsys.readouterr().out
    assert_same_run(uninterrupted, finished_run(tmp_path))
    expected = uninterrupted[0].with_name(uninterrupted[0].name.replace("_logs.json", "_initial_weights.npz"))
    with np.load(expected) as wanted, np.load(initial) as written:
        assert wanted.files == written.files
        for name in wanted.files:
            np.testing.assert_array_equal(written[name], wanted[name])


def test_an_attempt_killed_before_its_first_checkpoint_is_replaced_not_left_beside_the_run(tmp_path, capsys,
                                                                                             uninterrupted):
    """Nothing of it can be resumed; left behind, its logs (status running) were reported by every Plotter.py run."""
    logs_path, logs, _ = uninterrupted
    folder = tmp_path / logs_path.parent.relative_to(logs_path.parents[4])
    folder.mkdir(parents=True)
    curves = ("trainLoss", "valLoss", "testLoss", "trainAccuracy", "valAccuracy", "testAccuracy")
    stale = {**logs, "runId": "0badcafe", "status": "running", "finishedAt": None, **{key: [] for key in curves}}
    (folder / "0badcafe_logs.json").write_text(json.dumps(stale))
    (folder / "0badcafe_initial_weights.npz").write_bytes(b"")
    (folder / "0badcafe_tensorboard").mkdir()
    assert MaskTrainer.main([*ARGUMENTS, "--continue", "--outputpath", str(tmp_path)]) == 0
    assert f"its files are removed ({folder / '0badcafe_logs.json'}) and the run starts anew" in \
        capsys.readouterr().out
    assert not list(folder.glob("0badcafe_*"))
    assert_same_run(uninterrupted, finished_run(tmp_path))  # the one run there
