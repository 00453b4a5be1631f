"""The ResNets (networks/resnet.py): the network, BatchNorm, the 2020 variant's quirks, the augmentation and the
learning-rate schedule of the 2020 ResNet training, bad input, and a ResNet run killed and resumed."""

import json
import math
import signal
import subprocess
import sys
import time

import keras
import numpy as np
import pytest

import Export
import MaskTrainer
import Plotter
from config import parse_args
from conftest import REPOSITORY
from masking import masked_layers
from methods import get_method
from networks import build_network
from networks.architectures import cifar_resnet
from runner.process import load_data
from test_resume import assert_same_run, finished_run, wait_for_epochs
from training.augmentation import SHIFT_FRACTION, augment, draw_shifts
from training.batches import epoch_batches
from training.compiled_steps import compiled_steps
from training.loop import Experiment
from training.schedule import learning_rate_at, parse_drops

CONNECTIVITY = get_method("FreePruning").masking_options("mask")


def test_resnet20_has_270896_masked_weights_on_cifar_shaped_input():
    """Counted by hand: the stem 3*3*3*16 = 432; stage 1, six 3x3 16->16 convolutions: 6*2,304 = 13,824;
    stage 2, 3*3*16*32 + five 3*3*32*32 + the 1x1 projection 16*32 = 4,608 + 46,080 + 512 = 51,200; stage 3,
    3*3*32*64 + five 3*3*64*64 + 32*64 = 18,432 + 184,320 + 2,048 = 204,800; the output 64*10 = 640."""
    layers = masked_layers(build_network("ResNet20", (32, 32, 3)))
    sizes = {layer.name: int(np.prod(layer.kernel.shape)) for layer in layers}
    assert len(layers) == 22  # 19 convolutions, 2 projections, the output
    assert sizes["stem_conv"] == 432 and sizes["output"] == 640
    assert sizes["stage2_block1_shortcut"] == 512 and sizes["stage3_block1_shortcut"] == 2048
    assert sum(sizes.values()) == 270_896


@pytest.mark.parametrize("input_shape, sides", [((32, 32, 3), (32, 16, 8)), ((28, 28, 1), (28, 14, 7))])
def test_stages_halve_the_resolution_and_global_pooling_takes_any_input_size(input_shape, sides):
    model = build_network("ResNet20", input_shape)
    for stage, side in enumerate(sides, 1):
        assert model.get_layer(f"stage{stage}_block3_out").output.shape[1:] == (side, side, 16 * 2 ** (stage - 1))
    predictions = np.asarray(model(np.zeros((2, *input_shape), "float32")))
    assert predictions.shape == (2, 10)
    np.testing.assert_allclose(predictions.sum(axis=1), 1.0, rtol=1e-5)


def test_the_6n_plus_2_family_and_a_depth_outside_it():
    assert len(masked_layers(build_network("ResNet32", (32, 32, 3)))) == 32 + 2
    assert cifar_resnet(110).blocks_per_stage == (18, 18, 18)
    with pytest.raises(ValueError, match="6n\\+2"):
        cifar_resnet(21)


def one_step_changes(affine, traintype="FreePruning"):
    """The kinds of variables (last part of their paths) that one training step changes."""
    model = build_network("ResNet8", (8, 8, 3), seed=1, batchnorm_affine=affine,
                          masking=get_method(traintype).masking_options("mask"))
    generator = np.random.default_rng(0)
    images = generator.normal(size=(20, 8, 8, 3)).astype("float32")
    labels = generator.integers(0, 10, 20).astype("int32")
    before = {variable.path: np.array(variable) for variable in model.variables}
    steps = compiled_steps(model, keras.optimizers.Adam(0.01), images, labels, masked_layers(model), jit_compile=False)
    indices, weights = epoch_batches(generator, 20, 10)
    steps.train_steps(indices, weights, 0, 1)
    after = {variable.path: np.array(variable) for variable in model.variables}
    changed = {path.rsplit("/", 1)[1] for path in before if not np.array_equal(before[path], after[path])}
    return changed, {path.rsplit("/", 1)[1] for path in before}


def test_batchnorm_scale_and_offset_train_by_default_and_stay_fixed_when_frozen():
    trained, _ = one_step_changes("trained")
    assert trained == {"score", "gamma", "beta", "moving_mean", "moving_variance"}
    frozen, present = one_step_changes("frozen")
    assert frozen == {"score", "moving_mean", "moving_variance"}
    assert not {"gamma", "beta"} & present  # frozen at 1 and 0: BatchNorm without scale and offset
    baseline, _ = one_step_changes("frozen", "Baseline")
    assert baseline == {"kernel", "moving_mean", "moving_variance"}


# The 2020 variant's quirks, one assertion each ---------------------------------------------------------------
def two_variants(**keywords):
    return {variant: build_network("ResNet20", (32, 32, 3), seed=9, resnet_variant=variant, **keywords)
            for variant in ("standard", "2020")}


def test_2020_every_masked_layer_draws_from_the_run_seed_so_equal_shapes_start_equal():
    for variant, model in two_variants().items():
        first, second = (model.get_layer(f"stage1_block1_unit{unit}_conv") for unit in (1, 2))
        same = (np.array_equal(first.kernel, second.kernel), np.array_equal(first.score, second.score))
        assert same == ((True, True) if variant == "2020" else (False, False))


def test_2020_the_activation_also_runs_inside_the_convolution_of_a_conv_bn_relu_unit():
    images = np.random.default_rng(1).normal(size=(2, 32, 32, 3)).astype("float32")
    for variant, model in two_variants().items():
        stem = keras.Model(model.input, model.get_layer("stem_conv").output)
        assert (np.min(stem(images)) >= 0) == (variant == "2020")  # ReLU(conv), then BN, then ReLU
        assert model.get_layer("stage1_block1_unit2_conv").activation is keras.activations.linear  # BN(conv)


def test_2020_the_hidden_activation_is_relu_whatever_activation_says():
    for variant, model in two_variants(activation="selu").items():
        names = {layer.activation.__name__ for layer in model.layers if isinstance(layer, keras.layers.Activation)}
        assert names == ({"relu", "softmax"} if variant == "2020" else {"selu"})


def test_2020_applies_softmax_twice():
    images = np.random.default_rng(2).normal(size=(4, 32, 32, 3)).astype("float32")
    for variant, model in two_variants().items():
        probabilities = np.asarray(model(images))
        # softmax of probabilities in [0, 1]: no class can get more than e / (e + 9).
        assert (probabilities.max() <= math.e / (math.e + 9) + 1e-6) == (variant == "2020")


def test_2020_starts_at_learning_rate_1e3_whatever_lr_says_and_keeps_lr_in_the_folder():
    config, _ = parse_args(["--nettype", "ResNet20", "--lr", "0.05", "--resnet-variant", "2020"])
    assert config.starting_learning_rate() == 1e-3 and config.folder().endswith("LR0.05")
    assert parse_args(["--nettype", "ResNet20", "--lr", "0.05"])[0].starting_learning_rate() == 0.05


# Augmentation and the learning-rate schedule ------------------------------------------------------------------
def test_augmentation_repeats_from_the_seed_and_differs_between_seeds_and_epochs():
    shifts = draw_shifts(3, 5, (40, 25), 32, 32)
    np.testing.assert_array_equal(shifts, draw_shifts(3, 5, (40, 25), 32, 32))
    assert not np.array_equal(shifts, draw_shifts(4, 5, (40, 25), 32, 32))
    assert not np.array_equal(shifts, draw_shifts(3, 6, (40, 25), 32, 32))
    assert np.abs(shifts[..., :2]).max() <= SHIFT_FRACTION * 32 and set(np.unique(shifts[..., 2])) == {0.0, 1.0}
    assert 0.45 < shifts[..., 2].mean() < 0.55


def test_augmentation_is_image_data_generators_shift_flip_with_nearest_fill():
    """Against Keras' own projective transform (bilinear, fill 'nearest'), which ImageDataGenerator's shifts are."""
    images = np.random.default_rng(5).normal(size=(30, 12, 10, 3)).astype("float32")
    shifts = draw_shifts(1, 0, (30,), 12, 10)
    transforms = np.zeros((30, 8), "float32")
    flipped = shifts[:, 2] > 0
    transforms[:, 0] = np.where(flipped, -1, 1)
    transforms[:, 2] = np.where(flipped, 9, 0) - shifts[:, 1]
    transforms[:, 4], transforms[:, 5] = 1, -shifts[:, 0]
    expected = keras.ops.image.affine_transform(images, transforms, interpolation="bilinear", fill_mode="nearest")
    np.testing.assert_allclose(np.asarray(augment(images, shifts)), np.asarray(expected), atol=1e-4)
    no_shift = np.array([[0, 0, 0], [0, 0, 1]], "float32")
    unshifted = np.asarray(augment(images[:2], no_shift))
    np.testing.assert_array_equal(unshifted[0], images[0])
    np.testing.assert_array_equal(unshifted[1], images[1, :, ::-1])


def test_learning_rate_divides_by_10_at_epochs_80_120_and_160():
    drops = parse_drops("80,120,160")
    rates = {epoch: learning_rate_at(epoch, 1e-3, drops) for epoch in (1, 79, 80, 119, 120, 159, 160, 200)}
    assert rates == {1: 1e-3, 79: 1e-3, 80: 1e-4, 119: 1e-4, 120: 1e-5, 159: 1e-5, 160: 1e-6, 200: 1e-6}
    assert parse_drops("none") == () and learning_rate_at(500, 0.1, ()) == 0.1


def test_a_run_trains_each_epoch_at_its_scheduled_rate_with_augmentation_on_another_network(tmp_path, monkeypatch):
    config, _ = parse_args(["--nettype", "LeNet5", "--dataset", "mnist-subset", "--limit", "40", "--batchsize", "20",
                            "--maxepochs", "3", "--lr-drops", "2,3", "--augmentation", "shift-flip", "--seed", "2",
                            "--lr", "0.01", "--outputpath", str(tmp_path)])
    experiment = Experiment(config, load_data(config, print_line=lambda line: None), print_line=lambda line: None)
    seen = []
    original = experiment.steps.train_steps

    def recording(indices, weights, start, stop, shifts=None):
        seen.append((float(experiment.optimizer.learning_rate), shifts is not None and shifts.shape))
        return original(indices, weights, start, stop, shifts)

    monkeypatch.setattr(experiment.steps, "train_steps", recording)
    for epoch in (1, 2, 3):
        experiment.train_epoch(epoch, stop=type("NeverStop", (), {"requested": False})())
    np.testing.assert_allclose([rate for rate, _ in seen], [0.01, 0.001, 0.0001], rtol=1e-6)
    assert {shape for _, shape in seen} == {(2, 20, 3)}


# Bad input ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("arguments, named", [
    (["--nettype", "LeNet", "--resnet-variant", "2020"], "--resnet-variant"),
    (["--nettype", "Conv2", "--batchnorm-affine", "frozen"], "--batchnorm-affine"),
    (["--nettype", "ResNet20", "--lr-drops", "120,80"], "--lr-drops"),
    (["--nettype", "ResNet21"], "--nettype"),
    (["--nettype", "ResNet20", "--initializer", "binary"], "--initializer"),
])
def test_bad_resnet_settings_end_in_one_sentence(tmp_path, capsys, arguments, named):
    assert MaskTrainer.main([*arguments, "--maxepochs", "0", "--outputpath", str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and named in error and "Traceback" not in error
    assert not list(tmp_path.iterdir())


# A ResNet run killed and resumed ----------------------------------------------------------------------------
ARGUMENTS = ["--nettype", "ResNet8", "--traintype", "MinPruning", "--dataset", "mnist-subset", "--limit", "200",
             "--batchsize", "10", "--maxepochs", "3", "--lr-drops", "3", "--lr", "0.01", "--seed", "8"]


def batchnorm_values(logs_path):
    with np.load(str(logs_path).replace("_logs.json", "_final_batchnorm.npz"), allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def test_sigkill_then_resume_of_a_resnet_matches_the_uninterrupted_run(tmp_path):
    """With augmentation, a learning-rate drop and BatchNorm's moving statistics, all restored on resume."""
    assert MaskTrainer.main([*ARGUMENTS, "--outputpath", str(tmp_path / "whole")]) == 0
    whole = finished_run(tmp_path / "whole")
    assert whole[1]["config"]["augmentation"] == "shift-flip" and whole[1]["trainLoss"][-1] < whole[1]["trainLoss"][1]
    process = subprocess.Popen([sys.executable, "MaskTrainer.py", *ARGUMENTS, "--outputpath", str(tmp_path / "cut")],
                               cwd=REPOSITORY, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    logs_path = wait_for_epochs(tmp_path / "cut", 1, process)
    time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert json.loads(logs_path.read_text())["status"] == "running"
    assert MaskTrainer.main(["--resume", str(logs_path)]) == 0
    assert_same_run(whole, finished_run(tmp_path / "cut"))
    expected, actual = batchnorm_values(whole[0]), batchnorm_values(logs_path)
    assert expected.keys() == actual.keys() and any(key.endswith("moving_mean") for key in expected)
    for key in expected:
        np.testing.assert_array_equal(actual[key], expected[key], err_msg=key)
    # Both formats, the final BatchNorm values included (tests/test_export_resnet.py checks their predictions).
    assert Export.main([str(logs_path), "--output-dir", str(tmp_path / "export")]) == 0
    assert {path.name.split("_", 1)[1] for path in (tmp_path / "export").iterdir()} == {"supermask.npz", "model.keras"}
    assert Plotter.main([str(tmp_path / "whole"), "--formats", "png", "--tables-dir", str(tmp_path / "tables")]) == 0
    table = (tmp_path / "tables" / "paper_table.md").read_text()
    assert "ResNet8" in table and "MinPruning" in table
    assert list((tmp_path / "whole").rglob("merged_curves.png"))


def test_the_resnet_grids_hold_the_2020_settings_and_a_grid_can_change_them():
    from sweeps.grid import expand_grid, load_grid
    cifar = load_grid(str(REPOSITORY / "experiments" / "resnet20_cifar10.json"))
    assert len(cifar.runs) == 15 and "GPU" in cifar.machine
    settings = {tuple(sorted({key: value for key, value in config.to_dict().items()
                              if key in ("resnet_variant", "augmentation", "lr_drops", "lr")}.items()))
                for config in cifar.runs}
    assert settings == {(("augmentation", "shift-flip"), ("lr", 1e-3), ("lr_drops", "80,120,160"),
                         ("resnet_variant", "2020"))}
    assert load_grid(str(REPOSITORY / "experiments" / "resnet20_mnist.json")).machine.startswith("runs here")
    varied = expand_grid({"description": "d", "machine": "m", "base": {"nettype": "ResNet8"},
                          "grid": {"batchnorm_affine": ["trained", "frozen"], "augmentation": ["none", "shift-flip"]},
                          "seeds": [1]}, "inline")
    assert len({config.identity_key() for config in varied.runs}) == 4
