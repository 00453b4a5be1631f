"""The three mask functions f(score) with a straight-through gradient.

Forward values follow the 2020 reference:
  mask:    1 where score > 0, else 0
  mask_rs: the same 0/1 mask times size / (1 + number of nonzero entries) of the layer
  flip:    sign(score): -1, 0 (only for a score of exactly 0) or +1

Straight-through: df/dscore is taken as 1, so the score receives exactly the gradient that
reaches the mask value. Written as `stop_gradient(value) + (score - stop_gradient(score))`:
the second term is exactly 0 in the forward pass (x - x == 0 for finite x), so the forward
value is bit-exact, and its derivative is exactly 1. Only `keras.ops` is used, so the
functions work on every Keras backend.
"""

from keras import ops


def _straight_through(score, value):
    return ops.stop_gradient(value) + (score - ops.stop_gradient(score))


def binary_mask_values(score):
    return ops.cast(ops.greater(score, 0), score.dtype)


def rescaling_factor(binary_mask):
    """size / (1 + nonzero): keeps the layer's expected activation scale as connections are removed."""
    size = ops.cast(ops.size(binary_mask), binary_mask.dtype)
    return size / (1.0 + ops.sum(binary_mask))


def mask(score):
    return _straight_through(score, binary_mask_values(score))


def mask_rs(score):
    binary = binary_mask_values(score)
    return _straight_through(score, binary * rescaling_factor(binary))


def flip(score):
    return _straight_through(score, ops.sign(score))


MASK_FUNCTIONS = {"mask": mask, "mask_rs": mask_rs, "flip": flip}


def get_mask_function(name):
    if name not in MASK_FUNCTIONS:
        raise ValueError(f"Unknown mask type '{name}'; choose one of {', '.join(MASK_FUNCTIONS)}.")
    return MASK_FUNCTIONS[name]
