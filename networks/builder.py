"""Builds a network by name: `assemble_network` lays it out with any layer factory (networks/factories.py),
`build_network` with the masked layers a run trains, their kernels and scores drawn from the run seed."""

import keras
import numpy as np

from masking import MaskingOptions
from networks.architectures import Conv, Dense, GlobalAveragePool, MaxPool, Residual
from networks.factories import MaskedLayers
from networks.registry import BATCHNORM_AFFINE, VARIANT_2020, check_network, network_entry
from networks.resnet import ResNetBuilder


def layer_seeds(seed, count):
    """One (kernel seed, score seed) pair per masked layer, drawn from a generator seeded with the run seed."""
    generator = np.random.default_rng(seed)
    return [tuple(int(value) for value in generator.integers(1, 2**31 - 1, size=2)) for _ in range(count)]


def uses_xla(setting, nettype):
    """--xla auto|on|off for a network: XLA removes LeNet's per-step overhead, but a training step of a
    network with convolutions runs 10-30% slower under XLA on CPU than on TensorFlow's own kernels
    (bench/conv_speed.py), so 'auto' compiles only networks without convolutions."""
    if setting == "auto":
        return not network_entry(nettype).has_convolutions
    return setting == "on"


def build_network(nettype, input_shape, num_classes=10, *, activation="relu", initializer="he",
                  p1=0.5, seed=1, masking=MaskingOptions(), xla=False, resnet_variant="standard",
                  batchnorm_affine="trained"):
    """The network of masked layers a run trains. `xla`: whether the model will be compiled with XLA, which
    decides the pooling layer (networks/pooling.py). resnet_variant: the networks that have a 2020 variant
    (networks/resnet.py); batchnorm_affine: those with BatchNorm."""
    check_network(nettype, initializer, activation, resnet_variant)
    count = network_entry(nettype).weight_layer_count()
    # The 2020 code built every masked layer of its ResNet with the run seed itself.
    seeds = [(seed, seed)] * count if resnet_variant == VARIANT_2020 else layer_seeds(seed, count)
    return assemble_network(nettype, input_shape, num_classes, MaskedLayers(seeds, initializer, p1, masking, xla),
                            activation=activation, initializer=initializer, resnet_variant=resnet_variant,
                            batchnorm_affine=batchnorm_affine)


def assemble_network(nettype, input_shape, num_classes, layers, *, activation="relu", initializer="he",
                     resnet_variant="standard", batchnorm_affine="trained", name=None):
    """The network `nettype` with its weight layers and pooling made by the factory `layers`; `initializer` only
    decides whether the input is rescaled (the binary initializer's input scale). Model name: `name` or nettype."""
    check_network(nettype, initializer, activation, resnet_variant)
    if batchnorm_affine not in BATCHNORM_AFFINE:
        raise ValueError(f"Unknown BatchNorm affine setting '{batchnorm_affine}'; choose one of "
                         f"{', '.join(BATCHNORM_AFFINE)}.")
    entry = network_entry(nettype)
    architecture, affine = entry.architecture, batchnorm_affine == "trained"
    if isinstance(architecture, Residual):
        builder = ResNetBuilder(layers, activation, resnet_variant, affine)
        return builder.network(architecture, input_shape, num_classes, name or nettype)
    inputs = keras.Input(shape=tuple(input_shape), name="input")
    outputs = inputs
    if initializer == "binary":
        outputs = layers.input_scale(entry.binary_input_scale, name="binary_input_scale")(outputs)
    counters = {Conv: 0, Dense: 0}
    blocks = architecture.blocks + (Dense(num_classes),)
    for index, block in enumerate(blocks):
        if isinstance(block, MaxPool):
            outputs = layers.max_pooling(f"pool{index}")(outputs)
        elif isinstance(block, GlobalAveragePool):
            outputs = keras.layers.GlobalAveragePooling2D(name=f"pool{index}")(outputs)
        elif isinstance(block, Conv):
            counters[Conv] += 1
            layer_name = f"conv{counters[Conv]}"
            layer = layers.convolution(block.filters, block.kernel_size, padding=block.padding, name=layer_name,
                                       activation=None if block.batchnorm else activation)
            outputs = layer(outputs)
            if block.batchnorm:
                # Frozen (--batchnorm-affine frozen): without scale and offset, i.e. both fixed at 1 and 0.
                outputs = keras.layers.BatchNormalization(center=affine, scale=affine, name=f"{layer_name}_bn")(outputs)
                outputs = keras.layers.Activation(activation, name=f"{layer_name}_act")(outputs)
        else:
            if len(outputs.shape) > 2:
                outputs = keras.layers.Flatten(name="flatten")(outputs)
            is_output = index == len(blocks) - 1
            counters[Dense] += 1
            layer = layers.dense(block.units, activation="softmax" if is_output else activation,
                                 name="output" if is_output else f"dense{counters[Dense]}")
            outputs = layer(outputs)
    return keras.Model(inputs, outputs, name=name or nettype)
