"""Training steps on JAX: Keras' stateless APIs (a `keras.StatelessScope`, `optimizer.stateless_apply`)
inside `jax.jit`, many steps per call in a `fori_loop` of a static trip count.

The values of the model's and optimizer's variables go into a compiled call and come back updated;
they are written back into the Keras variables after every call, so that everything outside the
steps (checkpoints, masks, the lottery and pruning-at-initialisation methods) reads and assigns the
variables as on TensorFlow.
"""

import jax
import jax.numpy as jnp
import keras
import numpy as np

from masking import mask_counts
from training.steps import Steps, any_convolution_layer
from training.steps_packed import PackedJaxSteps, steps_loop

_DEVICE_COPIES = []  # (host array, its device copy): the runs of a pack share one copy of the data set


def on_device(array):
    """The device copy of a host array, made once for all the runs of this process that train on it."""
    for host, device in _DEVICE_COPIES:
        if host is array:
            return device
    device = jnp.asarray(array)
    _DEVICE_COPIES[:] = [*_DEVICE_COPIES[-3:], (array, device)]  # the host array kept alive: its id stays its own
    return device


class JaxSteps(Steps):
    """One run's steps. Its public pure functions (`train_step_function`, `train_chunk_function`,
    `evaluate_batch_function`, `mask_counts_function`) take and return the values of the model's and optimizer's
    variables (`state`); training/steps_packed.py maps them over a pack's members, and a solo run trains as a pack
    of one, so that the step loop and the BatchNorm rule exist once."""

    def __init__(self, model, optimizer, x_train, y_train, masked_layers, jit_compile=True, track_gradients=False):
        super().__init__(model, optimizer, masked_layers, track_gradients)
        self.x_train = on_device(x_train)
        self.y_train = on_device(np.asarray(y_train, dtype=np.int32) if y_train.dtype != np.int32 else y_train)
        self.non_trainable = model.non_trainable_variables
        self.gradient_sums = [jnp.zeros(self.trainable[index].shape, "float32") for index in self.kernel_positions]
        # As on TensorFlow, XLA's CPU convolutions inside a compiled loop run far slower than the same step
        # compiled on its own (measured: Conv2, 3.4 s vs 0.09 s per step), so on a CPU they loop in Python.
        self.steps_in_python = any_convolution_layer(masked_layers) and jax.default_backend() == "cpu"
        self._evaluate_batch = jax.jit(self.evaluate_batch_function)
        self._mask_counts = jax.jit(self.mask_counts_function)
        self.pack_of_one = PackedJaxSteps([self])
        self._member_axis = None  # (host arrays, the same with a member axis) of the epoch being trained

    # The variables' values in and out of compiled calls ---------------------------------------
    def model_values(self):
        return [variable.value for variable in self.trainable], [variable.value for variable in self.non_trainable]

    def state(self):
        trainable, non_trainable = self.model_values()
        return trainable, non_trainable, [variable.value for variable in self.optimizer.variables], self.gradient_sums

    def store(self, state):
        trainable, non_trainable, optimizer_values, self.gradient_sums = state
        for variables, values in ((self.trainable, trainable), (self.non_trainable, non_trainable),
                                  (self.optimizer.variables, optimizer_values)):
            for variable, value in zip(variables, values, strict=True):
                variable.assign(value)

    def checkpoint_values(self, state):
        """(model values in model.variables' order, optimizer values) of a state on the host."""
        trainable, non_trainable, optimizer_values, _ = state
        by_variable = {id(variable): value for variables, values in ((self.trainable, trainable),
                                                                     (self.non_trainable, non_trainable))
                       for variable, value in zip(variables, values, strict=True)}
        return [by_variable[id(variable)] for variable in self.model.variables], list(optimizer_values)

    # Pure functions ---------------------------------------------------------------------------
    def stateless_call(self, trainable, non_trainable, images, training):
        """(outputs, the non-trainable variables' new values, the layers' own losses): what
        `model.stateless_call(..., return_losses=True)` gives, with the model called as the outermost layer.

        Keras' stateless_call calls `model.call`, so that each layer enters as the outermost one and clears its
        own losses first: it drops from the losses collected so far every tensor whose id is one its previous call
        recorded. A loss tensor that a layer before it adds at the address of such a freed tensor is then lost
        (seen: MinFlipping's penalty missing from one run's validation loss, in about one test run in three;
        tests/test_stateless_losses.py shows how). Called as the outermost layer, the model clears every layer's record
        before any layer adds."""
        mapping = [*zip(self.trainable, trainable), *zip(self.non_trainable, non_trainable)]
        with keras.StatelessScope(state_mapping=mapping, collect_losses=True) as scope:
            outputs = self.model(images, training=training)
            losses = self.model.losses
        return outputs, [scope.get_current_value(variable) for variable in self.non_trainable], losses

    def train_step_function(self, state, x_train, y_train, indices, weights, shifts):
        trainable, non_trainable, _, _ = state
        (loss, (correct, non_trainable)), gradients = jax.value_and_grad(self.loss_function, has_aux=True)(
            trainable, non_trainable, x_train, y_train, indices, weights, shifts)
        return self.apply_function(state, gradients, non_trainable), loss, correct

    def loss_function(self, trainable, non_trainable, x_train, y_train, indices, weights, shifts):
        """(mean loss of a step, (correct count, BatchNorm's updated statistics)) of the batch at `indices`."""
        images = self.training_images(jnp.take(x_train, indices, axis=0), shifts)
        labels = jnp.take(y_train, indices, axis=0)
        probabilities, new_non_trainable, model_losses = self.stateless_call(trainable, non_trainable, images,
                                                                             training=True)
        loss, correct = self.training_loss(probabilities, labels, weights, model_losses)
        return loss, (correct, new_non_trainable)

    def apply_function(self, state, gradients, non_trainable):
        """The state after a step's gradients: the optimizer's update, and the gradient sums."""
        trainable, _, optimizer_values, sums = state
        # The gradient summed is exactly the one Adam applies (no second backward pass).
        sums = [total + jnp.abs(gradients[index]) for total, index in zip(sums, self.kernel_positions, strict=True)]
        trainable, optimizer_values = self.optimizer.stateless_apply(optimizer_values, gradients, trainable)
        return trainable, non_trainable, optimizer_values, sums

    def train_chunk_function(self, state, x_train, y_train, batch_indices, batch_weights, batch_shifts, start, count):
        """`count` steps from step `start`, and each step's (mean loss, correct count). The trip count is static
        (one compilation per chunk size: a full chunk and the epoch's remainder), because a GPU runs a loop of
        unknown length by asking the host after every step whether to go on; `start` is traced."""
        def step_at(state, step):
            return self.train_step_function(state, x_train, y_train, batch_indices[step], batch_weights[step],
                                            None if batch_shifts is None else batch_shifts[step])
        return steps_loop(step_at, state, start, count)

    def evaluate_batch_function(self, trainable, non_trainable, images, labels):
        probabilities, _, model_losses = self.stateless_call(trainable, non_trainable, images, training=False)
        return self.evaluation_outputs(probabilities, labels, model_losses)

    def mask_counts_function(self, trainable, non_trainable):
        mapping = list(zip(self.trainable, trainable)) + list(zip(self.non_trainable, non_trainable))
        with keras.StatelessScope(state_mapping=mapping):
            return mask_counts(self.masked_layers)

    # The interface of training.steps.Steps ----------------------------------------------------
    def train_steps(self, batch_indices, batch_weights, start, stop, batch_shifts=None):
        """numpy (losses, correct counts) of steps start..stop-1, trained as a pack of one."""
        cached = self._member_axis
        host = (batch_indices, batch_weights, batch_shifts)
        if cached is None or any(old is not new for old, new in zip(cached[0], host, strict=True)):
            # The same arrays with a member axis, kept for the epoch: the pack sends them to the device once.
            self._member_axis = cached = (host, tuple(None if array is None else array[None] for array in host))
        pack = self.pack_of_one
        state, losses, correct = pack.train_steps(pack.stacked_state(), *cached[1][:2], start, stop, cached[1][2])
        pack.store(state)
        return losses[0], correct[0]

    def evaluate_batch(self, images, labels):
        return self._evaluate_batch(*self.model_values(), images, labels)

    def mask_counts(self):
        return self._mask_counts(*self.model_values())

    def gradient_values(self):
        """numpy copies of the gradient sums, one per masked layer whose kernel trains."""
        return [np.array(total) for total in self.gradient_sums]

    def set_gradient_values(self, values=None):
        """Sets the gradient sums (zero when values is None)."""
        self.gradient_sums = [jnp.zeros_like(total) if values is None else jnp.asarray(values[index], "float32")
                              for index, total in enumerate(self.gradient_sums)]
