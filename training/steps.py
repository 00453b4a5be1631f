"""Compiled training and evaluation steps over data held in memory.

LeNet at batch 25 is bound by per-step framework overhead, not arithmetic. So one XLA-compiled
call runs many optimizer steps in a loop, gathering each mini-batch from tensors that stay in
memory, instead of one Python/tf.data round trip per step. (Networks with convolutions are bound by
arithmetic, and loop in the compiled graph without XLA; under XLA they loop in Python, see below.) The last, partial batch of an epoch is
padded to full size with sample weights 0, so every call has one static shape (one compilation)
and the update equals that of the partial batch exactly (the loss is a weighted mean).
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops


# Evaluation batch sizes measured fastest (bench/conv_speed.py, bench/lenet_speed.py): XLA-compiled dense
# networks gain from large batches; TensorFlow's convolutions run best on batches that stay in cache.
EVALUATION_BATCH_SIZE = {"dense": 1000, "conv": 200}


def has_convolutions(masked_layers):
    return any(len(layer.kernel.shape) == 4 for layer in masked_layers)


def evaluation_batch_size(masked_layers):
    return EVALUATION_BATCH_SIZE["conv" if has_convolutions(masked_layers) else "dense"]


def _weighted_mean(values, weights):
    return ops.sum(values * weights) / ops.sum(weights)


class CompiledSteps:
    """Training and evaluation functions for one model, optimizer and training set."""

    def __init__(self, model, optimizer, x_train, y_train, masked_layers, jit_compile=True):
        self.model = model
        self.optimizer = optimizer
        self.x_train = tf.convert_to_tensor(x_train)
        self.y_train = tf.convert_to_tensor(y_train, dtype=tf.int32)
        self.masked_layers = masked_layers
        self.evaluation_batch_size = evaluation_batch_size(masked_layers)
        self.trainable = model.trainable_variables
        self.optimizer.build(self.trainable)
        self._compiled_train_range = tf.function(self._train_range, jit_compile=jit_compile)
        # XLA's CPU convolutions inside a compiled loop run ~100x slower than the same step compiled on its own
        # (measured: Conv2, 2 s vs 0.02 s per step), so under XLA, networks with convolutions loop in Python.
        self.steps_in_python = jit_compile and has_convolutions(masked_layers)
        self._compiled_step = tf.function(self._train_step, jit_compile=jit_compile)
        self.evaluate_batch = tf.function(self._evaluate_batch, jit_compile=jit_compile)
        from masking import mask_counts
        self.mask_counts = tf.function(lambda: mask_counts(self.masked_layers), jit_compile=jit_compile)

    def _loss(self, probabilities, labels, weights):
        cross_entropy = keras.losses.sparse_categorical_crossentropy(labels, probabilities)
        data_loss = _weighted_mean(cross_entropy, weights)
        extra = ops.sum(ops.stack(self.model.losses)) if self.model.losses else 0.0
        correct = ops.cast(ops.equal(ops.argmax(probabilities, axis=-1), ops.cast(labels, "int64")), "float32")
        return data_loss + extra, ops.sum(correct * weights)

    def _train_step(self, indices, weights):
        images = tf.gather(self.x_train, indices)
        labels = tf.gather(self.y_train, indices)
        with tf.GradientTape() as tape:
            probabilities = self.model(images, training=True)
            loss, correct = self._loss(probabilities, labels, weights)
        self.apply_gradients(tape.gradient(loss, self.trainable))
        return loss, correct

    def apply_gradients(self, gradients):
        """One optimizer step (subclasses may look at the gradients first)."""
        self.optimizer.apply(gradients, self.trainable)

    def _train_range(self, batch_indices, batch_weights, start, stop):
        """Runs steps start..stop-1 of the epoch; returns each step's (mean loss, correct count),
        zero outside the range. Per-step values keep the epoch's totals independent of how the
        epoch is cut into calls (progress bar, Ctrl-C, resume)."""
        step_losses = tf.zeros(tf.shape(batch_weights)[:1])
        step_correct = tf.zeros(tf.shape(batch_weights)[:1])
        step = start
        # A `while` on tensors, not `for ... in tf.range`: XLA would treat range bounds as
        # compile-time constants and recompile for every chunk.
        while step < stop:
            loss, correct = self._train_step(batch_indices[step], batch_weights[step])
            step_losses = tf.tensor_scatter_nd_update(step_losses, [[step]], [loss])
            step_correct = tf.tensor_scatter_nd_update(step_correct, [[step]], [correct])
            step += 1
        return step_losses, step_correct

    def train_steps(self, batch_indices, batch_weights, start, stop):
        """numpy (losses, correct counts) of steps start..stop-1."""
        if self.steps_in_python:
            results = [self._compiled_step(tf.constant(batch_indices[step]), tf.constant(batch_weights[step]))
                       for step in range(start, stop)]
            return (np.array([float(loss) for loss, _ in results], dtype=np.float32),
                    np.array([float(correct) for _, correct in results], dtype=np.float32))
        # Tensors, not Python ints: a Python value would retrace (and recompile) per chunk.
        losses, correct = self._compiled_train_range(batch_indices, batch_weights,
                                                     tf.constant(start, tf.int32), tf.constant(stop, tf.int32))
        return np.asarray(losses)[start:stop], np.asarray(correct)[start:stop]

    def train_range(self, batch_indices, batch_weights, start, stop):
        """(sum of loss * batch size, correct count, examples) over steps start..stop-1."""
        losses, correct = self.train_steps(batch_indices, batch_weights, start, stop)
        sizes = np.asarray(batch_weights, dtype=np.float64)[start:stop].sum(axis=1)
        return float(np.sum(losses * sizes)), float(np.sum(correct)), float(np.sum(sizes))

    def _evaluate_batch(self, images, labels):
        probabilities = self.model(images, training=False)
        cross_entropy = keras.losses.sparse_categorical_crossentropy(labels, probabilities)
        correct = ops.equal(ops.argmax(probabilities, axis=-1), ops.cast(labels, "int64"))
        extra = ops.sum(ops.stack(self.model.losses)) if self.model.losses else ops.zeros(())
        return cross_entropy, correct, extra

    def evaluate(self, images, labels, batch_size=None):
        """(mean loss, accuracy) over a whole split, in fixed-size batches (the last one padded).

        Per-example losses are summed in float64 in example order, so for networks whose per-example
        outputs do not depend on the batch they are computed in (tests/test_evaluation.py), the result
        does not depend on `batch_size` either."""
        count = len(images)
        batch_size = min(batch_size or self.evaluation_batch_size, count)
        losses, correct = [], []
        for start in range(0, count, batch_size):
            batch_images = images[start:start + batch_size]
            batch_labels = labels[start:start + batch_size]
            real = len(batch_images)
            if real < batch_size:
                batch_images = np.concatenate([batch_images, np.repeat(batch_images[:1], batch_size - real, axis=0)])
                batch_labels = np.concatenate([batch_labels, np.repeat(batch_labels[:1], batch_size - real)])
            batch_losses, batch_correct, extra = self.evaluate_batch(batch_images, batch_labels.astype("int32"))
            losses.append(np.asarray(batch_losses)[:real])
            correct.append(np.asarray(batch_correct)[:real])
        mean_loss = float(np.sum(np.concatenate(losses), dtype=np.float64) / count) + float(extra)
        return mean_loss, float(np.count_nonzero(np.concatenate(correct)) / count)
