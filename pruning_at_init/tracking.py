"""Compiled training steps that also add |dL/dkernel| of every step into one sum per masked layer.

The steps are training.steps.CompiledSteps' own; only the optimizer they call is wrapped, so the
gradient summed is exactly the one Adam applies, at the cost of one abs and one add per weight and
step (no second backward pass).
"""

import tensorflow as tf

from training.steps import CompiledSteps


class GradientSummingOptimizer:
    """Stands in for an optimizer: `apply` first adds |gradient| of each masked kernel to its sum."""

    def __init__(self, optimizer, masked_layers):
        self.optimizer = optimizer
        self.sums = [tf.Variable(tf.zeros(layer.kernel.shape, layer.kernel.dtype), trainable=False,
                                 name=f"{layer.name}_gradient_sum") for layer in masked_layers]
        self.positions = {id(layer.kernel): index for index, layer in enumerate(masked_layers)}

    def build(self, variables):
        self.optimizer.build(variables)

    def apply(self, gradients, variables):
        for gradient, variable in zip(gradients, variables):
            if id(variable) in self.positions:
                self.sums[self.positions[id(variable)]].assign_add(tf.abs(gradient))
        return self.optimizer.apply(gradients, variables)

    def __getattr__(self, name):
        return getattr(self.optimizer, name)


class GradientTrackingSteps(CompiledSteps):
    def __init__(self, model, optimizer, x_train, y_train, masked_layers, jit_compile=True):
        self.summing = GradientSummingOptimizer(optimizer, masked_layers)
        super().__init__(model, self.summing, x_train, y_train, masked_layers, jit_compile=jit_compile)

    def gradient_values(self):
        """numpy copies of the sums, one per masked layer."""
        return [total.numpy() for total in self.summing.sums]

    def set_gradient_values(self, values=None):
        """Sets the sums (zero when values is None)."""
        for index, total in enumerate(self.summing.sums):
            total.assign(tf.zeros_like(total) if values is None else values[index])
