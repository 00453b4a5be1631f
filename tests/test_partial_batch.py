"""The padded last step of an epoch updates the network exactly as its partial batch would on its own,
BatchNorm's statistics included (the ResNets train that step on its real examples alone).

`training.batches.epoch_batches` pads the last, partial batch of an epoch to full size with weight-0
examples so that the compiled steps keep one static shape. Users rely on the padding changing nothing: the
update and the reported loss of that step must be those of the real examples alone. Here the first
(full) steps run identically in two copies of a network; then the last step runs padded in one copy and
by hand, on the real examples only, with a GradientTape and `optimizer.apply`, in the other. Adam has
history by then, so even a wrongly scaled gradient would change the update.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from datasets import load_dataset
from masking import masked_layers
from methods import METHODS
from networks import build_network
from training.batches import epoch_batches
from training.compiled_steps import compiled_steps

TRAINING_EXAMPLES = 23
BATCH_SIZE = 10  # 23 = 10 + 10 + 3: the last batch has 3 real examples and 7 padded ones
REAL_IN_LAST_BATCH = TRAINING_EXAMPLES % BATCH_SIZE


@pytest.fixture(scope="module")
def training_data():
    dataset = load_dataset("mnist-subset", "mnist", limit=TRAINING_EXAMPLES)
    assert len(dataset.x_train) == TRAINING_EXAMPLES
    return dataset.x_train, dataset.y_train


def network_and_steps(nettype, traintype, x_train, y_train):
    method = METHODS[traintype]
    model = build_network(nettype, x_train.shape[1:], seed=3,
                          masking=method.masking_options(method.default_masktype))
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    steps = compiled_steps(model, optimizer, x_train, y_train, masked_layers(model), jit_compile=False)
    return model, optimizer, steps


def values(variables):
    return [np.array(variable) for variable in variables]


def assert_all_close(actual, expected, rtol):
    """Equal to rtol, elements near zero to rtol of the array's largest magnitude: graph and eager sums of one
    gradient differ in the last float32 bits, which is a large relative error for a tiny entry."""
    assert len(actual) == len(expected)
    for actual_value, expected_value in zip(actual, expected):
        scale = float(np.max(np.abs(expected_value), initial=0.0))
        np.testing.assert_allclose(actual_value, expected_value, rtol=rtol, atol=rtol * scale + 1e-12)


def assert_same_changes(starts, actual_ends, expected_ends):
    """The steps' changes agree to 1e-4, give or take a few float32 steps of the variable's own size and a
    ten-thousandth of the variable's largest change (graph and eager gradients through a deep network round
    apart, and Adam divides tiny gradients by their own tiny scale)."""
    for start, actual_end, expected_end in zip(starts, actual_ends, expected_ends, strict=True):
        actual, expected = actual_end - start, expected_end - start
        tolerance = 1e-4 * np.abs(expected) + 4 * np.spacing(np.abs(start)) + 1e-4 * np.abs(expected).max()
        worst = np.abs(actual - expected) - tolerance
        assert (worst <= 0).all(), (f"changes differ by up to {worst.max():.3g} beyond the tolerance, "
                                    f"{np.abs(actual - expected).max() / np.abs(expected).max():.3g} of the largest "
                                    "change")


def step_by_hand(model, optimizer, images, labels):
    """One Adam step on exactly these examples; returns the loss (mean cross-entropy + model.losses)."""
    with tf.GradientTape() as tape:
        probabilities = model(images, training=True)
        loss = tf.reduce_mean(keras.losses.sparse_categorical_crossentropy(labels, probabilities))
        if model.losses:
            loss += tf.add_n(model.losses)
    optimizer.apply(tape.gradient(loss, model.trainable_variables), model.trainable_variables)
    return float(loss)


# ResNet8: BatchNorm's batch statistics and moving statistics must see the 3 real examples alone.
@pytest.mark.parametrize("nettype, traintype", [("LeNet", "Baseline"), ("LeNet", "FreePruning"),
                                                ("LeNet", "MinPruning"), ("LeNet5", "FreeFlipping"),
                                                ("ResNet8", "FreePruning"), ("ResNet8", "Baseline")])
def test_padded_last_step_equals_the_partial_batch_on_its_own(training_data, nettype, traintype):
    x_train, y_train = training_data
    padded_model, padded_optimizer, padded_steps = network_and_steps(nettype, traintype, x_train, y_train)
    own_model, own_optimizer, own_steps = network_and_steps(nettype, traintype, x_train, y_train)
    indices, weights = epoch_batches(np.random.default_rng(7), TRAINING_EXAMPLES, BATCH_SIZE)
    last = len(indices) - 1
    assert weights[last].sum() == REAL_IN_LAST_BATCH and weights[:last].min() == 1.0

    # The full steps: both copies reach the same state, Adam with two steps of history.
    padded_steps.train_steps(indices, weights, 0, last)
    own_steps.train_steps(indices, weights, 0, last)
    assert_all_close(values(own_model.variables), values(padded_model.variables), rtol=0)
    before = values(padded_model.trainable_variables)

    (padded_loss,), _ = padded_steps.train_steps(indices, weights, last, last + 1)
    real = indices[last][:REAL_IN_LAST_BATCH]
    own_loss = step_by_hand(own_model, own_optimizer, tf.gather(x_train, real), tf.gather(y_train, real))

    assert padded_loss == pytest.approx(own_loss, rel=1e-6)
    after = values(padded_model.trainable_variables)
    assert any(np.abs(end - start).max() > 1e-5 for start, end in zip(before, after))  # the step moved it
    assert_same_changes(before, after, values(own_model.trainable_variables))
    assert_all_close(values(padded_model.variables), values(own_model.variables), rtol=1e-6)
    assert_all_close(values(padded_optimizer.variables), values(own_optimizer.variables), rtol=1e-5)


def test_padding_uses_weight_zero_and_covers_every_example_once():
    indices, weights = epoch_batches(np.random.default_rng(7), TRAINING_EXAMPLES, BATCH_SIZE)
    assert indices.shape == weights.shape == (3, BATCH_SIZE)
    real = indices[weights == 1.0]
    assert sorted(real.tolist()) == list(range(TRAINING_EXAMPLES))
    assert (weights[-1, REAL_IN_LAST_BATCH:] == 0).all()
