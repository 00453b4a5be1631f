"""Residual networks (networks/architectures.py's `Residual`) laid out with a layer factory (networks/factories.py):
masked layers in training, Keras' own in Export.py.

A stem (3x3 convolution - BatchNorm - activation), then stages of basic blocks: conv 3x3 - BatchNorm - activation
- conv 3x3 - BatchNorm, plus the shortcut, then the activation. The first block of every stage after the first
halves the resolution (stride 2) and projects its shortcut with a 1x1 stride-2 convolution: without BatchNorm or
activation in He et al.'s CIFAR ResNets (as the 2020 code), with BatchNorm in ResNet-18 (`shortcut_batchnorm`).
Global average pooling and a dense softmax output follow. Every convolution, the projections and the output are
weight layers without biases; BatchNorm is Keras' own.

`variant="2020"` reproduces what the 2020 code did differently (../shared/REFERENCE.md, "ResNet in the 2020
code"): one seed for every masked layer (networks/builder.py: layers of equal shape start with identical kernels
and scores), the activation also inside each masked convolution that is followed by one (ReLU(BN(ReLU(conv)))),
ReLU whatever `activation` says, and a second softmax after the output layer. Its 8x8 average pooling equals the
global one here on 32x32 input, and the global one also works on 28x28 MNIST.
"""

import keras

from networks.registry import VARIANT_2020


class ResNetBuilder:
    """Lays out one residual network; `layers` (a factory) makes its weight layers, in this order: the stem, then
    per block its two convolutions and, where it downsamples, the projection; the output last. `affine`: whether
    BatchNorm has its scale and offset (--batchnorm-affine trained), else both stay 1 and 0."""

    def __init__(self, layers, activation, variant, affine):
        self.layers = layers
        self.quirks = variant == VARIANT_2020
        self.activation = "relu" if self.quirks else activation
        self.affine = affine

    def batchnorm(self, outputs, name):
        return keras.layers.BatchNormalization(center=self.affine, scale=self.affine, name=name)(outputs)

    def unit(self, inputs, filters, name, strides=1, activate=True):
        """conv 3x3 - BatchNorm - activation (or conv - BatchNorm when activate is False)."""
        inner = self.activation if (self.quirks and activate) else None
        outputs = self.layers.convolution(filters, 3, strides=strides, activation=inner, name=f"{name}_conv")(inputs)
        outputs = self.batchnorm(outputs, f"{name}_bn")
        return keras.layers.Activation(self.activation, name=f"{name}_act")(outputs) if activate else outputs

    def block(self, inputs, filters, name, downsample, shortcut_batchnorm):
        strides = 2 if downsample else 1
        outputs = self.unit(inputs, filters, f"{name}_unit1", strides)
        outputs = self.unit(outputs, filters, f"{name}_unit2", activate=False)
        shortcut = inputs
        if downsample:
            shortcut = self.layers.convolution(filters, 1, strides=strides, name=f"{name}_shortcut")(inputs)
            if shortcut_batchnorm:
                shortcut = self.batchnorm(shortcut, f"{name}_shortcut_bn")
        outputs = keras.layers.Add(name=f"{name}_add")([shortcut, outputs])
        return keras.layers.Activation(self.activation, name=f"{name}_out")(outputs)

    def network(self, architecture, input_shape, num_classes, name):
        inputs = keras.Input(shape=tuple(input_shape), name="input")
        outputs = self.unit(inputs, architecture.stem_filters, "stem")
        stages = zip(architecture.stage_filters, architecture.blocks_per_stage, strict=True)
        for stage, (filters, blocks) in enumerate(stages, 1):
            for block in range(1, blocks + 1):
                outputs = self.block(outputs, filters, f"stage{stage}_block{block}",
                                     downsample=stage > 1 and block == 1,
                                     shortcut_batchnorm=architecture.shortcut_batchnorm)
        outputs = keras.layers.GlobalAveragePooling2D(name="pool")(outputs)
        outputs = self.layers.dense(num_classes, activation="softmax", name="output")(outputs)
        if self.quirks:
            outputs = keras.layers.Activation("softmax", name="second_softmax")(outputs)
        return keras.Model(inputs, outputs, name=name)
