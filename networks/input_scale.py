"""The binary initializer's input scale (networks/architectures.py, BINARY_INPUT_SCALE) as a layer of keras.ops.

Keras' own Rescaling is a preprocessing layer: called on a tensor, it asks TensorFlow whether it runs in a tf.data
graph whenever 'tensorflow' is among the loaded modules. A JAX run marks TensorFlow absent there
(cli/keras_backend.py), so the question raises ImportError, on the GPU machines (which have no TensorFlow) as on a
CPU. `InputScale` computes what Rescaling computes with its offset 0, the input cast to the compute dtype times the
scale, with keras.ops alone. The plain export keeps Keras' Rescaling (export/plain_keras.py), which opens without
this project.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="networks")
class InputScale(keras.layers.Layer):
    """inputs * scale, `scale` a Python float kept as the attribute `.scale`."""

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(scale)

    def call(self, inputs):
        dtype = self.compute_dtype
        return ops.multiply(ops.cast(inputs, dtype), ops.cast(self.scale, dtype))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}
