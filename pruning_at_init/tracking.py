"""Compiled training steps that also add |dL/dkernel| of every step into one sum per masked layer.

The steps are training.steps.CompiledSteps' own; only their `apply_gradients` first adds the
gradients up, so the gradient summed is exactly the one Adam applies, at the cost of one abs and one
add per weight and step (no second backward pass).
"""

import tensorflow as tf

from training.steps import CompiledSteps


class GradientTrackingSteps(CompiledSteps):
    def __init__(self, model, optimizer, x_train, y_train, masked_layers, jit_compile=True):
        self.sums = [tf.Variable(tf.zeros(layer.kernel.shape, layer.kernel.dtype), trainable=False,
                                 name=f"{layer.name}_gradient_sum") for layer in masked_layers]
        self.positions = {id(layer.kernel): index for index, layer in enumerate(masked_layers)}
        super().__init__(model, optimizer, x_train, y_train, masked_layers, jit_compile=jit_compile)

    def apply_gradients(self, gradients):
        for gradient, variable in zip(gradients, self.trainable, strict=True):
            if id(variable) in self.positions:
                self.sums[self.positions[id(variable)]].assign_add(tf.abs(gradient))
        super().apply_gradients(gradients)

    def gradient_values(self):
        """numpy copies of the sums, one per masked layer."""
        return [total.numpy() for total in self.sums]

    def set_gradient_values(self, values=None):
        """Sets the sums (zero when values is None)."""
        for index, total in enumerate(self.sums):
            total.assign(tf.zeros_like(total) if values is None else values[index])
