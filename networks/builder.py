"""Builds a network by name: `assemble_network` lays it out with any layer factory (networks/factories.py),
`build_network` with the masked layers a run trains, their kernels and scores drawn from the run seed."""

import keras
import numpy as np

from initializers import INITIALIZERS
from masking import MaskingOptions
from networks.architectures import ARCHITECTURES, BINARY_INPUT_SCALE, RESNET_DEPTHS, masked_layer_count
from networks.factories import MaskedLayers
from networks.resnet import ResNetBuilder

ACTIVATIONS = ("relu", "swish", "sigmoid", "elu", "selu")


def layer_seeds(seed, count):
    """One (kernel seed, score seed) pair per masked layer, drawn from a generator seeded with the run seed."""
    generator = np.random.default_rng(seed)
    return [tuple(int(value) for value in generator.integers(1, 2**31 - 1, size=2)) for _ in range(count)]


def check_network(nettype, initializer, activation):
    """Raises ValueError (one sentence) when the network cannot be built with these settings."""
    if nettype not in ARCHITECTURES and nettype not in RESNET_DEPTHS:
        raise ValueError(f"Unknown network '{nettype}'; choose one of {', '.join([*ARCHITECTURES, *RESNET_DEPTHS])}.")
    if activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation '{activation}'; choose one of {', '.join(ACTIVATIONS)}.")
    if initializer not in INITIALIZERS:
        raise ValueError(f"Unknown initializer '{initializer}'; choose one of {', '.join(INITIALIZERS)}.")
    if initializer == "binary" and nettype not in BINARY_INPUT_SCALE:
        raise ValueError(f"--initializer binary needs an input scale for the network, and {nettype} has none "
                         f"(only {', '.join(BINARY_INPUT_SCALE)} have one): choose another --initializer.")


def uses_xla(setting, nettype):
    """--xla auto|on|off for a network: XLA removes LeNet's per-step overhead, but a training step of a
    network with convolutions runs 10-30% slower under XLA on CPU than on TensorFlow's own kernels
    (bench/conv_speed.py), so 'auto' compiles only networks without convolutions."""
    if setting == "auto":
        return nettype in ARCHITECTURES and all(block[0] == "dense" for block in ARCHITECTURES[nettype])
    return setting == "on"


def weight_layer_count(nettype):
    """The network's weight layers (every one masked in training), the output layer included."""
    if nettype in RESNET_DEPTHS:
        return masked_layer_count(RESNET_DEPTHS[nettype])
    return sum(block[0] != "pool" for block in ARCHITECTURES[nettype]) + 1


def build_network(nettype, input_shape, num_classes=10, *, activation="relu", initializer="he",
                  p1=0.5, seed=1, masking=MaskingOptions(), xla=False, resnet_variant="standard",
                  batchnorm_affine="trained"):
    """The network of masked layers a run trains. `xla`: whether the model will be compiled with XLA, which
    decides the pooling layer (networks/pooling.py). resnet_variant and batchnorm_affine: for the ResNets only
    (networks/resnet.py)."""
    check_network(nettype, initializer, activation)
    count = weight_layer_count(nettype)
    # The 2020 code built every masked layer of its ResNet with the run seed itself.
    quirky_resnet = nettype in RESNET_DEPTHS and resnet_variant == "2020"
    seeds = [(seed, seed)] * count if quirky_resnet else layer_seeds(seed, count)
    return assemble_network(nettype, input_shape, num_classes, MaskedLayers(seeds, initializer, p1, masking, xla),
                            activation=activation, initializer=initializer, resnet_variant=resnet_variant,
                            batchnorm_affine=batchnorm_affine)


def assemble_network(nettype, input_shape, num_classes, layers, *, activation="relu", initializer="he",
                     resnet_variant="standard", batchnorm_affine="trained", name=None):
    """The network `nettype` with its weight layers and pooling made by the factory `layers`; `initializer` only
    decides whether the input is rescaled (the binary initializer's input scale). Model name: `name` or nettype."""
    check_network(nettype, initializer, activation)
    if nettype in RESNET_DEPTHS:
        builder = ResNetBuilder(layers, activation, resnet_variant, batchnorm_affine)
        return builder.network(nettype, input_shape, num_classes, name or nettype)
    blocks = ARCHITECTURES[nettype] + [("dense", num_classes)]
    inputs = keras.Input(shape=tuple(input_shape), name="input")
    outputs = inputs
    if initializer == "binary":
        outputs = layers.input_scale(BINARY_INPUT_SCALE[nettype], name="binary_input_scale")(outputs)
    counters = {"conv": 0, "dense": 0}
    for index, block in enumerate(blocks):
        kind = block[0]
        if kind == "pool":
            outputs = layers.max_pooling(f"pool{index}")(outputs)
            continue
        if kind == "dense" and len(outputs.shape) > 2:
            outputs = keras.layers.Flatten(name="flatten")(outputs)
        is_output = index == len(blocks) - 1
        counters[kind] += 1
        layer_name = "output" if is_output else f"{kind}{counters[kind]}"
        layer_activation = "softmax" if is_output else activation
        if kind == "conv":
            kernel_size, padding = block[2:] if len(block) > 2 else (3, "same")
            layer = layers.convolution(block[1], kernel_size, padding=padding, activation=layer_activation,
                                       name=layer_name)
        else:
            layer = layers.dense(block[1], activation=layer_activation, name=layer_name)
        outputs = layer(outputs)
    return keras.Model(inputs, outputs, name=name or nettype)
