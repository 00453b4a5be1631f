"""Random shifts and horizontal flips of the training images, applied inside the compiled training step.

This is the 2020 ResNet training's Keras ImageDataGenerator(width_shift_range=0.1, height_shift_range=0.1,
fill_mode="nearest", horizontal_flip=True): each image is shifted by a real number of pixels drawn uniformly
within 10% of its height and width (bilinear interpolation, edges filled with the nearest pixel), then
flipped left-right with probability 1/2.

The draws are made with numpy on the host, from a generator seeded with the run seed and the epoch's
position in the run, so they repeat exactly, on resume too, with no state to checkpoint. The compiled step
applies them as two small interpolation matrices per image (rows, then columns), plain matrix products
that every backend compiles, XLA included (TensorFlow's image-transform kernel has no XLA version).
"""

import numpy as np
from keras import ops

SHIFT_FRACTION = 0.1


def draw_shifts(seed, epoch_index, shape, height, width):
    """float32 array shape + (3,): per image, the row shift and column shift in pixels and the flip (0 or 1)."""
    generator = np.random.default_rng([seed, 3, epoch_index])
    count = int(np.prod(shape))
    rows = generator.uniform(-SHIFT_FRACTION, SHIFT_FRACTION, count) * height
    columns = generator.uniform(-SHIFT_FRACTION, SHIFT_FRACTION, count) * width
    flips = (generator.random(count) < 0.5).astype(np.float64)
    return np.stack([rows, columns, flips], axis=1).astype(np.float32).reshape(tuple(shape) + (3,))


def interpolation_matrices(source, size):
    """(batch, size, size): row i holds the bilinear weights with which output pixel i reads input pixels at the
    real positions `source` (batch, size), clamped to the image, so that outside it the nearest edge is read."""
    position = ops.clip(source, 0.0, size - 1.0)
    pixels = ops.cast(ops.arange(size), "float32")
    return ops.relu(1.0 - ops.abs(position[:, :, None] - pixels[None, None, :]))


def augment(images, shifts):
    """The images (batch, height, width, channels) shifted and flipped as `shifts` (batch, 3) say."""
    height, width = images.shape[1], images.shape[2]
    rows = ops.cast(ops.arange(height), "float32")[None, :] - shifts[:, 0:1]
    columns = ops.cast(ops.arange(width), "float32")[None, :]
    flips = shifts[:, 2:3]
    columns = flips * (width - 1.0 - columns) + (1.0 - flips) * columns - shifts[:, 1:2]
    shifted = ops.einsum("bij,bjkc->bikc", interpolation_matrices(rows, height), images)
    return ops.einsum("blk,bikc->bilc", interpolation_matrices(columns, width), shifted)
