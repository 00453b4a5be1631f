"""--tensorboard: event files per run, read back with TensorBoard's own reader. (Resume after SIGKILL on both
backends: tests/test_resume.py; JAX: tests/test_backend_jax.py.)"""

import json

import numpy as np

import MaskTrainer
from config import RunConfig, parse_args
from results.events import EpochEvents
from tensorboard_files import assert_events_match_logs, read_events

TINY = ["--dataset", "mnist-subset", "--limit", "60", "--batchsize", "20", "--seed", "2", "--tensorboard"]


def test_a_resumed_writer_replaces_the_steps_a_killed_attempt_wrote_past_its_checkpoint(tmp_path):
    folder = tmp_path / "run_tensorboard"
    first = EpochEvents(folder)
    for step in range(4):  # the killed attempt got to step 3; its checkpoint holds steps 0 and 1 only
        first.write(step, {"loss/test": 10.0 + step}, {"score/dense1": np.arange(5.0)})
    first.close()
    resumed = EpochEvents(folder, resume_step=2)
    for step in (2, 3, 4):
        resumed.write(step, {"loss/test": 20.0 + step}, {"score/dense1": np.arange(5.0)})
    resumed.close()
    scalars, histograms = read_events(tmp_path / "run_logs.json")
    assert scalars["loss/test"] == [(0, 10.0), (1, 11.0), (2, 22.0), (3, 23.0), (4, 24.0)]
    assert histograms["score/dense1"] == [0, 1, 2, 3, 4]


def test_a_resumed_writers_file_is_named_after_the_killed_attempts(tmp_path):
    """Within one second, event files would sort by a per-process counter compared as text (10 before 9)."""
    import os
    folder = tmp_path / "run_tensorboard"
    first = EpochEvents(folder)
    first.write(0, {"loss/test": 1.0}, {})
    first.close()
    EpochEvents(folder, resume_step=1).close()
    names = sorted(os.listdir(folder))
    assert len(names) == 2 and int(names[1].split(".")[3]) > int(names[0].split(".")[3])


def test_a_run_writes_every_epoch_with_the_values_of_its_logs(tmp_path):
    assert MaskTrainer.main([*TINY, "--traintype", "FreeFlipping", "--lr", "0.05", "--maxepochs", "3",
                             "--outputpath", str(tmp_path)]) == 0
    (logs_path,) = tmp_path.rglob("*_logs.json")
    scalars, histograms = assert_events_match_logs(logs_path)
    logs = json.loads(logs_path.read_text())
    flipped = [rows[0][0] / sum(rows[0][:3]) for rows in logs["remainingWeightsPerLayer"]]  # first layer, masks < 0
    assert [value for _, value in scalars["changed/dense1"]] == [float(np.float32(value)) for value in flipped]
    assert flipped[-1] > 0  # signs did flip
    assert set(histograms) == {f"score/{name}" for name in logs["layerNames"]}


def test_imp_rounds_follow_one_another_in_steps_and_weight_training_methods_show_their_weights(tmp_path):
    assert MaskTrainer.main([*TINY, "--traintype", "IMP", "--rounds", "2", "--maxepochs", "1",
                             "--outputpath", str(tmp_path)]) == 0
    (logs_path,) = tmp_path.rglob("*_logs.json")
    scalars, histograms = read_events(logs_path)
    assert [step for step, _ in scalars["loss/test"]] == list(range(6))  # 3 rounds of epochs 0..1
    remaining = [value for _, value in scalars["remaining/all"]]
    assert remaining[0] == 1.0 and remaining[2] < remaining[0] and remaining[4] < remaining[2]
    assert all(tag.startswith("kernel/") for tag in histograms)


def test_the_switch_is_no_part_of_a_runs_identity_and_grids_may_set_it(tmp_path):
    config, _ = parse_args(["--tensorboard"])
    assert config.tensorboard is True and parse_args([])[0].tensorboard is False
    assert config.identity_key() == RunConfig().identity_key()
    from config import command_line_arguments
    assert "--tensorboard" in command_line_arguments(config)
    from sweeps.grid import GridError, expand_grid
    document = {"description": "d", "machine": "m", "base": {"tensorboard": True, "maxepochs": 1}, "seeds": [1]}
    assert expand_grid(document, "g.json").runs[0].tensorboard is True
    document["base"]["tensorboard"] = "yes"
    try:
        expand_grid(document, "g.json")
    except GridError as error:
        assert "must be true or false" in str(error)
    else:
        raise AssertionError("a grid with tensorboard 'yes' was accepted")
