"""The steps of a pack: N runs of one network trained together, one compiled program for all (`jax.vmap`).

Every member has its own JaxSteps (training/steps_jax.py) over its own model and optimizer; the pack takes
the first member's compiled functions as the template and maps them over the members' values stacked along
a new leading axis: weights, scores, BatchNorm statistics, Adam's moments, step count and learning rate.
The data set is shared; each member brings its own batches (its own shuffle, its own augmentation draws).
A member's computations never mix with another's, so a member whose loss becomes NaN leaves the others as
they were; the pack then ignores it.

The members' Keras variables are written back from the stacked values at the end of every epoch (and when a
stop is requested), so that checkpoints, masks and final files are each member's own, as for a solo run.
"""

import jax
import jax.numpy as jnp
import numpy as np

from training.steps import evaluate_in_batches


class PackedJaxSteps:
    def __init__(self, member_steps):
        self.members = list(member_steps)
        template = self.template = self.members[0]
        self.x_train, self.y_train = template.x_train, template.y_train
        self.has_batchnorm = template.has_batchnorm
        self.evaluation_batch_size = template.evaluation_batch_size
        self.steps_in_python = template.steps_in_python
        self._train_chunk = jax.jit(self._train_chunk_function, donate_argnums=0, static_argnames="count")
        self._train_step = jax.jit(jax.vmap(template._train_step_function, in_axes=(0, None, None, 0, 0, 0)),
                                   donate_argnums=0)
        self._evaluate_batch = jax.jit(jax.vmap(template._evaluate_batch_function, in_axes=(0, 0, None, None)))
        self._mask_counts = jax.jit(jax.vmap(template._mask_counts_function))

    def _train_chunk_function(self, state, x_train, y_train, batch_indices, batch_weights, batch_shifts, start,
                              count):
        def member_chunk(member_state, indices, weights, shifts):
            return self.template._train_chunk_function(member_state, x_train, y_train, indices, weights, shifts,
                                                       start, count)
        return jax.vmap(member_chunk)(state, batch_indices, batch_weights, batch_shifts)

    # The members' values, stacked and back --------------------------------------------------------
    def stacked_state(self):
        states = [member._state() for member in self.members]
        return jax.tree.map(lambda *leaves: jnp.stack(leaves), *states)

    def store(self, state, members=None):
        """Writes member i's slice of `state` into its Keras variables, for i in `members` (default: all)."""
        for index in range(len(self.members)) if members is None else members:
            self.members[index]._store(jax.tree.map(lambda leaf: leaf[index], state))

    # Training ---------------------------------------------------------------------------------------
    def train_steps(self, state, batch_indices, batch_weights, start, stop, batch_shifts=None):
        """(state, losses (members, steps), correct counts (members, steps)) after steps start..stop-1; the batch
        arrays hold one leading row per member. With BatchNorm a padded last batch trains on its real examples
        alone, as in training/steps.py (every member has the same number of them)."""
        real = int(np.count_nonzero(batch_weights[0, stop - 1]))
        if self.has_batchnorm and real < batch_weights.shape[2]:
            state, losses, correct = self._train_full(state, batch_indices, batch_weights, start, stop - 1,
                                                      batch_shifts)
            last = (batch_indices[:, stop - 1, :real], batch_weights[:, stop - 1, :real],
                    None if batch_shifts is None else batch_shifts[:, stop - 1, :real])
            state, last_loss, last_correct = self._train_step(state, self.x_train, self.y_train,
                                                              *(None if a is None else jnp.asarray(a) for a in last))
            return (state, np.concatenate([losses, np.asarray(last_loss)[:, None]], axis=1),
                    np.concatenate([correct, np.asarray(last_correct)[:, None]], axis=1))
        return self._train_full(state, batch_indices, batch_weights, start, stop, batch_shifts)

    def _train_full(self, state, batch_indices, batch_weights, start, stop, batch_shifts):
        members = len(self.members)
        if stop <= start:
            return state, np.zeros((members, 0), np.float32), np.zeros((members, 0), np.float32)
        indices = jnp.asarray(batch_indices.astype(np.int32, copy=False))
        weights = jnp.asarray(batch_weights.astype(np.float32, copy=False))
        shifts = None if batch_shifts is None else jnp.asarray(batch_shifts)
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
    def evaluate(self, state, images, labels, batch_size=None):
        """[(mean loss, accuracy)] of every member over a whole split, computed as Steps.evaluate does."""
        trainable, non_trainable = state[0], state[1]
        losses, correct, extra = evaluate_in_batches(
            lambda batch_images, batch_labels: self._evaluate_batch(trainable, non_trainable, batch_images,
                                                                    batch_labels),
            images, labels, batch_size or self.evaluation_batch_size)
        count = len(images)
        return [(float(np.sum(losses[member], dtype=np.float64) / count) + float(extra[member]),
                 float(np.count_nonzero(correct[member]) / count)) for member in range(len(self.members))]

    def mask_counts(self, state):
        """(members, layers, 6) mask counts, as masking.mask_counts gives them for one run."""
        return np.asarray(self._mask_counts(state[0], state[1]))
