import math

import keras
import numpy as np
import pytest

from initializers import INITIALIZERS, get_initializer
from masking import masked_layers
from networks import NETWORKS, assemble_network, build_network, layer_seeds, network_entry
from networks.factories import MaskedLayers
from networks.input_scale import InputScale


@pytest.mark.parametrize("shape", [(784, 300), (3, 3, 64, 128)])
def test_heconstant_magnitude_is_exactly_sqrt_two_over_fan_in(shape):
    values = np.asarray(get_initializer("heconstant", seed=7, p1=0.5)(shape))
    fan_in = math.prod(shape[:-1])
    np.testing.assert_array_equal(np.abs(values), np.float32(math.sqrt(2 / fan_in)))


@pytest.mark.parametrize("p1", [0.1, 0.5, 0.9])
@pytest.mark.parametrize("name", ["heconstant", "binary"])
def test_fraction_of_positive_signs_is_close_to_p1(name, p1):
    values = np.asarray(get_initializer(name, seed=11, p1=p1)((784, 300)))
    assert abs(np.mean(values > 0) - p1) < 0.005


def test_binary_values_are_plus_and_minus_one():
    values = np.asarray(get_initializer("binary", seed=2, p1=0.3)((100, 10)))
    assert set(np.unique(values)) == {-1.0, 1.0}


@pytest.mark.parametrize("name", list(INITIALIZERS))
def test_same_seed_same_values_different_seed_different_values(name):
    first = np.asarray(get_initializer(name, seed=5)((30, 20)))
    again = np.asarray(get_initializer(name, seed=5)((30, 20)))
    other = np.asarray(get_initializer(name, seed=6)((30, 20)))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_he_and_glorot_have_their_standard_deviations():
    he = np.asarray(get_initializer("he", seed=1)((784, 300)))
    glorot = np.asarray(get_initializer("glorot", seed=1)((784, 300)))
    assert abs(he.std() / math.sqrt(2 / 784) - 1) < 0.02
    assert abs(glorot.std() / math.sqrt(2 / (784 + 300)) - 1) < 0.02


def test_unknown_initializer_is_refused():
    with pytest.raises(ValueError, match="glorot, he, heconstant, binary"):
        get_initializer("orthogonal", seed=1)


def test_invalid_p1_is_refused():
    with pytest.raises(ValueError, match="p1"):
        get_initializer("heconstant", seed=1, p1=1.5)


def test_binary_network_scales_its_input_by_the_reference_constant():
    model = build_network("LeNet", (28, 28, 1), initializer="binary", seed=3)
    assert model.get_layer("binary_input_scale").scale == network_entry("LeNet").binary_input_scale
    scales = {name: entry.binary_input_scale for name, entry in NETWORKS.items() if entry.binary_input_scale}
    assert scales == {"LeNet": 5.942073791483592e-4, "Conv2": 1.384305440187043e-6,
                      "Conv4": 4.806616356300754e-9, "Conv6": 8.344820201940066e-12}


@pytest.mark.parametrize("initializer", ["he", "heconstant"])
def test_network_kernels_and_scores_depend_only_on_the_seed(initializer):
    def weights(seed):
        layers = masked_layers(build_network("LeNet", (28, 28, 1), initializer=initializer, seed=seed))
        return [np.asarray(v) for layer in layers for v in (layer.kernel, layer.score)]

    first, again, other = weights(42), weights(42), weights(43)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert all(not np.array_equal(a, c) for a, c in zip(first, other))


def test_scores_start_uniform_between_0_01_and_0_1():
    layers = masked_layers(build_network("LeNet", (28, 28, 1), seed=9))
    scores = np.concatenate([np.asarray(layer.score).ravel() for layer in layers])
    assert scores.min() >= 0.01 and scores.max() <= 0.1
    assert abs(scores.mean() - 0.055) < 0.001


class RescalingLayers(MaskedLayers):
    """MaskedLayers with Keras' own Rescaling as the input scale, which InputScale must match bit for bit."""

    def input_scale(self, scale, *, name):
        return keras.layers.Rescaling(scale, name=name)


@pytest.mark.parametrize("nettype, input_shape", [("LeNet", (28, 28, 1)), ("Conv2", (8, 8, 3))])
def test_binary_input_scale_trains_as_keras_rescaling_did_bit_for_bit(nettype, input_shape):
    import tensorflow as tf

    def outputs_and_gradients(layers):
        model = assemble_network(nettype, input_shape, 10, layers, initializer="binary")

        @tf.function
        def step(images):
            with tf.GradientTape() as tape:
                probabilities = model(images, training=True)
                loss = tf.reduce_sum(probabilities * tf.range(10, dtype="float32"))
            return probabilities, tape.gradient(loss, model.trainable_variables)
        return step(images)

    images = np.random.default_rng(4).normal(size=(3, *input_shape)).astype("float32")
    seeds = layer_seeds(8, 5)
    scaled = outputs_and_gradients(MaskedLayers(seeds, "binary"))
    rescaled = outputs_and_gradients(RescalingLayers(seeds, "binary"))
    assert np.asarray(scaled[0]).std() > 0 and all(np.abs(np.asarray(g)).max() > 0 for g in scaled[1])
    for ours, keras_own in zip(tf.nest.flatten(scaled), tf.nest.flatten(rescaled), strict=True):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(keras_own))


def test_binary_network_with_its_input_scale_reloads_with_the_same_outputs(tmp_path):
    model = build_network("Conv2", (8, 8, 3), initializer="binary", seed=6)
    model.save(tmp_path / "binary.keras")
    loaded = keras.saving.load_model(tmp_path / "binary.keras")
    assert isinstance(loaded.get_layer("binary_input_scale"), InputScale)
    assert loaded.get_layer("binary_input_scale").scale == network_entry("Conv2").binary_input_scale
    images = np.random.default_rng(7).normal(size=(2, 8, 8, 3)).astype("float32")
    np.testing.assert_array_equal(np.asarray(loaded(images)), np.asarray(model(images)))
