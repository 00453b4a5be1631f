import keras
import numpy as np
import pytest

from masking import MaskedConv2D, MaskedDense, MaskingOptions, masked_layers
from networks import NETWORK_NAMES, build_network

CIFAR_SHAPE = (32, 32, 3)
EXPECTED_WEIGHTS = {"LeNet": ((28, 28, 1), 266_200), "Conv2": (CIFAR_SHAPE, 4_300_992),
                    "Conv4": (CIFAR_SHAPE, 2_425_024), "Conv6": (CIFAR_SHAPE, 2_261_184)}


@pytest.mark.parametrize("nettype", sorted(EXPECTED_WEIGHTS))
def test_weight_counts_match_the_paper(nettype):
    input_shape, expected = EXPECTED_WEIGHTS[nettype]
    model = build_network(nettype, input_shape, seed=1)
    layers = masked_layers(model)
    assert sum(int(np.prod(layer.kernel.shape)) for layer in layers) == expected
    # kernels and scores are the only weights: no biases anywhere
    assert len(model.weights) == 2 * len(layers)
    assert model.output_shape == (None, 10)


def test_registry_lists_the_reference_networks():
    assert set(NETWORK_NAMES) >= {"LeNet", "Conv2", "Conv4", "Conv6"}


def test_input_shape_comes_from_the_data():
    lenet_on_cifar = build_network("LeNet", CIFAR_SHAPE, seed=1)
    assert masked_layers(lenet_on_cifar)[0].kernel.shape == (3072, 300)
    conv_on_mnist = build_network("Conv2", (28, 28, 1), seed=1)
    assert masked_layers(conv_on_mnist)[2].kernel.shape == (14 * 14 * 64, 256)


def test_output_is_softmax_and_hidden_activation_is_configurable():
    model = build_network("LeNet", (28, 28, 1), activation="selu", seed=1)
    layers = masked_layers(model)
    assert [layer.activation.__name__ for layer in layers] == ["selu", "selu", "softmax"]
    probabilities = np.asarray(model(np.random.default_rng(0).normal(size=(3, 28, 28, 1))))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_unknown_network_and_activation_are_refused():
    with pytest.raises(ValueError, match="LeNet, Conv2"):
        build_network("ResNet18", (28, 28, 1))
    with pytest.raises(ValueError, match="relu, swish"):
        build_network("LeNet", (28, 28, 1), activation="tanh")


@pytest.mark.parametrize("layer", [
    MaskedDense(7, activation="relu", mask_type="flip", score_seed=4, alpha=-1.0, name="d"),
    MaskedConv2D(5, 3, mask_type="mask_rs", kernel_trainable=True, score_trainable=False, name="c"),
    MaskedDense(3, use_fixed_mask=True, kernel_trainable=True, name="fixed"),
])
def test_layers_round_trip_through_get_config(layer):
    rebuilt = type(layer).from_config(layer.get_config())
    assert rebuilt.get_config() == layer.get_config()


@pytest.mark.parametrize("nettype,input_shape,options", [
    ("LeNet", (28, 28, 1), MaskingOptions(mask_type="mask_rs", alpha=-1.0)),
    ("Conv2", (8, 8, 3), MaskingOptions(mask_type="flip")),
    ("LeNet", (28, 28, 1), MaskingOptions(use_fixed_mask=True, kernel_trainable=True)),
])
def test_keras_file_round_trip_predicts_the_same_numbers(tmp_path, nettype, input_shape, options):
    model = build_network(nettype, input_shape, seed=5, initializer="heconstant", masking=options)
    layers = masked_layers(model)
    if options.use_fixed_mask:
        layers[0].set_fixed_mask(np.random.default_rng(1).random(layers[0].kernel.shape) > 0.5)
    else:
        score = np.asarray(layers[0].score).copy()
        score[::2] *= -1  # some connections off / flipped, so the saved state is not the initial one
        layers[0].score.assign(score)
    images = np.random.default_rng(2).normal(size=(4,) + input_shape).astype("float32")
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(np.asarray(loaded(images)), np.asarray(model(images)))
    assert [type(layer) for layer in masked_layers(loaded)] == [type(layer) for layer in layers]


@pytest.mark.parametrize("size", [8, 7])
def test_max_pool_matches_keras_max_pooling(size):
    from networks.pooling import MaxPool2x2
    images = np.random.default_rng(3).normal(size=(2, size, size, 3)).astype("float32")
    expected = keras.layers.MaxPooling2D(2)(images)
    np.testing.assert_array_equal(np.asarray(MaxPool2x2()(images)), np.asarray(expected))


def test_lenet5_has_the_lottery_ticket_shape():
    model = build_network("LeNet5", (28, 28, 1), seed=1)
    shapes = [tuple(layer.kernel.shape) for layer in masked_layers(model)]
    assert shapes == [(5, 5, 1, 6), (5, 5, 6, 16), (400, 120), (120, 84), (84, 10)]
    assert sum(int(np.prod(shape)) for shape in shapes) == 61_470


def test_xla_is_used_by_default_only_without_convolutions():
    from training.loop import uses_xla
    lenet = masked_layers(build_network("LeNet", (28, 28, 1), seed=1))
    conv = masked_layers(build_network("Conv2", (8, 8, 3), seed=1))
    assert uses_xla("auto", lenet) and not uses_xla("auto", conv)
    assert uses_xla("on", conv) and not uses_xla("off", lenet)
