"""Supermask (Zhou et al. 2019): Bernoulli masks drawn from a hash of (seed, step), their gradient, the layer's
counters, the evaluation as Zhou reported it, and exact resume."""

import json

import numpy as np
import pytest
import tensorflow as tf

import MaskTrainer
from config import ConfigError, RunConfig
from interruptions import interrupt_after
from masking import MaskedDense, get_mask_function, random_bits
from tensorboard_files import assert_events_match_logs

MASK32 = 0xFFFFFFFF


def reference_mix(value):
    """The hash of masking/random_bits.py in plain Python integers."""
    value ^= value >> 16
    value = (value * 0x7FEB352D) & MASK32
    value ^= value >> 15
    value = (value * 0x846CA68B) & MASK32
    return value ^ (value >> 16)


def reference_uniforms(parts, size):
    key = 0
    for part in parts:
        key = reference_mix((key + part) & MASK32)
    bits = [reference_mix((reference_mix((position + key) & MASK32) + key) & MASK32) for position in range(size)]
    return np.array([(value >> 8) / 2**24 for value in bits], dtype=np.float32)


def test_the_draws_are_the_documented_hash_of_seed_stream_counter_and_position():
    for parts in [(7, 0, 0), (7, 0, 1), (123456789, 1, 3), (2**31 - 2, 0, 99999)]:
        drawn = np.asarray(random_bits.uniforms(random_bits.key(*parts), (3, 5)))
        np.testing.assert_array_equal(drawn.reshape(-1), reference_uniforms(parts, 15))
        assert drawn.shape == (3, 5)


def test_the_draws_are_uniform_and_independent_across_steps():
    first = np.asarray(random_bits.uniforms(random_bits.key(5, 0, 0), (200_000,)))
    second = np.asarray(random_bits.uniforms(random_bits.key(5, 0, 1), (200_000,)))
    assert first.min() >= 0 and first.max() < 1
    assert abs(first.mean() - 0.5) < 0.003 and abs(np.mean(first < 0.1) - 0.1) < 0.003
    assert abs(np.corrcoef(first, second)[0, 1]) < 0.01
    assert abs(np.corrcoef(first[:-1], first[1:])[0, 1]) < 0.01


def test_the_mask_is_a_bernoulli_draw_of_sigmoid_score_and_the_score_gets_the_gradient_through_sigmoid():
    generator = np.random.default_rng(0)
    inputs = tf.constant(generator.normal(size=(5, 4)).astype("float32"))
    kernel = tf.constant(generator.normal(size=(4, 3)).astype("float32"))
    score = tf.Variable(generator.normal(size=(4, 3)).astype("float32"))
    uniforms = tf.constant(generator.random(size=(4, 3)).astype("float32"))
    probability = 1 / (1 + np.exp(-score.numpy()))
    expected = (uniforms.numpy() < probability).astype("float32")
    mask_values = tf.Variable(expected)

    def loss_of(values):
        return tf.reduce_sum(tf.tanh(inputs @ (kernel * values)) ** 2)

    with tf.GradientTape() as tape:
        values = get_mask_function("sample", dynamic_scaling=False)(score, uniforms)
        loss = loss_of(values)
    with tf.GradientTape() as mask_tape:
        mask_loss = loss_of(mask_values)
    np.testing.assert_array_equal(values.numpy(), expected)
    assert float(loss) == float(mask_loss)
    np.testing.assert_allclose(tape.gradient(loss, score), mask_tape.gradient(mask_loss, mask_values)
                               * probability * (1 - probability), rtol=1e-5, atol=1e-7)


def test_dynamic_scaling_multiplies_the_mask_by_size_over_ones():
    score = tf.constant([[3.0, -3.0], [0.5, -0.5]])
    uniforms = tf.constant([[0.1, 0.9], [0.2, 0.99]])  # draws 1, 0, 1, 0
    values = get_mask_function("sample", dynamic_scaling=True)(score, uniforms).numpy()
    np.testing.assert_allclose(values, [[2.0, 0.0], [2.0, 0.0]])
    nothing = get_mask_function("sample", dynamic_scaling=True)(score, tf.ones((2, 2)) * 0.9999).numpy()
    np.testing.assert_array_equal(nothing, np.zeros((2, 2)))  # no ones: divided by 1, not 0


def sampling_layer(**options):
    layer = MaskedDense(6, mask_type="sample", score_seed=11, score_initializer="zeros",
                        mask_parameters={"dynamic_scaling": False}, **options)
    layer.build((None, 4))
    return layer


def test_the_layer_draws_a_new_mask_per_training_step_and_a_fixed_one_per_evaluation_sample():
    layer = sampling_layer()
    assert np.asarray(layer.score).sum() == 0 and int(layer.evaluation_sample) == -1  # Zhou: probability 0.5
    inputs = np.ones((2, 4), "float32")
    draws = []
    for step in range(3):
        draws.append(np.asarray(layer.mask_values(training=True)))
        layer(inputs, training=True)
        assert int(layer.sample_count) == step + 1
    expected = [reference_uniforms((11, 0, step), 24).reshape(4, 6) < 0.5 for step in range(3)]
    np.testing.assert_array_equal(np.array(draws), np.array(expected, dtype="float32"))
    layer(inputs)  # inference draws nothing
    assert int(layer.sample_count) == 3
    np.testing.assert_array_equal(layer.mask_values(), np.zeros((4, 6)))  # deterministic: sigmoid(0) is not > 0.5
    layer.evaluation_sample.assign(2)
    np.testing.assert_array_equal(layer.mask_values(),
                                  (reference_uniforms((11, 1, 2), 24).reshape(4, 6) < 0.5).astype("float32"))
    layer.score.assign(np.full((4, 6), 0.3, "float32"))
    layer.evaluation_sample.assign(-1)
    np.testing.assert_array_equal(layer.mask_values(), np.ones((4, 6)))
    assert MaskedDense.from_config(layer.get_config()).get_config() == layer.get_config()


def test_its_defaults_identity_and_folder():
    config = RunConfig(traintype="Supermask").validate()
    options = config.masking_options()
    assert (config.resolved_masktype(), config.resolved_initializer()) == ("sample", "glorot")
    assert (options.score_initializer, options.mask_parameters, options.kernel_trainable) == \
        ("zeros", (("dynamic_scaling", False),), False)
    assert config.identity()["mask_samples"] == 10 and config.identity()["dynamic_scaling"] is False
    assert config.folder().endswith("Supermask/LeNet/P1_0.5/sample_relu_glorot_LR0.001")
    scaled = RunConfig.from_settings({"traintype": "Supermask", "dynamic_scaling": True, "mask_samples": 3})
    assert scaled.folder().endswith("LR0.001_samples3_dynamicscaling")
    assert scaled.validate().masking_options().mask_parameters == (("dynamic_scaling", True),)
    assert "mask_samples" not in RunConfig(traintype="FreePruning").identity()


@pytest.mark.parametrize("settings, message", [
    ({"mask_samples": 0}, "--mask-samples must be at least 1, got 0."),
    ({"masktype": "mask"}, "--traintype Supermask samples a mask of fixed weights at every step from trained "
                           "probabilities sigmoid(score), which --masktype mask cannot do: use --masktype sample or "
                           "leave --masktype out."),
])
def test_settings_that_cannot_work_are_refused_in_one_sentence(settings, message):
    with pytest.raises(ConfigError) as refusal:
        RunConfig.from_settings({"traintype": "Supermask", **settings}).validate()
    assert str(refusal.value) == message


ARGUMENTS = ["--traintype", "Supermask", "--dataset", "mnist-subset", "--limit", "200", "--batchsize", "10",
             "--maxepochs", "2", "--seed", "3", "--lr", "0.05", "--mask-samples", "3", "--tensorboard"]


def finished(folder):
    (logs_path,) = folder.rglob("*_logs.json")
    with np.load(str(logs_path).replace("_logs.json", "_final_masks.npz")) as archive:
        masks = {name: archive[name] for name in archive.files}
    return json.loads(logs_path.read_text()), masks, logs_path


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("supermask")
    assert MaskTrainer.main([*ARGUMENTS, "--outputpath", str(folder)]) == 0
    return finished(folder)


def test_a_run_logs_the_sampled_mean_and_the_deterministic_mask_beside_it(uninterrupted):
    logs, masks, logs_path = uninterrupted
    for key in ("testAccuracyDeterministic", "valAccuracyDeterministic", "testLossDeterministic"):
        assert len(logs[key]) == len(logs["testAccuracy"]) == 3
    assert logs["testAccuracyDeterministic"][0] == pytest.approx(0.1, abs=0.05)  # every score 0: no weight kept
    assert logs["testAccuracy"] != logs["testAccuracyDeterministic"]
    assert logs["trainAccuracy"][-1] > 0.3 > logs["trainAccuracy"][0]  # it learns (at the high rate of these tests)
    # The statistics and the mask file are the deterministic mask's.
    assert set(np.unique(np.concatenate([mask.ravel() for mask in masks.values()]))) <= {0.0, 1.0}
    assert logs["remainingWeights"][-1] == int(sum(mask.sum() for mask in masks.values()))
    scalars, _ = assert_events_match_logs(logs_path)
    assert [value for _, value in scalars["accuracy_deterministic/test"]] == \
        [float(np.float32(value)) for value in logs["testAccuracyDeterministic"]]


def test_ctrl_c_inside_an_epoch_resumes_to_the_uninterrupted_run(tmp_path, monkeypatch, uninterrupted):
    with monkeypatch.context() as patch:
        interrupt_after(patch, calls=4)  # 20 steps per epoch, 3 calls of 7: stops inside epoch 2
        assert MaskTrainer.main([*ARGUMENTS, "--outputpath", str(tmp_path)]) == 130
    (logs_path,) = tmp_path.rglob("*_logs.json")
    assert MaskTrainer.main(["--resume", str(logs_path)]) == 0
    logs, masks, _ = finished(tmp_path)
    expected_logs, expected_masks, _ = uninterrupted
    for key in ("trainLoss", "testLoss", "testAccuracy", "testAccuracyDeterministic", "remainingWeightsPerLayer"):
        assert logs[key] == expected_logs[key], key
    for name in expected_masks:
        np.testing.assert_array_equal(masks[name], expected_masks[name])


def test_both_exports_hold_the_deterministic_mask_and_check_against_its_logged_accuracy(uninterrupted, tmp_path):
    import Export
    from export.supermask import load_supermask
    logs, masks, logs_path = uninterrupted
    assert Export.main([str(logs_path), "--output-dir", str(tmp_path), "--check"]) == 0
    (supermask_path,) = tmp_path.glob("*supermask*")
    loaded = load_supermask(str(supermask_path))
    from masking import masked_layers
    for layer in masked_layers(loaded):
        np.testing.assert_array_equal(np.asarray(layer.mask_values()), masks[layer.name])
