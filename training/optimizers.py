"""The optimizers a run can train with (--optimizer), in PyTorch's conventions, which the peers trained with.

- adam: Keras' Adam, as the 2020 code (its defaults: beta 0.9 and 0.999, epsilon 1e-7).
- sgd: stochastic gradient descent with momentum as torch.optim.SGD computes it (hidden-networks, Synaptic-Flow):
  buffer = momentum * buffer + gradient; variable -= learning rate * buffer. Keras' own SGD keeps the learning
  rate inside its velocity (velocity = momentum * velocity - rate * gradient), which differs from PyTorch as soon
  as the rate changes (a cosine schedule, a drop).

--weight-decay is PyTorch's `weight_decay` for both: weight decay * variable is added to the gradient of every
trained variable before the update (an L2 penalty's gradient), not Keras' decoupled decay (variable -= rate *
decay * variable, AdamW's). For connectivity training the trained variables are the scores, as in hidden-networks.
"""

import keras
from keras import ops

from training.choices import DEFAULT_MOMENTUM, OPTIMIZERS


def _with_weight_decay(gradient, variable, weight_decay):
    gradient = ops.cast(gradient, variable.dtype)
    if weight_decay == 0.0:
        return gradient
    return ops.add(gradient, ops.multiply(ops.cast(weight_decay, variable.dtype), variable))


@keras.saving.register_keras_serializable(package="training")
class TorchSGD(keras.optimizers.Optimizer):
    """SGD with PyTorch's momentum buffer and coupled weight decay (no dampening, no Nesterov). Built on Keras'
    public Optimizer; its buffers are named as Keras' own SGD names them ({variable path}_momentum)."""

    def __init__(self, learning_rate=0.01, momentum=0.0, torch_weight_decay=0.0, name="torch_sgd", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.momentum = float(momentum)
        self.torch_weight_decay = float(torch_weight_decay)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.buffers = {}
        for variable in variables if self.momentum else ():
            buffer = self.add_variable_from_reference(variable, "momentum")
            self.buffers[id(variable)] = buffer
            if keras.backend.backend() == "tensorflow":  # whose update_step gets the tf.Variable behind it
                self.buffers[id(variable.value)] = buffer

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = _with_weight_decay(gradient, variable, self.torch_weight_decay)
        if not self.momentum:
            self.assign_sub(variable, ops.multiply(gradient, learning_rate))
            return
        buffer = self.buffers[id(variable)]
        self.assign(buffer, ops.add(ops.multiply(buffer, ops.cast(self.momentum, variable.dtype)), gradient))
        self.assign_sub(variable, ops.multiply(buffer, learning_rate))

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "torch_weight_decay": self.torch_weight_decay}


@keras.saving.register_keras_serializable(package="training")
class TorchAdam(keras.optimizers.Adam):
    """Keras' Adam with PyTorch's coupled weight decay (torch.optim.Adam's weight_decay)."""

    def __init__(self, learning_rate=0.001, torch_weight_decay=0.0, **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.torch_weight_decay = float(torch_weight_decay)

    def update_step(self, gradient, variable, learning_rate):
        super().update_step(_with_weight_decay(gradient, variable, self.torch_weight_decay), variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "torch_weight_decay": self.torch_weight_decay}


def build_optimizer(name, learning_rate, momentum=DEFAULT_MOMENTUM, weight_decay=0.0):
    """The optimizer of --optimizer NAME. Plain Keras Adam without weight decay, so that a checkpoint holds the
    same optimizer variables whichever version wrote it, and a run resumes onto the very same optimizer."""
    if name == "adam":
        if weight_decay == 0.0:
            return keras.optimizers.Adam(learning_rate=learning_rate)
        return TorchAdam(learning_rate=learning_rate, torch_weight_decay=weight_decay)
    if name == "sgd":
        return TorchSGD(learning_rate=learning_rate, momentum=momentum, torch_weight_decay=weight_decay)
    raise ValueError(f"Unknown optimizer '{name}'; choose one of {', '.join(OPTIMIZERS)}.")
