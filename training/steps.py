"""Compiled training and evaluation steps over data held in memory, on the selected Keras backend.

LeNet at batch 25 is bound by per-step framework overhead, not arithmetic. So one compiled call runs
many optimizer steps in a loop, gathering each mini-batch from arrays that stay in memory, instead
of one Python round trip per step. The last, partial batch of an epoch is padded to full size with
sample weights 0, so every call has one static shape (one compilation) and the update equals that of
the partial batch exactly (the loss is a weighted mean). Not so with BatchNorm, whose batch statistics
would take in the padding: networks with BatchNorm (the ResNets) train that last step on its real
examples alone, in a step compiled once more for that size.

The backends differ only in how a step is compiled: training/steps_tensorflow.py (tf.function, XLA
optional) and training/steps_jax.py (Keras' stateless APIs inside jax.jit); training/compiled_steps.py picks the
one of Keras' backend, so that this module, which both build on, imports neither. Both keep the model's
and optimizer's Keras variables current between calls, so checkpoints, masks and resets read and
assign the variables the same way on either backend.
"""

import keras
import numpy as np
from keras import ops

from training.augmentation import augment

# Evaluation batch sizes measured fastest (bench/conv_speed.py, bench/lenet_speed.py): XLA-compiled dense
# networks gain from large batches; TensorFlow's convolutions run best on batches that stay in cache.
EVALUATION_BATCH_SIZE = {"dense": 1000, "conv": 200}


def any_convolution_layer(masked_layers):
    return any(len(layer.kernel.shape) == 4 for layer in masked_layers)


def evaluation_batch_size(masked_layers):
    return EVALUATION_BATCH_SIZE["conv" if any_convolution_layer(masked_layers) else "dense"]


class Steps:
    """What both backends share: the loss, the per-epoch totals and evaluation in fixed-size batches.

    A backend implements `train_batches` (steps start..stop-1 of full-size, possibly padded, batches;
    batch_shifts: None, or the epoch's augmentation, (steps, batch, 3)), `train_one_batch` (one step on
    batches of any size), `evaluate_batch`, `mask_counts`, `gradient_values` and `set_gradient_values`."""

    def __init__(self, model, optimizer, masked_layers, track_gradients):
        self.model = model
        self.optimizer = optimizer
        self.masked_layers = masked_layers
        self.track_gradients = track_gradients
        self.evaluation_batch_size = evaluation_batch_size(masked_layers)
        # The networks are functional models: model.layers holds every layer.
        self.has_batchnorm = any(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers)
        self.trainable = model.trainable_variables
        self.optimizer.build(self.trainable)
        # Where each masked layer's kernel sits among the trainable variables (for gradient sums).
        positions = {id(variable): index for index, variable in enumerate(self.trainable)}
        self.kernel_positions = [positions[id(layer.kernel)] for layer in masked_layers
                                 if id(layer.kernel) in positions] if track_gradients else []

    @staticmethod
    def training_images(images, shifts):
        """A step's images, shifted and flipped when the epoch draws augmentation (training/augmentation.py)."""
        return images if shifts is None else augment(images, shifts)

    def training_loss(self, probabilities, labels, weights, model_losses):
        """(weighted mean cross-entropy plus the layers' own losses, weighted correct count)."""
        cross_entropy = keras.losses.sparse_categorical_crossentropy(labels, probabilities)
        data_loss = ops.sum(cross_entropy * weights) / ops.sum(weights)
        extra = ops.sum(ops.stack(model_losses)) if model_losses else 0.0
        correct = ops.cast(ops.equal(ops.cast(ops.argmax(probabilities, axis=-1), "int32"), labels), "float32")
        return data_loss + extra, ops.sum(correct * weights)

    @staticmethod
    def evaluation_outputs(probabilities, labels, model_losses):
        """(per-example losses, per-example correct flags, the layers' own losses)."""
        cross_entropy = keras.losses.sparse_categorical_crossentropy(labels, probabilities)
        correct = ops.equal(ops.cast(ops.argmax(probabilities, axis=-1), "int32"), labels)
        extra = ops.sum(ops.stack(model_losses)) if model_losses else ops.zeros(())
        return cross_entropy, correct, extra

    def train_steps(self, batch_indices, batch_weights, start, stop, batch_shifts=None):
        """numpy (losses, correct counts) of steps start..stop-1 (training_in_two_parts says what BatchNorm changes)."""
        def train_real(step, real):
            return self.train_one_batch(
                batch_indices[step][:real].astype(np.int32), batch_weights[step][:real].astype(np.float32),
                None if batch_shifts is None else batch_shifts[step][:real])

        return train_in_two_parts(
            lambda first, last: self.train_batches(batch_indices, batch_weights, first, last, batch_shifts),
            train_real, batch_weights, start, stop, self.has_batchnorm)

    def train_range(self, batch_indices, batch_weights, start, stop, batch_shifts=None):
        """(sum of loss * batch size, correct count, examples) over steps start..stop-1."""
        losses, correct = self.train_steps(batch_indices, batch_weights, start, stop, batch_shifts)
        sizes = np.asarray(batch_weights, dtype=np.float64)[start:stop].sum(axis=1)
        return float(np.sum(losses * sizes)), float(np.sum(correct)), float(np.sum(sizes))

    def evaluate(self, images, labels, batch_size=None):
        """(mean loss, accuracy) over a whole split, in fixed-size batches (the last one padded).

        Per-example losses are summed in float64 in example order, so for networks whose per-example
        outputs do not depend on the batch they are computed in (tests/test_evaluation.py), the result
        does not depend on `batch_size` either."""
        count = len(images)
        losses, correct, extra = evaluate_in_batches(self.evaluate_batch, images, labels,
                                                     batch_size or self.evaluation_batch_size)
        mean_loss = float(np.sum(losses, dtype=np.float64) / count) + float(extra)
        return mean_loss, float(np.count_nonzero(correct) / count)


class SoloSteps:
    """A pack's interface (training/steps_packed.py) over one run's steps that keep its values in its Keras
    variables (TensorFlow's): no state passes in or out, and the results carry a member axis of one."""

    def __init__(self, steps):
        self.members = [steps]
        self.steps = steps

    def stacked_state(self):
        return None

    def store(self, state, members=None):
        """Nothing to write back: the steps trained the variables themselves."""

    def train_steps(self, state, batch_indices, batch_weights, start, stop, batch_shifts=None):
        losses, correct = self.steps.train_steps(batch_indices[0], batch_weights[0], start, stop,
                                                 None if batch_shifts is None else batch_shifts[0])
        return None, np.asarray(losses)[None], np.asarray(correct)[None]

    def evaluate(self, state, images, labels):
        return [self.steps.evaluate(images, labels)]

    def evaluate_splits(self, state, splits):
        """([(mean loss, accuracy)] of each split, mask counts (1, layers, 6))."""
        return [self.evaluate(state, images, labels) for images, labels in splits], self.mask_counts(state)

    def mask_counts(self, state):
        return np.asarray(self.steps.mask_counts())[None]

    def host_values(self, state):
        """None: the checkpoint reads the variables themselves."""
        return [None]


def train_in_two_parts(train_full, train_real, batch_weights, start, stop, has_batchnorm):
    """(losses, correct counts) of steps start..stop-1, the step axis last. train_full(first, last) trains full-size
    (possibly padded) batches; with BatchNorm, whose batch statistics would take in the padding, a padded last batch
    trains on its real examples (which come first in it) alone, through train_real(step, real examples). The
    batch_weights of a pack's members hold a leading member axis; every member has the same number of examples."""
    weights = batch_weights.reshape(-1, *batch_weights.shape[-2:])[0]
    real = int(np.count_nonzero(weights[stop - 1])) if stop > start else 0
    if not has_batchnorm or stop <= start or real == weights.shape[-1]:
        return train_full(start, stop)
    losses, correct = train_full(start, stop - 1)
    last_loss, last_correct = train_real(stop - 1, real)
    return (np.concatenate([losses, np.asarray(last_loss, np.float32)[..., None]], axis=-1),
            np.concatenate([correct, np.asarray(last_correct, np.float32)[..., None]], axis=-1))


def evaluate_in_batches(evaluate_batch, images, labels, batch_size):
    """(per-example losses, per-example correct flags, the layers' own losses of the last batch) of a whole split,
    evaluated in fixed-size batches (the last one padded, its padding dropped). A pack evaluates on the device
    instead (training/steps_packed.py, split_on_device)."""
    count = len(images)
    batch_size = min(batch_size, count)
    losses, correct = [], []
    for start in range(0, count, batch_size):
        batch_images = images[start:start + batch_size]
        batch_labels = labels[start:start + batch_size]
        real = len(batch_images)
        if real < batch_size:
            batch_images = np.concatenate([batch_images, np.repeat(batch_images[:1], batch_size - real, axis=0)])
            batch_labels = np.concatenate([batch_labels, np.repeat(batch_labels[:1], batch_size - real)])
        batch_losses, batch_correct, extra = evaluate_batch(batch_images, batch_labels.astype("int32"))
        losses.append(np.asarray(batch_losses)[..., :real])
        correct.append(np.asarray(batch_correct)[..., :real])
    return np.concatenate(losses, axis=-1), np.concatenate(correct, axis=-1), np.asarray(extra)
