"""--optimizer, --momentum, --weight-decay and --lr-schedule: PyTorch's update rules, the cosine schedule, and
what they mean for a run (its identity, folder, refusals)."""

import math

import numpy as np
import pytest

from config import ConfigError, RunConfig
from training.optimizers import build_optimizer
from training.schedule import learning_rate_at

RATES = (0.1, 0.05, 0.02, 0.01)  # changing between steps, as under a schedule


def steps_of(optimizer, initial, gradients):
    import keras
    variable = keras.Variable(initial.copy())
    for gradient, rate in zip(gradients, RATES):
        optimizer.learning_rate.assign(rate)
        optimizer.apply([gradient], [variable])
    return np.asarray(variable)


def problem():
    generator = np.random.default_rng(0)
    initial = generator.normal(size=(5, 3)).astype("float32")
    return initial, [generator.normal(size=(5, 3)).astype("float32") for _ in RATES]


def test_sgd_keeps_pytorchs_momentum_buffer_and_adds_the_weight_decay_to_the_gradient():
    initial, gradients = problem()
    expected, buffer = initial.astype("float64"), np.zeros_like(initial, dtype="float64")
    for gradient, rate in zip(gradients, RATES):  # torch.optim.SGD(momentum=0.9, weight_decay=0.01)
        buffer = 0.9 * buffer + (gradient + 0.01 * expected)
        expected = expected - rate * buffer
    measured = steps_of(build_optimizer("sgd", 0.1, momentum=0.9, weight_decay=0.01), initial, gradients)
    np.testing.assert_allclose(measured, expected, rtol=1e-5, atol=1e-6)
    # Keras' own SGD keeps the rate inside its velocity, which differs once the rate changes.
    import keras
    keras_sgd = steps_of(keras.optimizers.SGD(0.1, momentum=0.9), initial, gradients)
    torch_sgd = steps_of(build_optimizer("sgd", 0.1, momentum=0.9), initial, gradients)
    assert np.abs(keras_sgd - torch_sgd).max() > 1e-3


def test_sgd_without_momentum_is_plain_gradient_descent():
    initial, gradients = problem()
    expected = initial - sum(rate * gradient for gradient, rate in zip(gradients, RATES))
    np.testing.assert_allclose(steps_of(build_optimizer("sgd", 0.1, momentum=0.0), initial, gradients), expected,
                               rtol=1e-5, atol=1e-6)


def test_adam_with_weight_decay_is_adam_on_the_decayed_gradient_and_without_it_the_2020_codes_adam():
    import keras
    initial, gradients = problem()
    assert type(build_optimizer("adam", 1e-3)) is keras.optimizers.Adam
    decayed = steps_of(build_optimizer("adam", 0.1, weight_decay=0.5), initial, gradients)
    adam, variable = keras.optimizers.Adam(0.1), keras.Variable(initial.copy())
    for gradient, rate in zip(gradients, RATES):
        adam.learning_rate.assign(rate)
        adam.apply([gradient + 0.5 * np.asarray(variable)], [variable])
    np.testing.assert_allclose(decayed, np.asarray(variable), rtol=1e-6, atol=1e-7)


def test_the_cosine_schedule_starts_at_the_rate_and_ends_just_above_zero():
    rates = [learning_rate_at(epoch, 0.1, (), "cosine", 4) for epoch in range(1, 5)]
    np.testing.assert_allclose(rates, [0.1, 0.1 * (1 + math.cos(math.pi / 4)) / 2, 0.05,
                                       0.1 * (1 + math.cos(3 * math.pi / 4)) / 2])
    assert learning_rate_at(81, 1.0, (80, 120), "step", 200) == pytest.approx(0.1)


def test_the_optimizer_is_part_of_a_runs_identity_and_folder_and_old_logs_read_as_adam():
    adam = RunConfig().validate()
    sgd = RunConfig(optimizer="sgd", weight_decay=5e-4, lr_schedule="cosine", lr=0.1).validate()
    assert adam.identity()["optimizer"] == "adam" and adam.identity() != RunConfig(optimizer="sgd").identity()
    assert sgd.folder().endswith("mask_relu_he_LR0.1_sgd_M0.9_WD0.0005_cosine")
    assert adam.folder().endswith("mask_relu_he_LR0.001")
    assert sgd.to_dict()["lr_drops"] == "none"
    stored = {name: value for name, value in adam.to_dict().items()
              if name not in ("optimizer", "momentum", "weight_decay", "lr_schedule")}
    assert RunConfig.from_settings(stored, strict=False).identity() == adam.identity()


@pytest.mark.parametrize("settings, message", [
    (dict(momentum=0.5), "--momentum does nothing for --optimizer adam (it is a setting of --optimizer sgd): leave "
                         "it out."),
    (dict(lr_schedule="cosine", lr_drops="10"), "--lr-drops does nothing for --lr-schedule cosine (it is a setting "
                                                "of --lr-schedule step): leave it out."),
    (dict(optimizer="sgd", momentum=1.0), "--momentum must lie in [0, 1), got 1.0."),
    (dict(weight_decay=-1e-4), "--weight-decay must be 0 or a positive number, got -0.0001."),
])
def test_settings_that_cannot_work_are_refused_in_one_sentence(settings, message):
    with pytest.raises(ConfigError) as refusal:
        RunConfig(**settings).validate()
    assert str(refusal.value) == message
