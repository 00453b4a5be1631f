import os

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


# The field's networks against their reference implementations' parameter counts. Those count biases (each
# convolution's and the output layer's, in PyTorch's default layers) and BatchNorm's scale and offset; the networks
# here have no biases, so: reference = masked weights + BatchNorm's scales and offsets + the biases.
FIELD_REFERENCES = {
    # hidden-networks models/frankle.py Conv8, as Zhou et al. 2019 and Ramanujan et al. 2020: 8 convolutions, 3 dense
    # layers, no biases there either (its builder's conv3x3 and conv1x1 have none).
    "Conv8": dict(weights=5_275_840, batchnorm=0, biases=0, reference=5_275_840),
    # Synaptic-Flow Models/lottery_vgg.py vgg16_bn (from open_lth): 13 convolutions with biases, BatchNorm after
    # each, Linear(512, 10) with bias; sum(p.numel() for p in vgg16_bn(..., 10).parameters()) = 14,728,266.
    "VGG16": dict(weights=14_715_584, batchnorm=8_448, biases=4_224 + 10, reference=14_728_266),
    # hidden-networks models/resnet_cifar.py cResNet18 (kuangliu's pytorch-cifar ResNet18, the 11,173,962 parameters
    # it is known by): convolutions without biases, BatchNorm after each and after the projections, Linear(512, 10).
    "ResNet18": dict(weights=11_164_352, batchnorm=9_600, biases=10, reference=11_173_962),
}


@pytest.mark.parametrize("nettype", sorted(FIELD_REFERENCES))
def test_the_field_networks_have_the_reference_implementations_parameters(nettype):
    counts = FIELD_REFERENCES[nettype]
    model = build_network(nettype, CIFAR_SHAPE, seed=1)
    weights = sum(int(np.prod(layer.kernel.shape)) for layer in masked_layers(model))
    affine = sum(int(np.prod(variable.shape)) for variable in model.trainable_variables
                 if variable.path.endswith(("/gamma", "/beta")))
    assert (weights, affine) == (counts["weights"], counts["batchnorm"])
    assert weights + affine + counts["biases"] == counts["reference"]
    assert model.output_shape == (None, 10)


def test_the_registry_says_what_each_network_is():
    from networks import network_entry
    assert set(NETWORK_NAMES) >= {"LeNet", "Conv2", "Conv4", "Conv6", "Conv8", "VGG16", "ResNet18"}
    for name in NETWORK_NAMES:
        entry = network_entry(name)
        model = build_network(name, CIFAR_SHAPE, seed=1)
        has_batchnorm = any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
        has_convolutions = any(isinstance(layer, MaskedConv2D) for layer in model.layers)
        assert (entry.has_batchnorm, entry.has_convolutions) == (has_batchnorm, has_convolutions), name
        assert entry.weight_layer_count() == len(masked_layers(model)), name
        keras.backend.clear_session()


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
        build_network("ResNet19", (28, 28, 1))
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


def pooling_gradient(layer, images, xla):
    """d(sum(pooled * weights))/d(images), compiled with or without XLA."""
    import tensorflow as tf
    weights = tf.constant(np.arange(1, 1 + np.prod(layer.compute_output_shape(images.shape)[1:]), dtype="float32")
                          .reshape(layer.compute_output_shape(images.shape)[1:]))

    def gradient(inputs):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            total = tf.reduce_sum(layer(inputs) * weights)
        return tape.gradient(total, inputs)
    return np.asarray(tf.function(gradient, jit_compile=xla)(tf.constant(images)))


@pytest.mark.parametrize("size", [8, 7])
def test_both_poolings_give_keras_max_pooling_values_and_gradients_ties_included(size):
    from networks.pooling import MaxPool2x2, max_pooling_layer
    images = np.random.default_rng(3).normal(size=(2, size, size, 3)).astype("float32")
    images[0, :2, :2, 0] = 1.5  # a window of four equal maxima
    images[1, 2:4, 2:4, 1] = [[-1.0, 2.0], [2.0, 2.0]]  # three equal maxima, not the first element
    images[1, 4:6, 0:2, 2] = [[0.0, -1.0], [0.0, 0.0]]  # ReLU-like zero ties
    reference = keras.layers.MaxPooling2D(2)
    assert isinstance(max_pooling_layer("pool", xla=False), keras.layers.MaxPooling2D)
    assert isinstance(max_pooling_layer("pool", xla=True), MaxPool2x2)
    np.testing.assert_array_equal(np.asarray(MaxPool2x2()(images)), np.asarray(reference(images)))
    expected = pooling_gradient(reference, images, xla=False)
    assert expected[0, 0, 0, 0] == 1.0 and expected[0, 0, 1, 0] == expected[0, 1, 0, 0] == 0.0  # first max wins
    np.testing.assert_array_equal(pooling_gradient(MaxPool2x2(), images, xla=True), expected)
    np.testing.assert_array_equal(pooling_gradient(MaxPool2x2(), images, xla=False), expected)


def test_a_network_saved_before_the_pooling_change_loads_with_the_same_outputs():
    """tests/data/lenet5_saved_before_pooling_change.keras: LeNet5 (12x12 input, seed 4) saved by the version
    whose MaxPool2x2 was a reshape and a max, with the outputs it gave then, on another CPU: TensorFlow's kernels
    round differently by instruction set (an AMD EPYC with AVX2 but no AVX-512 gave outputs 2.5e-7 apart, 2026-12-07),
    so the outputs agree to float32 rounding, not bit for bit. A weight loaded into the wrong place, or pooling that
    took other maxima, changes them by orders of magnitude more."""
    folder = os.path.join(os.path.dirname(__file__), "data")
    saved = np.load(os.path.join(folder, "lenet5_saved_before_pooling_change.npz"))
    model = keras.models.load_model(os.path.join(folder, "lenet5_saved_before_pooling_change.keras"))
    np.testing.assert_allclose(np.asarray(model(saved["images"])), saved["outputs"], rtol=1e-5, atol=1e-6)


def test_networks_compiled_without_xla_use_keras_pooling_and_give_the_same_outputs():
    images = np.random.default_rng(5).normal(size=(3, 16, 16, 3)).astype("float32")
    plain = build_network("Conv4", (16, 16, 3), seed=2, xla=False)
    compiled = build_network("Conv4", (16, 16, 3), seed=2, xla=True)
    assert {type(layer).__name__ for layer in plain.layers if "pool" in layer.name} == {"MaxPooling2D"}
    assert {type(layer).__name__ for layer in compiled.layers if "pool" in layer.name} == {"MaxPool2x2"}
    np.testing.assert_array_equal(np.asarray(plain(images)), np.asarray(compiled(images)))


def test_lenet5_has_the_lottery_ticket_shape():
    model = build_network("LeNet5", (28, 28, 1), seed=1)
    shapes = [tuple(layer.kernel.shape) for layer in masked_layers(model)]
    assert shapes == [(5, 5, 1, 6), (5, 5, 6, 16), (400, 120), (120, 84), (84, 10)]
    assert sum(int(np.prod(shape)) for shape in shapes) == 61_470


def test_xla_is_used_by_default_only_without_convolutions():
    from networks import uses_xla
    assert uses_xla("auto", "LeNet") and not any(uses_xla("auto", net) for net in ("Conv2", "Conv6", "LeNet5"))
    assert uses_xla("on", "Conv2") and not uses_xla("off", "LeNet")
