"""Behaviour of Keras that the product relies on without a public API for it; these fail loudly if a
Keras upgrade changes it.

- `pruning_at_init.variables.optimizer_slots` finds Adam's moments and SGD's momentum buffer by Keras' naming of
  optimizer variables;
  pruning at initialisation clears the moments of pruned weights through it.
- `masking.masked_layers` walks `model.layers`; masks, counts and logs are per layer, input to output.
- `Experiment.reset_optimizer` (a fresh Adam for every lottery-ticket round) assigns the variables of the
  existing Adam in place, so that the compiled training steps are kept.
"""

import keras
import numpy as np
import pytest

from config import RunConfig
from datasets import load_dataset
from masking import MaskedDense, masked_layers
from methods import METHODS
from networks import build_network
from pruning_at_init.variables import optimizer_slots
from training.batches import epoch_batches
from training.loop import Experiment


def baseline_network(nettype, input_shape, seed=1):
    return build_network(nettype, input_shape, seed=seed, masking=METHODS["Baseline"].masking_options("mask"))


def test_optimizer_slots_of_adam_are_the_first_and_second_moment_of_that_very_variable():
    model = baseline_network("LeNet", (30,))
    variables = model.trainable_variables
    optimizer = keras.optimizers.Adam(learning_rate=1e-3)
    generator = np.random.default_rng(0)
    # A different gradient per variable (scaled by its position too), so a mix-up cannot go unnoticed.
    gradients = [generator.normal(size=variable.shape).astype("float32") * (index + 1)
                 for index, variable in enumerate(variables)]
    optimizer.apply([keras.ops.convert_to_tensor(gradient) for gradient in gradients], variables)
    assert len(variables) == 3  # the three kernels; the scores of a Baseline are frozen
    for variable, gradient in zip(variables, gradients):
        first, second = optimizer_slots(optimizer, variable)
        np.testing.assert_allclose(np.array(first), (1 - optimizer.beta_1) * gradient, rtol=1e-6)
        np.testing.assert_allclose(np.array(second), (1 - optimizer.beta_2) * gradient**2, rtol=1e-5)


def test_optimizer_slots_refuses_a_variable_the_optimizer_does_not_hold():
    model = baseline_network("LeNet", (30,))
    optimizer = keras.optimizers.Adam()
    optimizer.build(model.trainable_variables[:1])
    with pytest.raises(RuntimeError, match="Cannot find the optimizer's momentum and velocity of "):
        optimizer_slots(optimizer, model.trainable_variables[1])


def test_sgd_has_its_momentum_buffer_as_its_one_slot_and_none_without_momentum():
    from training.optimizers import build_optimizer
    model = baseline_network("LeNet", (30,))
    variables = model.trainable_variables
    gradients = [np.full(variable.shape, index + 1.0, "float32") for index, variable in enumerate(variables)]
    optimizer = build_optimizer("sgd", 0.1, momentum=0.9)
    optimizer.apply([keras.ops.convert_to_tensor(gradient) for gradient in gradients], variables)
    for variable, gradient in zip(variables, gradients):
        (buffer,) = optimizer_slots(optimizer, variable)
        np.testing.assert_array_equal(np.array(buffer), gradient)  # PyTorch's buffer: the first gradient
    plain = build_optimizer("sgd", 0.1, momentum=0.0)
    plain.build(variables)
    assert optimizer_slots(plain, variables[0]) == ()


@pytest.mark.parametrize("nettype, input_shape, expected", [
    ("LeNet", (28, 28, 1), ["dense1", "dense2", "output"]),
    ("Conv2", (32, 32, 3), ["conv1", "conv2", "dense1", "dense2", "output"]),
    ("LeNet5", (28, 28, 1), ["conv1", "conv2", "dense1", "dense2", "output"]),
])
def test_masked_layers_of_a_network_come_input_to_output(nettype, input_shape, expected):
    assert [layer.name for layer in masked_layers(baseline_network(nettype, input_shape))] == expected


def test_masked_layers_inside_a_nested_network_come_input_to_output():
    inner = baseline_network("LeNet", (30,))
    after = MaskedDense(10, name="after", activation="softmax")  # created first, used last
    before = MaskedDense(30, name="before", activation="relu")
    inputs = keras.Input(shape=(30,))
    outer = keras.Model(inputs, after(inner(before(inputs))), name="outer")
    assert [layer.name for layer in masked_layers(outer)] == ["before", "dense1", "dense2", "output", "after"]
    wrapped = keras.Sequential([keras.Input(shape=(30,)), outer])
    assert [layer.name for layer in masked_layers(wrapped)] == ["before", "dense1", "dense2", "output", "after"]


@pytest.fixture(scope="module")
def small_dataset():
    return load_dataset("mnist-subset", "mnist", limit=50)


def new_experiment(tmp_path, dataset):
    settings = {"traintype": "Baseline", "nettype": "LeNet", "seed": 3, "lr": 0.005, "batchsize": 10,
                "maxepochs": 1, "xla": "off", "outputpath": str(tmp_path)}
    return Experiment(RunConfig.from_settings(settings).validate(), dataset, print_line=lambda line: None)


def optimizer_values(optimizer):
    return {variable.name: np.array(variable) for variable in optimizer.variables}


def test_reset_optimizer_makes_adam_new_again_in_place(tmp_path, small_dataset):
    experiment = new_experiment(tmp_path, small_dataset)
    indices, weights = epoch_batches(np.random.default_rng(1), len(small_dataset.x_train), 10)
    experiment.steps.train_steps(indices, weights, 0, 3)
    optimizer = experiment.optimizer
    moments = [variable for variable in optimizer.variables if variable.name.endswith(("_momentum", "_velocity"))]
    assert int(optimizer.iterations) == 3 and len(moments) == 6
    assert all(np.abs(np.array(moment)).max() > 0 for moment in moments)
    traces = experiment.steps._compiled_train_range.experimental_get_tracing_count()

    experiment.reset_optimizer()
    assert experiment.optimizer is optimizer and int(optimizer.iterations) == 0
    assert float(optimizer.learning_rate) == pytest.approx(0.005)
    fresh = keras.optimizers.Adam(learning_rate=0.005)
    fresh.build(experiment.model.trainable_variables)
    expected = optimizer_values(fresh)
    assert sorted(optimizer_values(optimizer)) == sorted(expected)
    for name, value in optimizer_values(optimizer).items():
        np.testing.assert_array_equal(value, expected[name], err_msg=name)

    # The next step is the first step of a new Adam, from the trained weights, with the same compiled step.
    twin = new_experiment(tmp_path, small_dataset)
    for variable, value in zip(twin.model.variables, experiment.model.variables, strict=True):
        variable.assign(value)
    experiment.steps.train_steps(indices, weights, 3, 4)
    twin.steps.train_steps(indices, weights, 3, 4)
    for variable, twin_variable in zip(experiment.model.variables, twin.model.variables, strict=True):
        np.testing.assert_allclose(np.array(variable), np.array(twin_variable), rtol=1e-6, atol=1e-9)
    assert int(optimizer.iterations) == 1
    assert experiment.steps._compiled_train_range.experimental_get_tracing_count() == traces
