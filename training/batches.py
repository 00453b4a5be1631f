"""The order of mini-batches in an epoch, drawn from a numpy generator whose state can be saved."""

import numpy as np


def epoch_batches(generator, example_count, batch_size):
    """(indices, weights), each (steps, batch_size): a fresh shuffle; the last partial batch is
    padded with index 0 and weight 0."""
    order = generator.permutation(example_count).astype("int32")
    steps = -(-example_count // batch_size)
    padding = steps * batch_size - example_count
    weights = np.ones(steps * batch_size, dtype="float32")
    if padding:
        order = np.concatenate([order, np.zeros(padding, dtype="int32")])
        weights[example_count:] = 0.0
    return order.reshape(steps, batch_size), weights.reshape(steps, batch_size)
