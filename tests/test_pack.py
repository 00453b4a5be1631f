"""Packed runs (--pack, training/pack.py): each member trains as its solo run would, to float32 rounding, and
stays a run of its own (folder, logs, failures); refusals in one sentence.

JAX runs in subprocesses (this test process runs Keras on TensorFlow; a process has one backend).
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import MaskTrainer
from backend_steps import CASES
from conftest import REPOSITORY
from packed_steps import FORMS, MEMBERS
from training.pack_forms import PACK_FORMS

TINY = ["--dataset", "mnist-subset", "--limit", "120", "--batchsize", "25", "--maxepochs", "2", "--lr", "0.03"]


@pytest.fixture(scope="module")
def packed_steps_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("packed_steps")
    finished = subprocess.run([sys.executable, "tests/packed_steps.py", str(folder)], cwd=REPOSITORY,
                              capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    return folder


@pytest.mark.parametrize("case, form", [(case, form) for case in CASES for form in FORMS[case]])
def test_a_packed_step_gives_every_member_its_solo_step(packed_steps_folder, case, form):
    """In each form of training/pack_forms.py (tests/packed_steps.py's FORMS), from the same initial values and
    batches, every member's losses,
    updates, Adam state, BatchNorm statistics, gradient sums, masks and evaluation equal its solo run's to float32
    rounding: rtol 1e-5 and atol 5e-6, ten times tighter than the TF-vs-JAX comparison (tests/test_backend_jax.py).
    Measured on a CPU: vmap gives the dense and plain conv networks bit-identical, ResNet8 with augmentation at most
    1.9e-6 apart; unrolled is bit-identical on every case; folded within 0.4 of the tolerance (ResNet8)."""
    with np.load(packed_steps_folder / f"{case}.npz") as results:
        values = {key: results[key] for key in results.files}
    for member in range(len(MEMBERS)):
        solo = {key[len(f"s{member}_"):]: value for key, value in values.items() if key.startswith(f"s{member}_")}
        packed = {key[len(f"{form}{member}_"):]: value for key, value in values.items()
                  if key.startswith(f"{form}{member}_")}
        assert solo.keys() == packed.keys() and "counts" in solo
        np.testing.assert_array_equal(packed["correct"], solo["correct"])
        np.testing.assert_array_equal(packed["counts"], solo["counts"])
        for key in solo:
            np.testing.assert_allclose(packed[key], solo[key], rtol=1e-5, atol=5e-6, err_msg=f"member {member} {key}")
    first, second = (values[f"s{member}_v0"] for member in (0, 1))
    assert not np.array_equal(first, second)  # the members are different runs


def test_every_pack_form_is_checked():
    assert {form for forms in FORMS.values() for form in forms} == set(PACK_FORMS)


PACK_DRIVER = """
import contextlib, io, json, sys
sys.path.insert(0, "tests")
from main_calls import main_calls
results = main_calls(json.loads(sys.argv[1]))

# A pack whose second member diverges (learning rate 1e12): it fails, the first finishes.
from config import RunConfig
from runner.process import load_data
from training.loop import Experiment, TrainingFailed
from training.driver import EpochDriver
config = RunConfig(traintype="Baseline", dataset="mnist-subset", limit=120, maxepochs=2, backend="jax",
                   outputpath=sys.argv[2], pack=2).validate()
dataset = load_data(config, print_line=lambda line: None)
members = [Experiment(config.replace(seed=7, lr=lr), dataset, print_line=lambda line: None) for lr in (1e-3, 1e12)]
try:
    EpochDriver(members, print_line=lambda line: None).run()
    results["diverging"] = "no failure"
except TrainingFailed as failure:
    results["diverging"] = str(failure)
results["diverging ids"] = [member.run_id for member in members]
print(json.dumps(results))
"""


def run_logs(root):
    logs = {}
    for path in root.rglob("*_logs.json"):
        data = json.loads(path.read_text())
        logs[data["runId"]] = data
    return logs


@pytest.fixture(scope="module")
def packed_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("packed_runs")
    common = ["--backend", "jax", *TINY, "--seed", "11", "--nruns", "3"]
    arguments = {"packed": [*common, "--pack", "3", "--outputpath", str(root / "packed")],
                 "packed-again": [*common, "--pack", "3", "--tensorboard", "--outputpath", str(root / "again")],
                 "solo": [*common, "--outputpath", str(root / "solo")],
                 "ResNet8": ["--backend", "jax", *TINY, "--nettype", "ResNet8", "--seed", "2", "--nruns", "2",
                             "--pack", "2", "--outputpath", str(root / "resnet")]}
    finished = subprocess.run([sys.executable, "-c", PACK_DRIVER, json.dumps(arguments), str(root / "diverging")],
                              cwd=REPOSITORY, capture_output=True, text=True, timeout=900)
    assert finished.returncode == 0, finished.stderr
    results = json.loads(finished.stdout.strip().splitlines()[-1])
    for name in arguments:
        results[name]["logs"] = run_logs(root / arguments[name][-1].rsplit("/", 1)[-1])
    results["diverging logs"] = run_logs(root / "diverging")
    return results


def by_seed(logs):
    return {run["seed"]: run for run in logs.values()}


def test_each_packed_run_is_a_run_of_its_own_that_trains_as_its_solo_run(packed_runs):
    packed, solo = packed_runs["packed"], packed_runs["solo"]
    assert packed["code"] == 0 and solo["code"] == 0, packed["output"]
    assert "Training the 3 runs above together, in one pack" in packed["output"]
    packed_logs, solo_logs = by_seed(packed["logs"]), by_seed(solo["logs"])
    assert sorted(packed_logs) == sorted(solo_logs) == [11, 12, 13]
    pack_ids = {run["pack"]["packId"] for run in packed_logs.values()}
    assert len(pack_ids) == 1 and all("pack" not in run for run in solo_logs.values())
    for seed, run in packed_logs.items():
        assert run["status"] == "finished" and run["config"]["pack"] == 3
        assert sorted(run["pack"]["runIds"]) == sorted(packed["logs"])
        twin = solo_logs[seed]
        for key in ("trainLoss", "valLoss", "testLoss"):
            np.testing.assert_allclose(run[key], twin[key], rtol=1e-5, err_msg=key)
        for key in ("trainAccuracy", "testAccuracy", "remainingWeightsPerLayer"):
            assert run[key] == twin[key], key
    assert len({tuple(run["testLoss"]) for run in packed_logs.values()}) == 3  # three different runs
    for run_id in packed["logs"]:  # interleaved epoch lines say whose they are
        assert f"\n{run_id} Epoch   1/" in packed["output"], packed["output"]


def test_packed_runs_are_found_as_the_solo_runs_are(packed_runs, tmp_path):
    from config import RunConfig
    from reporting.runs_table import load_runs
    from runner import existing_runs
    packed, solo = packed_runs["packed"]["logs"], packed_runs["solo"]["logs"]
    identities = {RunConfig.from_settings(run["config"], strict=False).identity_key() for run in packed.values()}
    assert identities == {RunConfig.from_settings(run["config"], strict=False).identity_key()
                          for run in solo.values()}  # --pack is no part of a run's identity
    first = next(iter(packed.values()))
    root = first["config"]["outputpath"]
    scanned = existing_runs.scan(root)
    assert sum(len(runs) for runs in scanned.values()) == 3
    table = load_runs([root])
    assert len(table) == 3


def test_the_same_pack_twice_gives_identical_logs_and_each_run_its_own_tensorboard_events(packed_runs):
    from tensorboard_files import assert_events_match_logs
    first, second = by_seed(packed_runs["packed"]["logs"]), by_seed(packed_runs["packed-again"]["logs"])
    for seed in first:
        for key in ("trainLoss", "valLoss", "testLoss", "trainAccuracy", "testAccuracy", "remainingWeightsPerLayer"):
            assert first[seed][key] == second[seed][key], key
    root = second[11]["config"]["outputpath"]
    paths = sorted(Path(root).rglob("*_logs.json"))
    assert len(paths) == 3
    for path in paths:  # the packed-again runs wrote --tensorboard: every epoch of each run, once
        assert_events_match_logs(path)


def test_a_resnet_pack_trains_batchnorm_per_member(packed_runs):
    run = packed_runs["ResNet8"]
    assert run["code"] == 0, run["output"]
    logs = list(run["logs"].values())
    assert [entry["status"] for entry in logs] == ["finished", "finished"]
    assert logs[0]["testLoss"] != logs[1]["testLoss"]


def test_a_member_that_diverges_fails_alone(packed_runs):
    message = packed_runs["diverging"]
    assert message.startswith("1 of the 2 runs of the pack failed (the others finished): run ")
    steady, diverging = packed_runs["diverging ids"]
    logs = packed_runs["diverging logs"]
    assert logs[steady]["status"] == "finished" and len(logs[steady]["testLoss"]) == 3
    assert logs[diverging]["status"] == "failed" and "The training loss became nan" in logs[diverging]["failureReason"]


@pytest.mark.parametrize("arguments, message", [
    (["--pack", "2", "--backend", "tensorflow"], "--pack trains runs together through JAX (jax.vmap), and this run "
                                                 "is a --backend tensorflow run: add --backend jax"),
    (["--pack", "0"], "--pack must be at least 1"),
    (["--pack", "2", "--nruns", "2", "--backend", "jax", "FORM=grouped"], "MASKTRAINER_PACK_FORM is grouped, which "
     "is not a pack form; set it to vmap, unrolled or folded, or unset it to let the pack choose."),
])
def test_what_cannot_pack_is_refused_in_one_sentence(tmp_path, capsys, monkeypatch, arguments, message):
    for argument in [argument for argument in arguments if argument.startswith("FORM=")]:
        monkeypatch.setenv("MASKTRAINER_PACK_FORM", argument.removeprefix("FORM="))
        arguments = [other for other in arguments if other != argument]
    assert MaskTrainer.main([*TINY, *arguments, "--outputpath", str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and message in error[0], error
    assert not any(tmp_path.iterdir())


def test_every_method_packs_on_jax():
    from config import RunConfig
    from methods import METHOD_NAMES
    for traintype in METHOD_NAMES:
        assert RunConfig(traintype=traintype, backend="jax", pack=4).validate().pack == 4


KILL_BETWEEN_SAVES = """
import os, sys
from cli.keras_backend import select_backend
select_backend("jax", "auto")
import training.checkpoint
saves = {}
original = training.checkpoint.write_checkpoint
def write_or_die(folder, run_id, arrays):
    saves[run_id] = saves.get(run_id, 0) + 1
    if saves[run_id] == 3 and list(saves).index(run_id) == 1:
        os._exit(9)  # killed as the second member's epoch 2 was to be saved, the first member's already on disk
    original(folder, run_id, arrays)
training.checkpoint.write_checkpoint = write_or_die
import MaskTrainer
sys.exit(MaskTrainer.main(sys.argv[1:]))
"""


def finished_runs(root):
    runs = {}
    for path in root.rglob("*_logs.json"):
        logs = json.loads(path.read_text())
        with np.load(str(path).replace("_logs.json", "_final_masks.npz")) as masks:
            runs[logs["seed"]] = (logs, {key: masks[key] for key in masks.files})
    return runs


def test_a_pack_killed_between_its_members_saves_resumes_to_the_uninterrupted_pack(tmp_path):
    arguments = ["--backend", "jax", *TINY, "--maxepochs", "3", "--seed", "31", "--nruns", "2", "--pack", "2"]
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPOSITORY)}
    subprocess.run([sys.executable, "MaskTrainer.py", *arguments, "--outputpath", str(tmp_path / "whole")],
                   cwd=REPOSITORY, capture_output=True, text=True, timeout=300, check=True, env=environment)
    killed = subprocess.run([sys.executable, "-c", KILL_BETWEEN_SAVES, *arguments, "--outputpath",
                             str(tmp_path / "killed")], cwd=REPOSITORY, capture_output=True, text=True, timeout=300,
                            env=environment)
    assert killed.returncode == 9, killed.stderr
    positions = sorted(len(json.loads(path.read_text())["testLoss"]) for path in (tmp_path / "killed").rglob(
        "*_logs.json"))
    assert positions == [2, 3]  # one member a save ahead of the other
    logs_path = next((tmp_path / "killed").rglob("*_logs.json"))
    resumed = subprocess.run([sys.executable, "MaskTrainer.py", "--resume", str(logs_path)], cwd=REPOSITORY,
                             capture_output=True, text=True, timeout=300, env=environment)
    assert resumed.returncode == 0, resumed.stderr
    assert "Resuming the 2 runs of the pack" in resumed.stdout and "after epoch 1 of 3" in resumed.stdout
    whole, again = finished_runs(tmp_path / "whole"), finished_runs(tmp_path / "killed")
    assert sorted(whole) == sorted(again) == [31, 32]
    for seed, (logs, masks) in whole.items():
        other_logs, other_masks = again[seed]
        assert other_logs["status"] == "finished"
        for key in ("trainLoss", "valLoss", "testLoss", "trainAccuracy", "testAccuracy", "remainingWeightsPerLayer"):
            assert other_logs[key] == logs[key], key
        for name in masks:
            np.testing.assert_array_equal(other_masks[name], masks[name])


def test_a_pack_that_would_not_fit_is_refused_with_the_largest_that_would(tmp_path):
    from config import RunConfig
    from runner.process import load_data
    from training.loop import Experiment
    from training.pack_memory import PackTooLarge, check_pack_fits, member_bytes
    config = RunConfig(dataset="mnist-subset", limit=100, outputpath=str(tmp_path / "out")).validate()
    dataset = load_data(config, print_line=lambda line: None)
    members = [Experiment(config.replace(seed=seed), dataset, print_line=lambda line: None) for seed in (1, 2, 3)]
    per_member = member_bytes(members[0].model, members[0].optimizer, 25)
    # LeNet-300-100: 266,200 weights and as many scores, Adam's moments of the scores, batch-25 activations.
    assert 6e6 < per_member < 2e7
    data = 4 * (100 * 784 + 100)
    check_pack_fits(members, available=(3 * per_member + data) / 0.8 + 1)  # fits
    with pytest.raises(PackTooLarge) as refusal:
        check_pack_fits(members, available=(2.5 * per_member + data) / 0.8)
    assert str(refusal.value).startswith("A pack of 3 LeNet runs at batch 25 needs about ")
    assert str(refusal.value).endswith("is free: use --pack 2 or fewer.")
    for member in members:
        member.discard()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*"))


def test_the_memory_estimate_covers_what_a_conv6_pack_took_on_an_h200(tmp_path):
    # bench/results/gpu_check_pack.json (2026-12-04): Conv6 at batch 25 with 45,000 CIFAR-shaped training images
    # on the device peaked at 1,090 MiB alone and 7,108 MiB in a pack of 8; LeNet's pack of 64 at 1,034 MiB.
    sys.path.insert(0, str(Path(REPOSITORY) / "bench"))
    from cifar_shaped import write_cifar_shaped
    from config import RunConfig
    from runner.process import load_data
    from training.loop import Experiment
    from training.pack_memory import FLOAT_BYTES, member_bytes
    write_cifar_shaped(str(tmp_path / "cifar"), training_examples=10, test_examples=10)
    config = RunConfig(nettype="Conv6", dataset="cifar10", data_dir=str(tmp_path / "cifar"),
                       outputpath=str(tmp_path / "out")).validate()
    member = Experiment(config, load_data(config, print_line=lambda line: None), print_line=lambda line: None)
    data = FLOAT_BYTES * (45_000 * 32 * 32 * 3 + 45_000)
    per_member = member_bytes(member.model, member.optimizer, 25)
    member.discard()
    mebibytes = [(count * per_member + data) / 2**20 for count in (1, 8)]
    assert 1_090 <= mebibytes[0] <= 1.5 * 1_090 and 7_108 <= mebibytes[1] <= 1.3 * 7_108, mebibytes


def pack_file(path, runs):
    path.write_text(json.dumps({"runs": runs}))
    return str(path)


def test_a_pack_file_trains_runs_of_different_learning_rates_together_and_then_has_nothing_to_do(tmp_path):
    common = {"backend": "jax", "dataset": "mnist-subset", "limit": 120, "maxepochs": 1, "batchsize": 25,
              "outputpath": str(tmp_path / "out")}
    runs = [{**common, "seed": 5, "lr": 0.03}, {**common, "seed": 6, "lr": 0.001, "p1": 0.7, "initializer": "glorot"}]
    path = pack_file(tmp_path / "pack.json", runs)
    environment = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPOSITORY)}
    first = subprocess.run([sys.executable, "MaskTrainer.py", "--pack-file", path], cwd=REPOSITORY,
                           capture_output=True, text=True, timeout=300, env=environment)
    assert first.returncode == 0, first.stderr
    assert "Training the 2 runs above together, in one pack" in first.stdout
    logs = by_seed(run_logs(tmp_path / "out"))
    assert (logs[5]["config"]["lr"], logs[6]["config"]["lr"], logs[6]["config"]["p1"]) == (0.03, 0.001, 0.7)
    assert logs[5]["pack"]["packId"] == logs[6]["pack"]["packId"]
    assert all(run["status"] == "finished" for run in logs.values())
    again = subprocess.run([sys.executable, "MaskTrainer.py", "--pack-file", path], cwd=REPOSITORY,
                           capture_output=True, text=True, timeout=300, env=environment)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("finished already") == 2 and len(run_logs(tmp_path / "out")) == 2


@pytest.mark.parametrize("content, message", [
    ("not json", "is not a pack file"),
    ({"runs": [{"seed": 1, "backend": "jax"}, {"seed": 2, "backend": "jax", "nettype": "LeNet5"}]},
     "cannot train in one pack: they may differ only in seed, p1, initializer, lr, lr_drops, lr_schedule."),
    ({"runs": [{"seed": 0, "backend": "jax"}]}, "must list at least one run, each with a fixed seed."),
])
def test_a_bad_pack_file_is_refused_in_one_sentence(tmp_path, content, message):
    path = tmp_path / "pack.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    from config import ConfigError
    from config.pack_file import read_pack_file
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        read_pack_file(str(path))
    with pytest.raises(ConfigError, match=r"The pack file .*missing\.json cannot be read \(No such file"):
        read_pack_file(str(tmp_path / "missing.json"))


def test_a_pack_takes_the_form_measured_fastest_for_its_device_and_network_unless_told():
    from training.pack_forms import FORM_VARIABLE, chosen_form
    # bench/results/pack_forms.md (a CPU): Conv6 at N = 4 unrolled 1.11x a solo run's runs per hour, vmap 0.27x;
    # LeNet at N = 4 vmap 1.12x, unrolled 1.08x, at N = 16 vmap 0.72x, unrolled 1.07x.
    assert chosen_form("cpu", True, 2, environ={}) == "unrolled"
    assert chosen_form("cpu", False, 4, environ={}) == "vmap"
    assert chosen_form("cpu", False, 16, environ={}) == "unrolled"
    assert chosen_form("gpu", False, 64, environ={}) == "vmap"
    assert chosen_form("gpu", True, 8, environ={}) == "vmap"
    assert chosen_form("cpu", True, 4, environ={FORM_VARIABLE: "vmap"}) == "vmap"
