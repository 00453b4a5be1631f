"""A plain Keras model of a run: Keras' own layers (Conv2D, MaxPooling2D, Flatten, Dense, and Rescaling for
the binary initializer) with the effective weights (kernel times mask values) baked in, no biases, so that
`keras.saving.load_model(path)` opens it with no custom objects and no import of this project.

Input: images normalised as in the run (datasets/preprocessing.py: pixels / 255, minus the training set's
per-pixel mean, divided by its global standard deviation; the test set with its own statistics unless the run
used --test-normalization train), in shape (height, width, channels). The normalisation is not a layer: the
reference normalises the test set with the test set's own statistics, which no fixed layer could reproduce.
"""

import keras

from networks.architectures import BINARY_INPUT_SCALE
from networks import ARCHITECTURES


def plain_model(config, input_shape, num_classes, kernels):
    """The network of `config` built from Keras layers, with `kernels` ({masked layer name: weights}) set."""
    blocks = ARCHITECTURES[config.nettype] + [("dense", num_classes)]
    inputs = keras.Input(shape=tuple(input_shape), name="input")
    outputs = inputs
    if config.resolved_initializer() == "binary":
        outputs = keras.layers.Rescaling(BINARY_INPUT_SCALE[config.nettype], name="binary_input_scale")(outputs)
    counters, weighted = {"conv": 0, "dense": 0}, []
    for index, block in enumerate(blocks):
        kind = block[0]
        if kind == "pool":
            outputs = keras.layers.MaxPooling2D(pool_size=2, strides=2, padding="valid", name=f"pool{index}")(outputs)
            continue
        if kind == "dense" and len(outputs.shape) > 2:
            outputs = keras.layers.Flatten(name="flatten")(outputs)
        is_output = index == len(blocks) - 1
        counters[kind] += 1
        name = "output" if is_output else f"{kind}{counters[kind]}"
        activation = "softmax" if is_output else config.activation
        if kind == "conv":
            kernel_size, padding = block[2:] if len(block) > 2 else (3, "same")
            layer = keras.layers.Conv2D(block[1], kernel_size, padding=padding, activation=activation, use_bias=False,
                                        name=name)
        else:
            layer = keras.layers.Dense(block[1], activation=activation, use_bias=False, name=name)
        outputs = layer(outputs)
        weighted.append(layer)
    model = keras.Model(inputs, outputs, name=f"{config.nettype}_{config.traintype}")
    for layer in weighted:
        layer.kernel.assign(kernels[layer.name])
    return model


def write_keras_model(run, path):
    plain_model(run.config, run.input_shape(), run.num_classes(), run.effective_kernels()).save(path)
