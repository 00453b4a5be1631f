"""2x2 max pooling, stride 2, 'valid' padding: the fastest deterministic layer for each compilation mode.

Without XLA (the default for networks with convolutions) Keras' MaxPooling2D is the fastest
(TensorFlow's own MaxPool kernels; about 20% faster for a whole Conv network than the layer below).
Under XLA with op determinism, TensorFlow refuses MaxPoolGrad, so `MaxPool2x2` computes the same
maximum from four strided slices with `maximum`. Both give identical forward values, and both send
the gradient of a window to its first maximal element in row-major order (MaxPoolGrad's rule, and
`maximum`'s: a tie goes to its first argument), so training does not depend on the mode.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="networks")
class MaxPool2x2(keras.layers.Layer):
    """Registered under the name `.keras` files saved by earlier versions use (then a reshape and a max)."""

    def call(self, inputs):
        height, width = inputs.shape[1] // 2 * 2, inputs.shape[2] // 2 * 2
        top = ops.maximum(inputs[:, 0:height:2, 0:width:2, :], inputs[:, 0:height:2, 1:width:2, :])
        bottom = ops.maximum(inputs[:, 1:height:2, 0:width:2, :], inputs[:, 1:height:2, 1:width:2, :])
        return ops.maximum(top, bottom)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1] // 2, input_shape[2] // 2, input_shape[3])


def max_pooling_layer(name, xla):
    """The 2x2 max pooling layer to use in a network compiled with XLA (`xla=True`) or without."""
    if xla:
        return MaxPool2x2(name=name)
    return keras.layers.MaxPooling2D(pool_size=2, strides=2, padding="valid", name=name)
