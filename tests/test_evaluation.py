"""Evaluation: the mean loss and accuracy of a whole split, in padded batches of a size chosen for speed."""

import keras
import numpy as np
import pytest

from masking import masked_layers
from methods.registry import METHODS
from networks import build_network
from training import compiled_steps as training_steps
from training.steps import EVALUATION_BATCH_SIZE

RANDOM = np.random.default_rng(11)
IMAGES = RANDOM.normal(size=(53, 8, 8, 3)).astype("float32")
LABELS = RANDOM.integers(0, 10, 53).astype("int32")


def compiled_steps(nettype="Conv2", traintype="FreePruning", input_shape=(8, 8, 3)):
    model = build_network(nettype, input_shape, seed=2, masking=METHODS[traintype].masking_options("mask"))
    return model, training_steps.compiled_steps(model, keras.optimizers.Adam(1e-3), IMAGES, LABELS,
                                                masked_layers(model), jit_compile=False)


def expected_loss_and_accuracy(model, images, labels):
    probabilities = np.asarray(model(images, training=False))
    cross_entropy = np.asarray(keras.losses.sparse_categorical_crossentropy(labels, probabilities), dtype=np.float64)
    extra = float(sum(np.asarray(term) for term in model.losses))
    return cross_entropy.mean() + extra, float(np.mean(np.argmax(probabilities, axis=1) == labels))


@pytest.mark.parametrize("traintype", ["FreePruning", "MinPruning"])
def test_evaluation_is_the_mean_over_every_example_once_padding_left_out(traintype):
    model, steps = compiled_steps(traintype=traintype)
    expected_loss, expected_accuracy = expected_loss_and_accuracy(model, IMAGES, LABELS)
    loss, accuracy = steps.evaluate(IMAGES, LABELS, batch_size=20)  # batches of 20, 20 and 13 (+7 padding)
    assert accuracy == expected_accuracy
    assert loss == pytest.approx(expected_loss, rel=1e-6)
    if traintype == "MinPruning":
        assert expected_loss < 0  # the -1 * mean(mask) term of each of the five layers is in, once


def test_the_batch_size_does_not_change_the_accuracy_and_the_loss_only_in_rounding():
    _, steps = compiled_steps()
    results = [steps.evaluate(IMAGES, LABELS, batch_size=size) for size in (1, 7, 25, 53, 200)]
    assert len({accuracy for _, accuracy in results}) == 1
    losses = [loss for loss, _ in results]
    assert max(losses) - min(losses) <= 1e-6 * abs(losses[0])


def test_networks_are_evaluated_in_the_batch_size_measured_fastest_for_them():
    _, conv = compiled_steps()
    _, dense = compiled_steps("LeNet", input_shape=(8, 8, 3))
    assert conv.evaluation_batch_size == EVALUATION_BATCH_SIZE["conv"]
    assert dense.evaluation_batch_size == EVALUATION_BATCH_SIZE["dense"]


def test_under_xla_a_conv_network_steps_from_python_and_trains_as_the_compiled_loop_does():
    from training.batches import epoch_batches
    results = {}
    for in_python in (True, False):
        keras.utils.set_random_seed(2)
        model = build_network("Conv2", (8, 8, 3), seed=2, xla=True)
        steps = training_steps.compiled_steps(model, keras.optimizers.Adam(1e-3), IMAGES, LABELS, masked_layers(model),
                              jit_compile=True)
        assert steps.steps_in_python  # XLA + convolutions: the ~100x slower in-graph loop is avoided
        steps.steps_in_python = in_python
        indices, weights = epoch_batches(np.random.default_rng(1), len(IMAGES), 10)  # 6 steps, the last one padded
        losses, correct = steps.train_steps(indices, weights, 0, len(indices))
        results[in_python] = losses, correct, [np.asarray(layer.score) for layer in masked_layers(model)]
    np.testing.assert_allclose(results[True][0], results[False][0], rtol=1e-5)
    np.testing.assert_array_equal(results[True][1], results[False][1])
    for python_scores, loop_scores in zip(results[True][2], results[False][2]):
        np.testing.assert_allclose(python_scores, loop_scores, rtol=1e-5, atol=1e-7)
