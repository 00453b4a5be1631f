"""2x2 max pooling written as a reshape and a max.

Keras' MaxPooling2D lowers to TensorFlow's MaxPoolGrad, which refuses to compile under XLA once op
determinism is enabled. A max over reshaped 2x2 windows has a deterministic gradient and gives the
same forward values as MaxPooling2D(2) with 'valid' padding (an odd last row or column is dropped).
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="networks")
class MaxPool2x2(keras.layers.Layer):
    def call(self, inputs):
        height, width, channels = inputs.shape[1], inputs.shape[2], inputs.shape[3]
        cropped = inputs[:, : height // 2 * 2, : width // 2 * 2, :]
        windows = ops.reshape(cropped, (-1, height // 2, 2, width // 2, 2, channels))
        return ops.max(windows, axis=(2, 4))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1] // 2, input_shape[2] // 2, input_shape[3])
