"""What each method trains, checked on a few compiled training steps over tiny random data."""

import keras
import numpy as np
import pytest

from masking import masked_layers
from methods import METHODS, get_method
from networks import build_network
from training.batches import epoch_batches
from training.compiled_steps import compiled_steps

IMAGES = np.random.default_rng(0).normal(size=(60, 28, 28, 1)).astype("float32")
LABELS = np.random.default_rng(1).integers(0, 10, size=60).astype("int32")


def trained(traintype, steps=6, masktype=None):
    method = get_method(traintype)
    model = build_network("LeNet", (28, 28, 1), seed=3,
                          masking=method.masking_options(masktype or method.default_masktype))
    layers = masked_layers(model)
    before = {name: [np.asarray(v).copy() for v in (layer.kernel, layer.score)]
              for name, layer in ((layer.name, layer) for layer in layers)}
    compiled = compiled_steps(model, keras.optimizers.Adam(0.01), IMAGES, LABELS, layers)
    indices, weights = epoch_batches(np.random.default_rng(0), len(IMAGES), 10)
    compiled.train_range(indices, weights, 0, steps)
    return layers, before


def test_baseline_trains_kernels_and_keeps_the_mask_all_ones():
    layers, before = trained("Baseline")
    for layer in layers:
        np.testing.assert_array_equal(np.asarray(layer.mask_values()), 1.0)
        np.testing.assert_array_equal(np.asarray(layer.score), before[layer.name][1])
        assert not np.array_equal(np.asarray(layer.kernel), before[layer.name][0])


@pytest.mark.parametrize("traintype", ["FreePruning", "MinPruning", "FreeFlipping", "MinFlipping"])
def test_connectivity_methods_keep_kernels_bit_for_bit_and_train_scores(traintype):
    layers, before = trained(traintype)
    for layer in layers:
        np.testing.assert_array_equal(np.asarray(layer.kernel), before[layer.name][0])
        assert not np.array_equal(np.asarray(layer.score), before[layer.name][1])


def test_free_pruning_switches_some_connections_off_and_flipping_flips_some_signs():
    layers, _ = trained("FreePruning", steps=6)
    assert sum(int(np.sum(np.asarray(layer.mask_values()) == 0)) for layer in layers) > 0
    layers, _ = trained("FreeFlipping", steps=6)
    assert sum(int(np.sum(np.asarray(layer.mask_values()) < 0)) for layer in layers) > 0


def loss_with_extra_terms(model, images, labels):
    probabilities = model(images)
    cross_entropy = float(np.mean(keras.losses.sparse_categorical_crossentropy(labels, probabilities)))
    return cross_entropy, float(sum(np.asarray(term) for term in model.losses))


def test_min_pruning_loss_includes_alpha_times_mean_mask_and_follows_the_scores():
    method = METHODS["MinPruning"]
    assert method.alpha == -1.0 and METHODS["FreePruning"].alpha == 0.0
    model = build_network("LeNet", (28, 28, 1), seed=3, masking=method.masking_options("mask"))
    layers = masked_layers(model)
    _, extra = loss_with_extra_terms(model, IMAGES[:10], LABELS[:10])
    assert extra == pytest.approx(-3.0)  # three layers, every mask value 1 at the start

    score = np.asarray(layers[0].score).copy()
    score[: score.shape[0] // 4] = -1.0  # a quarter of the first layer off
    layers[0].score.assign(score)
    _, extra = loss_with_extra_terms(model, IMAGES[:10], LABELS[:10])
    assert extra == pytest.approx(-2.75)

    compiled = compiled_steps(model, keras.optimizers.Adam(0.01), IMAGES, LABELS, layers)
    loss, _ = compiled.evaluate(IMAGES[:10], LABELS[:10])
    cross_entropy, _ = loss_with_extra_terms(model, IMAGES[:10], LABELS[:10])
    assert loss == pytest.approx(cross_entropy - 2.75, rel=1e-5)


def test_min_term_pushes_every_score_up_by_alpha_over_size():
    import tensorflow as tf
    model = build_network("LeNet", (28, 28, 1), seed=3, masking=METHODS["MinPruning"].masking_options("mask"))
    layer = masked_layers(model)[2]
    with tf.GradientTape() as tape:
        model(IMAGES[:1])
        extra = model.losses[2]
    gradient = tape.gradient(extra, layer.score)
    np.testing.assert_allclose(np.asarray(gradient), -1.0 / 1000, rtol=1e-6)


def test_partial_last_batch_is_padded_with_zero_weights():
    indices, weights = epoch_batches(np.random.default_rng(0), 23, 10)
    assert indices.shape == (3, 10) and weights.sum() == 23
    assert sorted(indices.ravel()[:23]) == list(range(23))
    np.testing.assert_array_equal(weights[2], [1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
