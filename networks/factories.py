"""Layer factories: which Keras layers carry the weights of a network that networks/builder.py and
networks/resnet.py lay out.

The builders are the one description of what a network is (its layers, their names, sizes, strides, padding and
activations, and the order the weight layers are made in); a factory only chooses the layer classes. Training
builds with `MaskedLayers` below; Export.py builds the same description with Keras' own Conv2D and Dense
(export/plain_keras.py), so the two cannot drift apart.

A factory has four methods, each returning one Keras layer named `name`:
  convolution(filters, kernel_size, *, name, padding="same", strides=1, activation=None)   no bias
  dense(units, *, name, activation=None)                                                   no bias
  max_pooling(name)                                       2x2 maximum, stride 2, 'valid' padding
  input_scale(scale, *, name)                             inputs * scale (the binary initializer's)
"""

from initializers import get_initializer
from masking import MaskedConv2D, MaskedDense, MaskingOptions
from networks.input_scale import InputScale
from networks.pooling import max_pooling_layer


class MaskedLayers:
    """The layers a run trains: masked, each taking the next (kernel seed, score seed) pair of `seeds` in the
    order the builder asks for weight layers. `xla`: whether the model will be compiled with XLA, which decides
    the pooling layer (networks/pooling.py)."""

    def __init__(self, seeds, initializer, p1=0.5, masking=MaskingOptions(), xla=False):
        self.seeds = iter(seeds)
        self.initializer, self.p1, self.masking, self.xla = initializer, p1, masking, xla

    def masked_arguments(self, name, activation):
        kernel_seed, score_seed = next(self.seeds)
        kernel_initializer = get_initializer(self.initializer, kernel_seed, self.p1, self.masking.fan_scale)
        return dict(activation=activation, kernel_initializer=kernel_initializer, score_seed=score_seed, name=name,
                    **self.masking.layer_arguments())

    def convolution(self, filters, kernel_size, *, name, padding="same", strides=1, activation=None):
        return MaskedConv2D(filters, kernel_size, padding=padding, strides=strides,
                            **self.masked_arguments(name, activation))

    def dense(self, units, *, name, activation=None):
        return MaskedDense(units, **self.masked_arguments(name, activation))

    def max_pooling(self, name):
        return max_pooling_layer(name, self.xla)

    def input_scale(self, scale, *, name):
        return InputScale(scale, name=name)
