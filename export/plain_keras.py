"""A plain Keras model of a run: the run's own network description (networks.assemble_network) built with Keras'
own layers (Conv2D and Dense without biases, MaxPooling2D; the ResNets' BatchNormalization, Add, Activation and
GlobalAveragePooling2D; Flatten and Rescaling where the network has them), with the effective weights (kernel
times mask values) and the ResNets' final BatchNorm values set, so that `keras.saving.load_model(path)` opens it
with no custom objects and no import of this project.

Input: images normalised as in the run (datasets/preprocessing.py: pixels / 255, minus the training set's
per-pixel mean, divided by its global standard deviation; the test set with its own statistics unless the run
used --test-normalization train), in shape (height, width, channels). The normalisation is not a layer: the
reference normalises the test set with the test set's own statistics, which no fixed layer could reproduce.
"""

import keras

from export.run_files import require_same_names
from networks import assemble_network


class PlainLayers:
    """The layer factory (networks/factories.py) of Keras' own layers: the names, sizes, strides, padding and
    activations the builder asks for, without biases, as the masked layers have none."""

    def convolution(self, filters, kernel_size, *, name, padding="same", strides=1, activation=None):
        return keras.layers.Conv2D(filters, kernel_size, strides=strides, padding=padding, activation=activation,
                                   use_bias=False, name=name)

    def dense(self, units, *, name, activation=None):
        return keras.layers.Dense(units, activation=activation, use_bias=False, name=name)

    def max_pooling(self, name):
        # Computes what both of networks/pooling.py's layers compute, whichever one the run trained with.
        return keras.layers.MaxPooling2D(pool_size=2, strides=2, padding="valid", name=name)

    def input_scale(self, scale, *, name):
        # The product the run's InputScale computes (networks/input_scale.py), in a layer Keras opens on its own.
        return keras.layers.Rescaling(scale, name=name)


def assign(variables, values, what, nettype):
    """Sets each of `variables` ({name: variable}) to the value of the same name in `values`."""
    require_same_names(values, variables, what, nettype)
    for name, variable in variables.items():
        variable.assign(values[name])


def plain_model(config, input_shape, num_classes, kernels, batchnorm=None):
    """The network of `config` built from Keras layers, with `kernels` ({weight layer name: weights}) and
    `batchnorm` ({BatchNorm variable path: value}, the ResNets' final_batchnorm file) set."""
    model = assemble_network(config.nettype, input_shape, num_classes, PlainLayers(), activation=config.activation,
                             initializer=config.resolved_initializer(), resnet_variant=config.resnet_variant,
                             batchnorm_affine=config.batchnorm_affine, name=f"{config.nettype}_{config.traintype}")
    weight_layers = (keras.layers.Conv2D, keras.layers.Dense)
    assign({layer.name: layer.kernel for layer in model.layers if isinstance(layer, weight_layers)}, kernels,
           "weights", config.nettype)
    assign({variable.path: variable for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)
            for variable in layer.variables}, batchnorm or {}, "BatchNorm values", config.nettype)
    return model


def write_keras_model(run, path):
    plain_model(run.config, run.input_shape(), run.num_classes(), run.effective_kernels(), run.batchnorm()).save(path)
