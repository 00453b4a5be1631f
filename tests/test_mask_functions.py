import numpy as np
import pytest
import tensorflow as tf

from masking import MaskedDense, flip, get_mask_function, mask, mask_rs

SCORES = np.array([[-0.5, 0.0], [1e-8, 0.3]], dtype="float32")


def test_mask_is_one_only_for_positive_scores():
    np.testing.assert_array_equal(np.asarray(mask(tf.constant(SCORES))), [[0, 0], [1, 1]])


def test_mask_rs_rescales_by_size_over_one_plus_nonzero():
    # 4 entries, 2 nonzero: 4 / (1 + 2)
    np.testing.assert_array_equal(np.asarray(mask_rs(tf.constant(SCORES))),
                                  np.array([[0, 0], [4 / 3, 4 / 3]], dtype="float32"))


def test_flip_is_the_sign_and_zero_for_a_zero_score():
    np.testing.assert_array_equal(np.asarray(flip(tf.constant(SCORES))), [[-1, 0], [1, 1]])


def test_unknown_mask_type_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="mask, mask_rs, flip"):
        get_mask_function("sigmoid")


@pytest.mark.parametrize("function", [mask, mask_rs, flip])
def test_score_gradient_is_the_gradient_at_the_mask_value(function):
    generator = np.random.default_rng(0)
    inputs = tf.constant(generator.normal(size=(5, 4)).astype("float32"))
    kernel = tf.constant(generator.normal(size=(4, 3)).astype("float32"))
    score = tf.Variable(generator.uniform(-1, 1, size=(4, 3)).astype("float32"))

    def loss_of(mask_values):
        return tf.reduce_sum(tf.tanh(inputs @ (kernel * mask_values)) ** 2)

    with tf.GradientTape() as tape:
        score_loss = loss_of(function(score))
    score_gradient = tape.gradient(score_loss, score)

    mask_value = tf.Variable(function(score))  # the same forward value, as a plain variable
    with tf.GradientTape() as tape:
        mask_loss = loss_of(mask_value)
    mask_gradient = tape.gradient(mask_loss, mask_value)

    assert float(score_loss) == float(mask_loss)
    np.testing.assert_array_equal(score_gradient.numpy(), mask_gradient.numpy())
    # and by hand: d/dm sum(tanh(x (W*m))^2) = W * (x^T (2 tanh(z) (1 - tanh(z)^2)))
    z = inputs.numpy() @ (kernel.numpy() * mask_value.numpy())
    by_hand = kernel.numpy() * (inputs.numpy().T @ (2 * np.tanh(z) * (1 - np.tanh(z) ** 2)))
    np.testing.assert_allclose(score_gradient.numpy(), by_hand, rtol=1e-5, atol=1e-6)


def test_mask_rs_scaling_is_per_layer():
    layer = MaskedDense(10, mask_type="mask_rs", score_seed=3)
    layer.build((None, 20))
    score = layer.score.numpy()
    score[:7, :] = -1.0  # 70 of the 200 entries off, 130 on
    layer.score.assign(score)
    values = np.asarray(layer.mask_values())
    assert np.all(values[:7] == 0)
    np.testing.assert_allclose(values[7:], 200 / (1 + 130), rtol=1e-6)


def test_every_declared_mask_function_names_a_function_that_exists():
    """The records name their functions in masking/functions.py: a renamed function fails here, not in a run."""
    from masking import functions
    from masking.declarations import MASK_FUNCTIONS
    for record in MASK_FUNCTIONS.values():
        assert callable(getattr(functions, record.function)), record.name
        assert (record.deterministic is not None) == record.sampled, record.name
        if record.sampled:
            assert callable(getattr(functions, record.deterministic)), record.name
