"""The steps of a pack: N >= 1 runs of one network trained together, one compiled program for all.

Every member has its own JaxSteps (training/steps_jax.py) over its own model and optimizer; the pack maps the first
member's pure functions over the members' values stacked along a new leading axis: weights, scores, BatchNorm
statistics, Adam's moments, step count and learning rate. A single one (a solo run) is mapped by indexing, so
that its program is the run's own; several in the form their device and network take (training/pack_forms.py):
`jax.vmap`, or unrolled one after another. The data set is shared; each member brings its own batches (its own
shuffle, its own augmentation draws). A member's computations never mix with another's, so a member whose loss
becomes NaN leaves the others as they were; the pack then ignores it.

The members' Keras variables are written back from the stacked values at the end of every epoch (and when a
stop is requested), so that checkpoints, masks and final files are each member's own, as for a solo run.
"""

import jax
import jax.numpy as jnp
import numpy as np

from training.pack_forms import chosen_form
from training.steps import any_convolution_layer, train_in_two_parts

_PADDED_SPLITS = []  # ((images, labels, batch size), device copy): a split padded once for all the runs of a process


def member_map(function, members, form="vmap"):
    """`function` of one member's values, applied to every member's in `form` (training/pack_forms.py): the
    arguments and results carry a leading member axis (None arguments pass through)."""
    if members > 1 and form in ("vmap", "folded"):  # folded: vmapped, but for the training step's gradient
        return jax.vmap(function)

    def one_after_another(*arguments):  # a solo run's own program, or the members unrolled
        results = [function(*jax.tree.map(lambda leaf, member=member: leaf[member], arguments))
                   for member in range(members)]
        return jax.tree.map(lambda *leaves: jnp.stack(leaves), *results)
    return one_after_another


def steps_loop(step_at, state, start, count, members=None):
    """(state, losses, correct counts) after `count` calls of step_at(state, step) -> (state, loss, correct) from
    step `start` (traced) in a `fori_loop`; a step's loss and count are scalars, or, for a pack's folded step, one per
    member: the results are then (members, count)."""
    def body(offset, carry):
        state, losses, correct = carry
        state, loss, step_correct = step_at(state, start + offset)
        return state, losses.at[..., offset].set(loss), correct.at[..., offset].set(step_correct)

    zeros = jnp.zeros((count,) if members is None else (members, count), "float32")
    return jax.lax.fori_loop(0, count, body, (state, zeros, zeros))


def split_on_device(images, labels, batch_size):
    """(images (batches, batch, ...), labels (batches, batch), example count) of a split on the device, in whole
    batches: the last one padded with copies of the first example, whose results are dropped. Sent once: the
    validation and test sets stay on the device."""
    for (known_images, known_labels, known_size), device in _PADDED_SPLITS:
        if known_images is images and known_labels is labels and known_size == batch_size:
            return device
    count = len(images)
    batch_size = min(batch_size, count)
    batches = -(-count // batch_size)
    padding = batches * batch_size - count
    padded_images = np.concatenate([images, np.repeat(images[:1], padding, axis=0)]) if padding else images
    padded_labels = np.concatenate([labels, np.repeat(labels[:1], padding)]) if padding else labels
    device = (jnp.asarray(padded_images.reshape(batches, batch_size, *images.shape[1:])),
              jnp.asarray(padded_labels.astype(np.int32).reshape(batches, batch_size)), count)
    # The host arrays are kept alive with their copy, so that their ids stay their own.
    _PADDED_SPLITS[:] = [*_PADDED_SPLITS[-5:], ((images, labels, batch_size), device)]
    return device


class PackedJaxSteps:
    def __init__(self, member_steps):
        self.members = list(member_steps)
        template = self.template = self.members[0]
        self.form = chosen_form(jax.default_backend(), any_convolution_layer(template.masked_layers),
                                len(self.members)) if len(self.members) > 1 else "solo"
        self.x_train, self.y_train = template.x_train, template.y_train
        self.has_batchnorm = template.has_batchnorm
        self.evaluation_batch_size = template.evaluation_batch_size
        self.steps_in_python = template.steps_in_python
        self._train_chunk = jax.jit(self._train_chunk_function, donate_argnums=0, static_argnames="count")
        self._train_step = jax.jit(self._train_step_function, donate_argnums=0)
        self._evaluate_batch = jax.jit(self._evaluate_batch_function)
        self._mask_counts_function = member_map(template.mask_counts_function, len(self.members), self.form)
        self._mask_counts = jax.jit(self._mask_counts_function)
        self._evaluate_splits = jax.jit(self._evaluate_splits_function)
        self._epoch_batches = None  # (host arrays, device arrays) of the epoch being trained

    def _train_chunk_function(self, state, x_train, y_train, batch_indices, batch_weights, batch_shifts, start,
                              count):
        if self.form == "folded":
            return self._folded_chunk_function(state, x_train, y_train, batch_indices, batch_weights, batch_shifts,
                                               start, count)

        def member_chunk(member_state, indices, weights, shifts):
            return self.template.train_chunk_function(member_state, x_train, y_train, indices, weights, shifts,
                                                      start, count)
        return member_map(member_chunk, len(self.members), self.form)(state, batch_indices, batch_weights, batch_shifts)

    def _train_step_function(self, state, x_train, y_train, indices, weights, shifts):
        if self.form == "folded":
            return self._folded_step_function(state, x_train, y_train, indices, weights, shifts)

        def member_step(member_state, member_indices, member_weights, member_shifts):
            return self.template.train_step_function(member_state, x_train, y_train, member_indices, member_weights,
                                                     member_shifts)
        return member_map(member_step, len(self.members), self.form)(state, indices, weights, shifts)

    def _folded_step_function(self, state, x_train, y_train, indices, weights, shifts):
        """One step of every member as the gradient of the sum of their losses (training/pack_forms.py, folded):
        the members' forward passes vmapped, so that XLA differentiates their convolutions as grouped ones, rather
        than each member's gradient vmapped. A member's loss reaches only its own values, so each gradient is its
        own."""
        template = self.template
        trainable, non_trainable, _, _ = state

        def total_loss(stacked_trainable):
            losses, auxiliary = jax.vmap(template.loss_function, in_axes=(0, 0, None, None, 0, 0, 0))(
                stacked_trainable, non_trainable, x_train, y_train, indices, weights, shifts)
            return jnp.sum(losses), (losses, auxiliary)

        (_, (losses, (correct, non_trainable))), gradients = jax.value_and_grad(total_loss, has_aux=True)(trainable)
        return jax.vmap(template.apply_function)(state, gradients, non_trainable), losses, correct

    def _folded_chunk_function(self, state, x_train, y_train, batch_indices, batch_weights, batch_shifts, start,
                               count):
        """`count` folded steps from step `start` (as JaxSteps.train_chunk_function, the members' axis first)."""
        def step_at(state, step):
            return self._folded_step_function(state, x_train, y_train, batch_indices[:, step], batch_weights[:, step],
                                              None if batch_shifts is None else batch_shifts[:, step])
        return steps_loop(step_at, state, start, count, members=len(self.members))

    def _evaluate_batch_function(self, trainable, non_trainable, images, labels):
        def member_evaluation(member_trainable, member_non_trainable):
            return self.template.evaluate_batch_function(member_trainable, member_non_trainable, images, labels)
        return member_map(member_evaluation, len(self.members), self.form)(trainable, non_trainable)

    def _evaluate_splits_function(self, trainable, non_trainable, splits):
        """Per split (batched images and labels), every member's per-example losses and correct flags (members,
        examples) and its layers' own losses; and the mask counts: one program for a whole epoch's evaluation."""
        def evaluate_split(images, labels):
            def batch(carry, batch_data):
                return carry, self._evaluate_batch_function(trainable, non_trainable, *batch_data)
            _, (losses, correct, extra) = jax.lax.scan(batch, None, (images, labels))
            members = losses.shape[1]  # (batches, members, batch) to (members, examples)
            return (jnp.moveaxis(losses, 1, 0).reshape(members, -1),
                    jnp.moveaxis(correct, 1, 0).reshape(members, -1), extra[-1])
        return ([evaluate_split(images, labels) for images, labels in splits],
                self._mask_counts_function(trainable, non_trainable))

    # The members' values, stacked and back --------------------------------------------------------
    def stacked_state(self):
        states = [member.state() for member in self.members]
        return jax.tree.map(lambda *leaves: jnp.stack(leaves), *states)

    def host_values(self, state):
        """Every member's (model values, optimizer values) on the host, from one copy of the stacked state."""
        host = jax.device_get(state)
        return [member.checkpoint_values(jax.tree.map(lambda leaf, index=index: leaf[index], host))
                for index, member in enumerate(self.members)]

    def store(self, state, members=None):
        """Writes member i's slice of `state` into its Keras variables, for i in `members` (default: all)."""
        for index in range(len(self.members)) if members is None else members:
            self.members[index].store(jax.tree.map(lambda leaf: leaf[index], state))

    # Training ---------------------------------------------------------------------------------------
    def train_steps(self, state, batch_indices, batch_weights, start, stop, batch_shifts=None):
        """(state, losses (members, steps), correct counts (members, steps)) after steps start..stop-1; the batch
        arrays hold one leading row per member."""
        indices, weights, shifts = self._device_batches(batch_indices, batch_weights, batch_shifts)
        results = {}

        def train_full(first, last):
            results["state"], losses, correct = self._train_full(results.get("state", state), indices, weights,
                                                                 shifts, first, last)
            return losses, correct

        def train_real(step, real):
            results["state"], loss, correct = self._train_step(
                results.get("state", state), self.x_train, self.y_train, indices[:, step, :real],
                weights[:, step, :real], None if shifts is None else shifts[:, step, :real])
            return np.asarray(loss), np.asarray(correct)

        losses, correct = train_in_two_parts(train_full, train_real, batch_weights, start, stop, self.has_batchnorm)
        return results.get("state", state), losses, correct

    def _device_batches(self, *host_arrays):
        """The epoch's batches (indices, weights, shifts or None) on the device, sent once per epoch rather than
        once per call."""
        cached = self._epoch_batches
        if cached is None or any(old is not new for old, new in zip(cached[0], host_arrays, strict=True)):
            indices, weights, shifts = host_arrays
            device = (jnp.asarray(indices.astype(np.int32, copy=False)),
                      jnp.asarray(weights.astype(np.float32, copy=False)),
                      None if shifts is None else jnp.asarray(shifts))
            self._epoch_batches = cached = (host_arrays, device)
        return cached[1]

    def _train_full(self, state, indices, weights, shifts, start, stop):
        members = len(self.members)
        if stop <= start:
            return state, np.zeros((members, 0), np.float32), np.zeros((members, 0), np.float32)
        if self.steps_in_python:  # convolutions on a CPU: one compiled step per call (see steps_jax.py)
            results = []
            for step in range(start, stop):
                state, loss, correct = self._train_step(state, self.x_train, self.y_train, indices[:, step],
                                                        weights[:, step], None if shifts is None else shifts[:, step])
                results.append((loss, correct))
            return (state, np.stack([np.asarray(loss) for loss, _ in results], axis=1),
                    np.stack([np.asarray(correct) for _, correct in results], axis=1))
        state, losses, correct = self._train_chunk(state, self.x_train, self.y_train, indices, weights, shifts,
                                                   jnp.int32(start), count=stop - start)
        return state, np.asarray(losses), np.asarray(correct)

    # Evaluation -------------------------------------------------------------------------------------
    def evaluate_splits(self, state, splits):
        """([(mean loss, accuracy) of every member] for each split of `splits` ((images, labels) on the host), the
        mask counts (members, layers, 6)): one compiled call, one transfer back. As Steps.evaluate computes them:
        per-example losses summed in float64 in example order."""
        device = [split_on_device(images, labels, self.evaluation_batch_size) for images, labels in splits]
        batched = tuple(split[:2] for split in device)
        results, counts = jax.device_get(self._evaluate_splits(state[0], state[1], batched))
        evaluations = []
        for (losses, correct, extra), (_, _, count) in zip(results, device, strict=True):
            evaluations.append([(float(np.sum(losses[member, :count], dtype=np.float64) / count) + float(extra[member]),
                                 float(np.count_nonzero(correct[member, :count]) / count))
                                for member in range(len(self.members))])
        return evaluations, np.asarray(counts)

    def evaluate(self, state, images, labels):
        """[(mean loss, accuracy)] of every member over a whole split."""
        return self.evaluate_splits(state, [(images, labels)])[0][0]

    def mask_counts(self, state):
        """(members, layers, 6) mask counts, as masking.mask_counts gives them for one run."""
        return np.asarray(self._mask_counts(state[0], state[1]))
