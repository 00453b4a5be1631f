"""EdgePopup (Ramanujan et al. 2020): the top-k mask of |score| per layer, its gradient, its scores' and weights'
initialisation, and its settings."""

import math

import numpy as np
import pytest
import tensorflow as tf

from config import ConfigError, RunConfig
from masking import MaskedConv2D, MaskedDense, get_mask_function
from masking.functions import kept_count


def top_k(scores, keep_fraction):
    return np.asarray(get_mask_function("topk", keep_fraction=keep_fraction)(tf.constant(scores)))


def test_the_mask_keeps_the_largest_magnitudes_and_of_equal_ones_the_first():
    scores = np.array([[0.3, -0.3, 0.1], [-0.5, 0.3, 0.0]], dtype="float32")
    # |score| 0.3 0.3 0.1 / 0.5 0.3 0.0: keep 6 - int(0.5 * 6) = 3: the 0.5, then the first two of the three 0.3.
    np.testing.assert_array_equal(top_k(scores, 0.5), [[1, 1, 0], [1, 0, 0]])
    np.testing.assert_array_equal(top_k(scores, 1.0), np.ones((2, 3)))
    np.testing.assert_array_equal(top_k(scores, 0.01), [[0, 0, 0], [1, 0, 0]])  # at least one entry stays


@pytest.mark.parametrize("size, keep_fraction", [(784 * 300, 0.5), (300 * 100, 0.3), (100 * 10, 0.7), (27, 0.1),
                                                 (1000, 0.999)])
def test_a_layer_keeps_exactly_hidden_networks_count(size, keep_fraction):
    scores = np.random.default_rng(size).normal(size=(size,)).astype("float32")
    scores[: size // 3] = scores[0]  # many ties
    kept = top_k(scores, keep_fraction)
    assert kept.sum() == kept_count(size, keep_fraction) == size - int((1 - keep_fraction) * size)
    assert set(np.unique(kept)) <= {0.0, 1.0}


def test_the_scores_get_the_gradient_at_the_mask_times_the_sign_of_the_score():
    generator = np.random.default_rng(0)
    inputs = tf.constant(generator.normal(size=(5, 4)).astype("float32"))
    kernel = tf.constant(generator.normal(size=(4, 3)).astype("float32"))
    score = tf.Variable(generator.uniform(-1, 1, size=(4, 3)).astype("float32"))
    mask_values = tf.Variable(top_k(score.numpy(), 0.5))

    def loss_of(values):
        return tf.reduce_sum(tf.tanh(inputs @ (kernel * values)) ** 2)

    with tf.GradientTape() as tape:
        loss = loss_of(get_mask_function("topk", keep_fraction=0.5)(score))
    with tf.GradientTape() as mask_tape:
        mask_loss = loss_of(mask_values)
    assert float(loss) == float(mask_loss)
    np.testing.assert_allclose(tape.gradient(loss, score), mask_tape.gradient(mask_loss, mask_values)
                               * np.sign(score.numpy()), rtol=1e-6)


def test_scores_start_kaiming_uniform_and_weights_signed_constant_scaled_by_the_kept_fraction():
    config = RunConfig.from_settings({"traintype": "EdgePopup", "keep_fraction": 0.3, "scale_fan": True})
    options = config.validate().masking_options()
    assert (options.mask_type, options.mask_parameters, options.score_initializer, options.fan_scale) == \
        ("topk", (("keep_fraction", 0.3),), "kaiming_uniform", 0.3)
    from initializers import get_initializer
    layer = MaskedConv2D(8, 3, kernel_initializer=get_initializer(config.resolved_initializer(), 1, 0.5, 0.3),
                         score_seed=2, **options.layer_arguments())
    layer.build((None, 6, 6, 4))
    fan_in = 3 * 3 * 4
    score = np.asarray(layer.score)
    assert np.abs(score).max() <= 1 / math.sqrt(fan_in) and np.abs(score).max() > 0.8 / math.sqrt(fan_in)
    np.testing.assert_allclose(np.abs(np.asarray(layer.kernel)), math.sqrt(2 / (0.3 * fan_in)), rtol=1e-6)
    assert np.asarray(layer(np.ones((1, 6, 6, 4), "float32"))).shape == (1, 6, 6, 8)
    dense = MaskedDense(5, score_seed=3, **options.layer_arguments())
    dense.build((None, 20))
    assert np.asarray(dense.mask_values()).sum() == kept_count(100, 0.3)
    assert MaskedDense.from_config(dense.get_config()).get_config() == dense.get_config()


def test_its_defaults_identity_and_folder():
    config = RunConfig(traintype="EdgePopup").validate()
    assert (config.resolved_masktype(), config.resolved_initializer()) == ("topk", "heconstant")
    assert config.identity()["keep_fraction"] == 0.5 and config.identity()["scale_fan"] is False
    assert config.folder().endswith("EdgePopup/LeNet/P1_0.5/topk_relu_heconstant_LR0.001_K0.5")
    assert "keep_fraction" not in RunConfig(traintype="FreePruning").identity()


@pytest.mark.parametrize("settings, message", [
    ({"keep_fraction": 0.0}, "--keep-fraction is the fraction of each layer's weights kept and must lie in (0, 1], "
                             "got 0.0."),
    ({"keep_fraction": 1.5}, "--keep-fraction is the fraction of each layer's weights kept and must lie in (0, 1], "
                             "got 1.5."),
    ({"scale_fan": True, "initializer": "glorot"}, "--scale-fan does nothing for --initializer glorot (it is a setting "
                                                   "of --initializer he or heconstant): leave it out."),
    ({"masktype": "mask"}, "--traintype EdgePopup keeps the given fraction of each layer's fixed weights, those of "
                           "largest |score| (edge-popup), which --masktype mask cannot do: use --masktype topk or "
                           "leave --masktype out."),
])
def test_settings_that_cannot_work_are_refused_in_one_sentence(settings, message):
    with pytest.raises(ConfigError) as refusal:
        RunConfig.from_settings({"traintype": "EdgePopup", **settings}).validate()
    assert str(refusal.value) == message


def test_keep_fraction_is_left_out_of_the_other_connectivity_methods_in_a_grid_and_refused_elsewhere():
    # A grid may cross the connectivity methods with --keep-fraction (the command line refuses it for FreePruning:
    # tests/test_flags_apply.py); FreePruning's runs neither store it nor split apart by it.
    with_flag = RunConfig.from_settings({"traintype": "FreePruning", "keep_fraction": 0.3}, strict=False)
    assert with_flag.identity() == RunConfig().identity() and with_flag.masking_options().mask_parameters == ()
    with pytest.raises(ConfigError) as refusal:
        RunConfig.from_settings({"traintype": "RandomPruning", "keep_fraction": 0.3})
    assert str(refusal.value) == ("--keep-fraction does nothing for --traintype RandomPruning (it is a setting of "
                                  "--traintype EdgePopup): leave it out.")
