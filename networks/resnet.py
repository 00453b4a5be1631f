"""ResNet version 1 at depth 6n+2 (He et al. 2016, CIFAR-10), as the 2020 code had it; its convolutions and output
layer come from a layer factory (networks/factories.py): masked layers in training, Keras' own in Export.py.

A stem (3x3 convolution, 16 filters), then three stages of n residual blocks with 16, 32 and 64 filters. A block
is conv 3x3 - BatchNorm - activation - conv 3x3 - BatchNorm, plus the shortcut, then the activation; the first
block of stages 2 and 3 halves the resolution (stride 2) and projects its shortcut with a 1x1 stride-2
convolution (no BatchNorm, no activation). Global average pooling and a dense softmax output follow. Every
convolution, the projections and the output are weight layers without biases; BatchNorm is Keras' own.

`variant="2020"` reproduces what the 2020 code did differently (../shared/REFERENCE.md, "ResNet in the 2020
code"): one seed for every masked layer (layers of equal shape start with identical kernels and scores), the
activation also inside each masked convolution that is followed by one (ReLU(BN(ReLU(conv)))), ReLU whatever
`activation` says, and a second softmax after the output layer. Its 8x8 average pooling equals the global one
here on 32x32 input, and the global one also works on 28x28 MNIST.
"""

import keras

from networks.architectures import BATCHNORM_AFFINE, RESNET_DEPTHS, RESNET_VARIANTS, STAGE_FILTERS, blocks_per_stage


class ResNetBuilder:
    """Lays out one ResNet; `layers` (a factory, networks/factories.py) makes its weight layers, in this order: the
    stem, then per block its two convolutions and, where it downsamples, the projection; the output last."""

    def __init__(self, layers, activation, variant, batchnorm_affine):
        if variant not in RESNET_VARIANTS:
            raise ValueError(f"Unknown ResNet variant '{variant}'; choose one of {', '.join(RESNET_VARIANTS)}.")
        if batchnorm_affine not in BATCHNORM_AFFINE:
            raise ValueError(f"Unknown BatchNorm affine setting '{batchnorm_affine}'; choose one of "
                             f"{', '.join(BATCHNORM_AFFINE)}.")
        self.layers = layers
        self.quirks = variant == "2020"
        self.activation = "relu" if self.quirks else activation
        self.affine = batchnorm_affine == "trained"

    def unit(self, inputs, filters, name, strides=1, activate=True):
        """conv 3x3 - BatchNorm - activation (or conv - BatchNorm when activate is False)."""
        inner = self.activation if (self.quirks and activate) else None
        outputs = self.layers.convolution(filters, 3, strides=strides, activation=inner, name=f"{name}_conv")(inputs)
        # Frozen: BatchNorm without scale and offset, i.e. both fixed at 1 and 0; only its statistics move.
        outputs = keras.layers.BatchNormalization(center=self.affine, scale=self.affine, name=f"{name}_bn")(outputs)
        return keras.layers.Activation(self.activation, name=f"{name}_act")(outputs) if activate else outputs

    def block(self, inputs, filters, name, downsample):
        strides = 2 if downsample else 1
        outputs = self.unit(inputs, filters, f"{name}_unit1", strides)
        outputs = self.unit(outputs, filters, f"{name}_unit2", activate=False)
        shortcut = inputs
        if downsample:
            shortcut = self.layers.convolution(filters, 1, strides=strides, name=f"{name}_shortcut")(inputs)
        outputs = keras.layers.Add(name=f"{name}_add")([shortcut, outputs])
        return keras.layers.Activation(self.activation, name=f"{name}_out")(outputs)

    def network(self, nettype, input_shape, num_classes, name):
        per_stage = blocks_per_stage(RESNET_DEPTHS[nettype])
        inputs = keras.Input(shape=tuple(input_shape), name="input")
        outputs = self.unit(inputs, STAGE_FILTERS[0], "stem")
        for stage, filters in enumerate(STAGE_FILTERS, 1):
            for block in range(1, per_stage + 1):
                outputs = self.block(outputs, filters, f"stage{stage}_block{block}",
                                     downsample=stage > 1 and block == 1)
        outputs = keras.layers.GlobalAveragePooling2D(name="pool")(outputs)
        outputs = self.layers.dense(num_classes, activation="softmax", name="output")(outputs)
        if self.quirks:
            outputs = keras.layers.Activation("softmax", name="second_softmax")(outputs)
        return keras.Model(inputs, outputs, name=name)
