"""Builds a Keras model of masked layers from an architecture name."""

import keras
import numpy as np

from initializers import INITIALIZERS, get_initializer
from masking import MaskedConv2D, MaskedDense, MaskingOptions
from networks.architectures import ARCHITECTURES, BINARY_INPUT_SCALE, RESNET_DEPTHS, masked_layer_count
from networks.pooling import max_pooling_layer
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


def build_network(nettype, input_shape, num_classes=10, *, activation="relu", initializer="he",
                  p1=0.5, seed=1, masking=MaskingOptions(), xla=False, resnet_variant="standard",
                  batchnorm_affine="trained"):
    """`xla`: whether the model will be compiled with XLA, which decides the pooling layer (networks/pooling.py).
    resnet_variant and batchnorm_affine: for the ResNets only (networks/resnet.py)."""
    check_network(nettype, initializer, activation)
    if nettype in RESNET_DEPTHS:
        count = masked_layer_count(RESNET_DEPTHS[nettype])
        # The 2020 code built every masked layer of its ResNet with the run seed itself.
        seeds = [(seed, seed)] * count if resnet_variant == "2020" else layer_seeds(seed, count)
        builder = ResNetBuilder(iter(seeds), activation, initializer, p1, masking, resnet_variant, batchnorm_affine)
        return builder.network(nettype, input_shape, num_classes)
    blocks = ARCHITECTURES[nettype] + [("dense", num_classes)]
    weight_blocks = [block for block in blocks if block[0] != "pool"]
    seeds = iter(layer_seeds(seed, len(weight_blocks)))

    inputs = keras.Input(shape=tuple(input_shape), name="input")
    outputs = inputs
    if initializer == "binary":
        outputs = keras.layers.Rescaling(BINARY_INPUT_SCALE[nettype], name="binary_input_scale")(outputs)
    counters = {"conv": 0, "dense": 0}
    for index, block in enumerate(blocks):
        kind = block[0]
        if kind == "pool":
            outputs = max_pooling_layer(f"pool{index}", xla)(outputs)
            continue
        if kind == "dense" and len(outputs.shape) > 2:
            outputs = keras.layers.Flatten(name="flatten")(outputs)
        kernel_seed, score_seed = next(seeds)
        is_output = index == len(blocks) - 1
        counters[kind] += 1
        arguments = dict(
            activation="softmax" if is_output else activation,
            kernel_initializer=get_initializer(initializer, kernel_seed, p1, masking.fan_scale),
            score_seed=score_seed,
            name="output" if is_output else f"{kind}{counters[kind]}",
            **masking.layer_arguments(),
        )
        if kind == "conv":
            kernel_size, padding = block[2:] if len(block) > 2 else (3, "same")
            layer = MaskedConv2D(block[1], kernel_size, padding=padding, **arguments)
        else:
            layer = MaskedDense(block[1], **arguments)
        outputs = layer(outputs)
    return keras.Model(inputs, outputs, name=nettype)
