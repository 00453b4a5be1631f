"""What a forward pass of a network costs, without Keras: per weight layer, the number of output positions at which
its kernel is applied, and so its multiply-accumulates (MACs) per example.

A convolution's weight is used once per output position (height x width of its output), a dense layer's once; a
layer's MACs are its kernel size times its output positions, as ShrinkBench counts them (Blalock et al. 2020,
shrinkbench/metrics/flops.py). BatchNorm, pooling, activations, the residual additions and the binary initializer's
input scale are left out, as there. The layers are named and ordered as networks/builder.py and networks/resnet.py
make them: the names are what a run's logs list in `layerNames`.
"""

from networks.architectures import Conv, Dense, GlobalAveragePool, MaxPool, Residual
from networks.registry import network_entry


def convolved(size, kernel_size, padding, strides=1):
    """Output length along one axis: Keras' 'same' gives ceil(size / strides), 'valid' the positions that fit."""
    if padding == "same":
        return -(-size // strides)
    return (size - kernel_size) // strides + 1


def sequential_positions(architecture, height, width):
    """[(layer name, output positions)] of a Sequential network: its convolutions, dense layers and output."""
    found, counters = [], {Conv: 0, Dense: 0}
    for block in architecture.blocks:
        if isinstance(block, Conv):
            height = convolved(height, block.kernel_size, block.padding)
            width = convolved(width, block.kernel_size, block.padding)
            counters[Conv] += 1
            found.append((f"conv{counters[Conv]}", height * width))
        elif isinstance(block, MaxPool):  # 2x2, stride 2, 'valid'
            height, width = height // 2, width // 2
        elif isinstance(block, GlobalAveragePool):
            height = width = 1
        elif isinstance(block, Dense):
            counters[Dense] += 1
            found.append((f"dense{counters[Dense]}", 1))
    return found + [("output", 1)]


def residual_positions(architecture, height, width):
    """[(layer name, output positions)] of a Residual network, in its builder's order: the stem, per block its two
    convolutions and, where it downsamples, the 1x1 projection; the output last. Every convolution pads 'same'."""
    found = [("stem_conv", height * width)]
    stages = zip(architecture.stage_filters, architecture.blocks_per_stage, strict=True)
    for stage, (_, blocks) in enumerate(stages, 1):
        for block in range(1, blocks + 1):
            name = f"stage{stage}_block{block}"
            if stage > 1 and block == 1:
                height, width = convolved(height, 3, "same", 2), convolved(width, 3, "same", 2)
            found += [(f"{name}_unit1_conv", height * width), (f"{name}_unit2_conv", height * width)]
            if stage > 1 and block == 1:
                found.append((f"{name}_shortcut", height * width))
    return found + [("output", 1)]


def output_positions(nettype, input_shape):
    """{weight layer name: output positions} of network `nettype` on images of `input_shape` (height, width,
    channels), in the builder's order; 1 for the dense layers."""
    architecture = network_entry(nettype).architecture
    height, width = int(input_shape[0]), int(input_shape[1])
    if isinstance(architecture, Residual):
        return dict(residual_positions(architecture, height, width))
    return dict(sequential_positions(architecture, height, width))


def layer_macs(positions, weights):
    """[MACs per example] of layers with `positions` and `weights` each (all of a dense layer's, or those a mask
    keeps: a removed weight costs nothing)."""
    return [int(count) * int(weight_count) for count, weight_count in zip(positions, weights, strict=True)]
