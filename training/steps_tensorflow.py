"""Training steps on TensorFlow: tf.function, optionally XLA-compiled, looping over steps in the graph."""

import numpy as np
import tensorflow as tf

from masking import mask_counts
from training.steps import Steps, any_convolution_layer


class TensorFlowSteps(Steps):
    def __init__(self, model, optimizer, x_train, y_train, masked_layers, jit_compile=True, track_gradients=False):
        super().__init__(model, optimizer, masked_layers, track_gradients)
        self.x_train = tf.convert_to_tensor(x_train)
        self.y_train = tf.convert_to_tensor(y_train, dtype=tf.int32)
        self.gradient_sums = [tf.Variable(tf.zeros(self.trainable[index].shape), trainable=False,
                                          name=f"{self.trainable[index].name}_gradient_sum")
                              for index in self.kernel_positions]
        self._compiled_train_range = tf.function(self._train_range, jit_compile=jit_compile)
        # XLA's CPU convolutions inside a compiled loop run ~100x slower than the same step compiled on its own
        # (measured: Conv2, 2 s vs 0.02 s per step), so under XLA, networks with convolutions loop in Python.
        self.steps_in_python = jit_compile and any_convolution_layer(masked_layers)
        # Keras 3's layers and ops need no AutoGraph (they run on JAX too), and tracing without it is faster; only
        # _train_range's `while` on tensors needs it, and its step is left unconverted.
        self._compiled_step = tf.function(self._train_step, jit_compile=jit_compile, autograph=False)
        self.evaluate_batch = tf.function(self._evaluate_batch, jit_compile=jit_compile, autograph=False)
        self.mask_counts = tf.function(lambda: mask_counts(self.masked_layers), jit_compile=jit_compile,
                                       autograph=False)

    def _train_step(self, indices, weights, shifts=None):
        images = self.training_images(tf.gather(self.x_train, indices), shifts)
        labels = tf.gather(self.y_train, indices)
        with tf.GradientTape() as tape:
            probabilities = self.model(images, training=True)
            loss, correct = self.training_loss(probabilities, labels, weights, self.model.losses)
        gradients = tape.gradient(loss, self.trainable)
        # The gradient summed is exactly the one Adam applies (no second backward pass).
        for total, index in zip(self.gradient_sums, self.kernel_positions, strict=True):
            total.assign_add(tf.abs(gradients[index]))
        self.optimizer.apply(gradients, self.trainable)
        return loss, correct

    def _train_range(self, batch_indices, batch_weights, batch_shifts, start, stop):
        """Runs steps start..stop-1 of the epoch; returns each step's (mean loss, correct count),
        zero outside the range. Per-step values keep the epoch's totals independent of how the
        epoch is cut into calls (progress bar, Ctrl-C, resume)."""
        step_losses = tf.zeros(tf.shape(batch_weights)[:1])
        step_correct = tf.zeros(tf.shape(batch_weights)[:1])
        step = start
        # A `while` on tensors, not `for ... in tf.range`: XLA would treat range bounds as
        # compile-time constants and recompile for every chunk.
        while step < stop:
            loss, correct = tf.autograph.experimental.do_not_convert(self._train_step)(
                batch_indices[step], batch_weights[step], None if batch_shifts is None else batch_shifts[step])
            step_losses = tf.tensor_scatter_nd_update(step_losses, [[step]], [loss])
            step_correct = tf.tensor_scatter_nd_update(step_correct, [[step]], [correct])
            step += 1
        return step_losses, step_correct

    def train_one_batch(self, indices, weights, shifts=None):
        loss, correct = self._compiled_step(tf.constant(indices), tf.constant(weights),
                                            None if shifts is None else tf.constant(shifts))
        return float(loss), float(correct)

    def train_batches(self, batch_indices, batch_weights, start, stop, batch_shifts=None):
        """numpy (losses, correct counts) of steps start..stop-1."""
        if self.steps_in_python:
            results = [self._compiled_step(tf.constant(batch_indices[step]), tf.constant(batch_weights[step]),
                                           None if batch_shifts is None else tf.constant(batch_shifts[step]))
                       for step in range(start, stop)]
            return (np.array([float(loss) for loss, _ in results], dtype=np.float32),
                    np.array([float(correct) for _, correct in results], dtype=np.float32))
        # Tensors, not Python ints: a Python value would retrace (and recompile) per chunk.
        losses, correct = self._compiled_train_range(batch_indices, batch_weights, batch_shifts,
                                                     tf.constant(start, tf.int32), tf.constant(stop, tf.int32))
        return np.asarray(losses)[start:stop], np.asarray(correct)[start:stop]

    def _evaluate_batch(self, images, labels):
        probabilities = self.model(images, training=False)
        return self.evaluation_outputs(probabilities, labels, self.model.losses)

    def gradient_values(self):
        """numpy copies of the gradient sums, one per masked layer whose kernel trains."""
        return [total.numpy() for total in self.gradient_sums]

    def set_gradient_values(self, values=None):
        """Sets the gradient sums (zero when values is None)."""
        for index, total in enumerate(self.gradient_sums):
            total.assign(tf.zeros_like(total) if values is None else values[index])
