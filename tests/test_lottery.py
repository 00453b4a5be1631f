"""Iterative magnitude pruning: exact counts, rates, zeros that stay zero, the two resets, resume."""

import dataclasses
import json

import numpy as np
import pytest

import MaskTrainer
from config import RunConfig
from datasets import load_dataset
from interruptions import interrupt_after
from lottery.experiment import LotteryTicketExperiment
from lottery.pruning import layer_prune_rates, prune_by_magnitude, pruned_per_round
from masking import masked_layers
from methods import METHODS
from networks import build_network


def test_pruning_removes_exactly_the_requested_count_of_the_remaining_weights():
    kernel = np.random.default_rng(0).normal(size=(30, 20))
    mask = np.ones_like(kernel)
    mask[:5] = 0  # 100 already gone, 500 remain
    pruned = prune_by_magnitude(kernel, mask, 0.2)
    assert mask.sum() - pruned.sum() == 100
    assert np.all(pruned[:5] == 0)
    removed = (mask == 1) & (pruned == 0)
    assert np.abs(kernel[removed]).max() <= np.abs(kernel[pruned == 1]).min()


def test_ties_are_broken_by_position():
    kernel = np.array([0.5, -0.1, 0.1, 0.1, 0.3])
    np.testing.assert_array_equal(prune_by_magnitude(kernel, np.ones(5), 0.4), [1, 0, 0, 1, 1])
    np.testing.assert_array_equal(prune_by_magnitude(kernel, np.ones(5), 0.6), [1, 0, 0, 0, 1])


@pytest.mark.parametrize("rate", [0.2, 0.1, 0.09])
def test_remaining_fraction_after_k_rounds_is_one_minus_rate_to_the_k(rate):
    kernel = np.random.default_rng(1).normal(size=(300, 100))
    mask = np.ones_like(kernel)
    for rounds in range(1, 11):
        mask = prune_by_magnitude(kernel, mask, rate)
        # each round rounds to a whole weight, so allow half a weight per round
        assert abs(mask.mean() - (1 - rate) ** rounds) <= rounds * 0.5 / mask.size


def test_rates_per_layer_follow_frankle_and_carbin():
    layers = masked_layers(build_network("LeNet5", (28, 28, 1), seed=1,
                                         masking=METHODS["IMP"].masking_options("mask")))
    assert layer_prune_rates(layers, 0.2, 0.1) == [0.1, 0.1, 0.2, 0.2, 0.1]
    assert pruned_per_round(0.5, 3) == 2 and pruned_per_round(0.2, 5) == 1


@pytest.fixture(scope="module")
def tiny_mnist():
    return load_dataset("mnist-subset", "mnist", limit=100)


def experiment(tmp_path, dataset, reset):
    config = RunConfig.from_settings(dict(traintype="IMP", reset=reset, seed=5, batchsize=20, maxepochs=1, rounds=2,
                                          outputpath=str(tmp_path), dataset="mnist-subset")).validate()
    return LotteryTicketExperiment(config, dataset, print_line=lambda line: None)


def test_original_reset_restores_initial_values_bit_for_bit_and_random_does_not(tmp_path, tiny_mnist):
    for reset in ("original", "random"):
        run = experiment(tmp_path / reset, tiny_mnist, reset)
        for layer in run.layers:  # stands in for training: every weight moved
            layer.kernel.assign(np.asarray(layer.kernel) + 0.5)
        run.prune_and_reset(1)
        for layer in run.layers:
            kernel, mask = np.asarray(layer.kernel), np.asarray(layer.fixed_mask)
            initial = run.initial_kernels[layer.name]
            assert np.all(kernel[mask == 0] == 0)
            if reset == "original":
                np.testing.assert_array_equal(kernel[mask == 1], initial[mask == 1])
            else:
                assert np.mean(kernel[mask == 1] == initial[mask == 1]) < 0.01
                assert abs(kernel[mask == 1].std() / initial.std() - 1) < 0.2  # same initializer


def test_pruned_weights_stay_exactly_zero_through_training(tmp_path, tiny_mnist):
    run = experiment(tmp_path, tiny_mnist, "original")
    run.prune_and_reset(1)
    masks = {layer.name: np.asarray(layer.fixed_mask).copy() for layer in run.layers}
    indices = np.arange(100, dtype="int32").reshape(5, 20)
    run.steps.train_range(indices, np.ones((5, 20), "float32"), 0, 5)
    for layer in run.layers:
        kernel = np.asarray(layer.kernel)
        assert np.all(kernel[masks[layer.name] == 0] == 0)
        assert not np.array_equal(kernel, run.initial_kernels[layer.name] * masks[layer.name])
    for moment in run.optimizer.variables[2:]:  # Adam's moments: nothing builds up on pruned weights
        value = np.asarray(moment)
        for mask in masks.values():
            if value.shape == mask.shape:
                assert np.all(value[mask == 0] == 0)


ARGUMENTS = ["--traintype", "IMP", "--dataset", "mnist-subset", "--limit", "120", "--batchsize", "20",
             "--maxepochs", "2", "--rounds", "2", "--seed", "8"]


def read_run(folder):
    (logs_path,) = folder.rglob("*_logs.json")
    return logs_path, json.loads(logs_path.read_text())


def test_two_round_run_end_to_end(tmp_path):
    assert MaskTrainer.main([*ARGUMENTS, "--outputpath", str(tmp_path)]) == 0
    logs_path, logs = read_run(tmp_path)
    assert "glorot" in logs_path.parent.name and "original_R0.2" in logs_path.parent.name
    assert logs["status"] == "finished" and len(logs["rounds"]) == 3
    fractions = [entry["remainingFraction"] for entry in logs["rounds"]]
    expected_dense = [1.0, 0.8, 0.64]
    for fraction, expected in zip(fractions, expected_dense):
        assert fraction == pytest.approx(expected, abs=0.01)  # the output layer prunes at half rate
    per_layer = [entry["remainingFractionPerLayer"] for entry in logs["rounds"]]
    assert per_layer[2][0] == pytest.approx(0.64, abs=1e-5) and per_layer[2][2] == pytest.approx(0.81, abs=1e-3)
    assert all(len(entry["testAccuracy"]) == 3 for entry in logs["rounds"])
    assert logs["testAccuracy"] == logs["rounds"][-1]["testAccuracy"]
    for round_index in range(3):
        with np.load(logs_path.with_name(logs_path.name.replace("_logs.json", f"_round{round_index}_masks.npz")),
                     allow_pickle=False) as masks:
            assert float(np.mean(masks["dense1"])) == pytest.approx(expected_dense[round_index], abs=1e-5)


def test_resume_inside_a_later_round_equals_an_uninterrupted_run(tmp_path, monkeypatch):
    assert MaskTrainer.main([*ARGUMENTS, "--outputpath", str(tmp_path / "whole")]) == 0
    _, expected = read_run(tmp_path / "whole")
    with monkeypatch.context() as patch:
        interrupt_after(patch, calls=7, steps_per_call=2)  # 6 steps per epoch: 3 calls; round 0 takes 6
        assert MaskTrainer.main([*ARGUMENTS, "--outputpath", str(tmp_path / "cut")]) == 130
    logs_path, cut = read_run(tmp_path / "cut")
    assert cut["status"] == "interrupted" and len(cut["rounds"]) == 1
    assert MaskTrainer.main(["--resume", str(logs_path)]) == 0
    _, resumed = read_run(tmp_path / "cut")
    assert resumed["testAccuracy"] == expected["testAccuracy"]
    assert resumed["remainingWeightsPerLayer"] == expected["remainingWeightsPerLayer"]

    def without_times(rounds):
        return [{key: value for key, value in entry.items() if key != "epochSeconds"} for entry in rounds]

    assert without_times(resumed["rounds"]) == without_times(expected["rounds"])


def test_lottery_config_defaults():
    config = RunConfig(traintype="IMP").validate()
    settings = config.method_settings
    assert config.resolved_initializer() == "glorot" and settings.reset == "original"
    assert (settings.prune_rate, settings.prune_rate_conv) == (0.2, None)
    assert dataclasses.replace(config, traintype="FreePruning").resolved_initializer() == "he"


@pytest.mark.parametrize("nettype, expected", [("Conv2", 0.1), ("Conv4", 0.1), ("Conv6", 0.15), ("LeNet5", 0.1)])
def test_the_convolution_prune_rate_defaults_per_network_as_frankle_and_carbin_and_a_flag_wins(nettype, expected):
    from config import parse_args
    config = parse_args(["--traintype", "IMP", "--nettype", nettype])[0]
    assert config.to_dict()["prune_rate_conv"] == expected
    assert config.folder().endswith(f"_R0.2_C{expected}")
    explicit = parse_args(["--traintype", "IMP", "--nettype", nettype, "--prune-rate-conv", str(expected)])[0]
    assert explicit.identity_key() == config.identity_key()  # the default and the same value given: one run
    chosen = parse_args(["--traintype", "IMP", "--nettype", nettype, "--prune-rate-conv", "0.3"])[0]
    assert chosen.to_dict()["prune_rate_conv"] == 0.3 and chosen.identity_key() != config.identity_key()


def test_plotter_draws_accuracy_against_weights_remaining(tmp_path):
    import csv

    from matplotlib.image import imread

    import Plotter
    tiny = ["--traintype", "IMP", "--dataset", "mnist-subset", "--limit", "60", "--batchsize", "20",
            "--maxepochs", "1", "--rounds", "2", "--outputpath", str(tmp_path)]
    for reset in ("original", "random"):
        assert MaskTrainer.main([*tiny, "--reset", reset, "--seed", "1", "--nruns", "2"]) == 0
    assert Plotter.main([str(tmp_path), "--only", "lottery"]) == 0
    (figure,) = (tmp_path / "figures").glob("lottery_LeNet_glorot_mnist-subset_E1.png")
    assert imread(figure).shape[0] > 200
    with open(tmp_path / "lottery_table.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["reset"], row["round"], row["runs"]) for row in rows] == [
        ("original", "0", "2"), ("original", "1", "2"), ("original", "2", "2"),
        ("random", "0", "2"), ("random", "1", "2"), ("random", "2", "2")]
    assert float(rows[2]["remainingPercent"]) == pytest.approx(64.2, abs=0.2)


def test_the_frankle_carbin_control_trains_the_original_runs_masks_from_other_initial_weights(tmp_path, capsys):
    tiny = ["--traintype", "IMP", "--dataset", "mnist-subset", "--limit", "60", "--batchsize", "20",
            "--maxepochs", "1", "--rounds", "2", "--seed", "3", "--outputpath", str(tmp_path)]
    assert MaskTrainer.main([*tiny, "--reset", "control"]) == 2  # no original-init run to pair with yet
    assert "run that one first" in capsys.readouterr().err and not list(tmp_path.rglob("*_logs.json"))
    assert MaskTrainer.main([*tiny, "--reset", "original"]) == 0
    assert MaskTrainer.main([*tiny, "--reset", "control"]) == 0
    (original_logs,) = tmp_path.rglob("*_original_*/*_logs.json")
    (control_logs,) = tmp_path.rglob("*_control_*/*_logs.json")
    original_id, control_id = (path.name.removesuffix("_logs.json") for path in (original_logs, control_logs))
    assert json.loads(control_logs.read_text())["pairedRun"] == original_id
    for round_index in range(3):  # the dense round and two pruned levels: the same masks, layer by layer
        with np.load(original_logs.parent / f"{original_id}_round{round_index}_masks.npz") as expected, \
                np.load(control_logs.parent / f"{control_id}_round{round_index}_masks.npz") as actual:
            assert expected.files == actual.files
            for name in expected.files:
                np.testing.assert_array_equal(actual[name], expected[name])
    with np.load(original_logs.parent / f"{original_id}_initial_weights.npz") as original_weights, \
            np.load(control_logs.parent / f"{control_id}_initial_weights.npz") as control_weights:
        for name in original_weights.files:
            assert original_weights[name].shape == control_weights[name].shape
            assert not np.allclose(original_weights[name], control_weights[name])
    rounds = json.loads(control_logs.read_text())["rounds"]
    assert [round(entry["remainingFraction"], 4) for entry in rounds] == [
        round(entry["remainingFraction"], 4) for entry in json.loads(original_logs.read_text())["rounds"]]


def test_the_control_pairs_with_an_original_run_whose_logs_predate_the_backend_setting(tmp_path):
    tiny = ["--traintype", "IMP", "--dataset", "mnist-subset", "--limit", "60", "--batchsize", "20",
            "--maxepochs", "1", "--rounds", "1", "--seed", "3", "--outputpath", str(tmp_path)]
    assert MaskTrainer.main([*tiny, "--reset", "original"]) == 0
    (original_logs,) = tmp_path.rglob("*_original_*/*_logs.json")
    logs = json.loads(original_logs.read_text())
    del logs["config"]["backend"]  # as written before 2026-11-22: a TensorFlow run
    original_logs.write_text(json.dumps(logs))
    assert MaskTrainer.main([*tiny, "--reset", "control"]) == 0
    (control_logs,) = tmp_path.rglob("*_control_*/*_logs.json")
    assert json.loads(control_logs.read_text())["pairedRun"] == logs["runId"]
