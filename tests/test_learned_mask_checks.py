"""--sanity-check for the methods that learn a mask over fixed weights (training/learned_mask_checks.py): a check run
trains exactly as its unchecked twin, and what it evaluates is the twin's learned mask shuffled within each layer, or
over new weights, as a numpy forward pass computes it from the twin's own files. A packed check equals its solo
runs: tests/test_pack_methods.py."""

import json

import numpy as np
import pytest

from config import ConfigError, RunConfig
from datasets import load_dataset
from main_calls import main_calls
from training.check_draws import layer_permutations, redrawn_kernels

FIXED_WEIGHT_METHODS = ("FreePruning", "MinPruning", "FreeFlipping", "MinFlipping", "EdgePopup", "Supermask")
SEED, LIMIT = 6, 500
ARGUMENTS = ["--maxepochs", "2", "--dataset", "mnist-subset", "--limit", str(LIMIT), "--seed", str(SEED)]


def test_the_methods_over_fixed_weights_take_shuffle_and_reinit_and_refuse_invert():
    for traintype in FIXED_WEIGHT_METHODS:
        for check in ("shuffle", "reinit"):
            config = RunConfig.from_settings({"traintype": traintype, "sanity_check": check},
                                             given=["sanity_check"]).validate()
            assert config.folder().endswith(f"_check-{check}") and config.identity()["sanity_check"] == check
        assert RunConfig(traintype=traintype).identity()["sanity_check"] == "none"
        with pytest.raises(ConfigError, match=f"--sanity-check invert keeps the lowest scores of a criterion at "
                                              f"initialisation, and --traintype {traintype} learns its mask"):
            RunConfig.from_settings({"traintype": traintype, "sanity_check": "invert"}).validate()
    with pytest.raises(ConfigError, match="--sanity-check does nothing for --traintype Baseline"):
        RunConfig.from_settings({"traintype": "Baseline", "sanity_check": "shuffle"}, given=["sanity_check"])


def arrays(root, kind):
    (path,) = root.rglob(f"*_{kind}.npz")
    with np.load(path) as archive:
        return [archive[name] for name in archive.files]  # in the network's order


def test_accuracy(kernels, masks, dataset):
    """LeNet-300-100 (no biases, as the 2020 code) with kernel * mask per layer: (loss, accuracy) on the test split."""
    values = dataset.x_test.reshape(len(dataset.x_test), -1).astype(np.float64)
    for index, (kernel, mask) in enumerate(zip(kernels, masks, strict=True)):
        values = values @ (kernel * mask)
        if index < len(kernels) - 1:
            values = np.maximum(values, 0)
    values -= values.max(axis=1, keepdims=True)
    log_probabilities = values - np.log(np.exp(values).sum(axis=1, keepdims=True))
    labels = dataset.y_test.reshape(-1).astype(int)
    return -log_probabilities[np.arange(len(labels)), labels].mean(), np.mean(values.argmax(axis=1) == labels)


test_accuracy.__test__ = False  # a helper, not a test


@pytest.mark.parametrize("traintype", ["FreePruning", "EdgePopup"])
def test_a_check_run_trains_as_its_twin_and_evaluates_the_checked_mask(tmp_path, traintype):
    runs = {}
    for check in ("none", "shuffle", "reinit"):
        folder = tmp_path / check
        result = main_calls({check: ["--traintype", traintype, *ARGUMENTS, "--sanity-check", check,
                                     "--outputpath", str(folder)]})[check]
        assert result["code"] == 0, result["output"]
        (logs,) = folder.rglob("*_logs.json")
        runs[check] = (json.loads(logs.read_text()), arrays(folder, "final_masks"), arrays(folder, "initial_weights"))
    logs, masks, kernels = runs["none"]
    for check in ("shuffle", "reinit"):
        checked_logs, checked_masks, checked_kernels = runs[check]
        assert checked_logs["config"]["sanity_check"] == check
        # The check changes no step: the same training curve, the same learned mask over the same weights.
        assert checked_logs["trainLoss"][1:] == logs["trainLoss"][1:]
        for ours, theirs in zip(checked_masks + checked_kernels, masks + kernels, strict=True):
            np.testing.assert_array_equal(ours, theirs)
    dataset = load_dataset("mnist-subset", "mnist", limit=LIMIT)
    permutations = layer_permutations([mask.size for mask in masks], SEED)
    expected = {"none": (kernels, masks),
                "shuffle": (kernels, [mask.reshape(-1)[permutation].reshape(mask.shape)
                                      for mask, permutation in zip(masks, permutations, strict=True)]),
                "reinit": (redrawn_kernels([kernel.shape for kernel in kernels], SEED,
                                           RunConfig(traintype=traintype).resolved_initializer()), masks)}
    accuracies = {}
    for check, (check_kernels, check_masks) in expected.items():
        loss, accuracy = test_accuracy(check_kernels, check_masks, dataset)
        accuracies[check] = runs[check][0]["testAccuracy"][-1]
        assert accuracies[check] == pytest.approx(accuracy, abs=1.5 / LIMIT), check
        assert runs[check][0]["testLoss"][-1] == pytest.approx(loss, rel=1e-4), check
    # The learned mask is tied to its positions and its weights.
    assert accuracies["shuffle"] < accuracies["none"] - 0.1 and accuracies["reinit"] < accuracies["none"] - 0.1
