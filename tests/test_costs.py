"""networks/costs.py: the output positions and multiply-accumulates of every network's weight layers, computed
without Keras, against the built Keras models; and by hand for LeNet-300-100 and LeNet-5 on MNIST. (The cost columns
of load_runs, on real runs, are in tests/test_reporting_runs.py.)"""

import numpy as np
import pytest

from masking import masked_layers
from networks import NETWORK_NAMES, build_network
from networks.costs import convolved, layer_macs, output_positions

MNIST_SHAPE, CIFAR_SHAPE = (28, 28, 1), (32, 32, 3)


@pytest.mark.parametrize("input_shape", [MNIST_SHAPE, CIFAR_SHAPE], ids=["mnist", "cifar"])
@pytest.mark.parametrize("nettype", NETWORK_NAMES)
def test_every_weight_layer_costs_its_kernel_size_times_its_output_positions_in_the_built_model(nettype,
                                                                                                 input_shape):
    model = build_network(nettype, input_shape, seed=1)
    positions = output_positions(nettype, input_shape)
    layers = masked_layers(model)
    assert sorted(positions) == sorted(layer.name for layer in layers)  # every weight layer, by its logged name
    for layer in layers:
        output_shape = layer.output.shape  # (batch, height, width, filters) or (batch, units)
        expected = int(np.prod(output_shape[1:-1])) if len(output_shape) == 4 else 1
        assert positions[layer.name] == expected, layer.name
        kernel_size = int(np.prod(layer.kernel.shape))
        assert layer_macs([positions[layer.name]], [kernel_size]) == [kernel_size * expected]


def test_the_layers_come_in_the_builders_order():
    assert list(output_positions("LeNet5", MNIST_SHAPE)) == ["conv1", "conv2", "dense1", "dense2", "output"]
    assert list(output_positions("ResNet8", CIFAR_SHAPE)) == [
        "stem_conv", "stage1_block1_unit1_conv", "stage1_block1_unit2_conv", "stage2_block1_unit1_conv",
        "stage2_block1_unit2_conv", "stage2_block1_shortcut", "stage3_block1_unit1_conv", "stage3_block1_unit2_conv",
        "stage3_block1_shortcut", "output"]


def test_lenet_300_100_and_lenet_5_on_mnist_by_hand():
    lenet = output_positions("LeNet", MNIST_SHAPE)
    assert lenet == {"dense1": 1, "dense2": 1, "output": 1}
    assert sum(layer_macs(lenet.values(), [784 * 300, 300 * 100, 100 * 10])) == 266_200
    # 28x28 'same' 5x5 -> 28x28x6, pool -> 14x14, 'valid' 5x5 -> 10x10x16, pool -> 5x5x16 = 400 -> 120 -> 84 -> 10.
    lenet5 = output_positions("LeNet5", MNIST_SHAPE)
    assert lenet5 == {"conv1": 28 * 28, "conv2": 10 * 10, "dense1": 1, "dense2": 1, "output": 1}
    sizes = [5 * 5 * 1 * 6, 5 * 5 * 6 * 16, 400 * 120, 120 * 84, 84 * 10]
    assert layer_macs(lenet5.values(), sizes) == [117_600, 240_000, 48_000, 10_080, 840]
    # A removed weight costs nothing: half of conv2's weights kept, half its MACs.
    assert layer_macs([lenet5["conv2"]], [sizes[1] // 2]) == [120_000]


def test_output_lengths_follow_keras_padding_rules():
    assert [convolved(size, 3, "same") for size in (28, 7)] == [28, 7]
    assert [convolved(size, 3, "same", 2) for size in (32, 7, 1)] == [16, 4, 1]  # ceil(size / strides)
    assert [convolved(size, 5, "valid") for size in (14, 5)] == [10, 1]
    # ResNet-18 on MNIST: 28 -> 14 -> 7 -> 4 (an odd size rounds up), ResNet20 on CIFAR: 32 -> 16 -> 8.
    assert output_positions("ResNet18", MNIST_SHAPE)["stage4_block2_unit2_conv"] == 4 * 4
    assert output_positions("ResNet20", CIFAR_SHAPE)["stage3_block3_unit2_conv"] == 8 * 8
