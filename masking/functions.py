"""The mask functions f(score) with a straight-through gradient.

Forward values follow the 2020 reference:
  mask:    1 where score > 0, else 0
  mask_rs: the same 0/1 mask times size / (1 + number of nonzero entries) of the layer
  flip:    sign(score): -1, 0 (only for a score of exactly 0) or +1
and edge-popup (Ramanujan et al. 2020, hidden-networks' GetSubnet):
  topk:    1 for the keep_fraction of the layer's entries with the largest |score|, else 0. The layer of n entries
           keeps exactly n - int((1 - keep_fraction) * n); of equal |score|, the entry first in the flattened
           kernel is kept. hidden-networks applies GetSubnet to |score|, so the score's gradient is
           sign(score) times the mask's.
and supermasks (Zhou et al. 2019, deconstructing-lottery-tickets' get_effective_mask):
  sample:  1 where a uniform draw u < sigmoid(score), else 0 (a Bernoulli sample with probability sigmoid(score));
           the layer supplies u (masking/random_bits.py). The score's gradient is the mask's times
           sigmoid'(score), as Zhou's code backpropagates through the probability. With dynamic_scaling, the
           mask is multiplied by size / (number of ones), the gradient flowing through that factor too, as in
           Zhou's --dynamic_scaling (a mask without ones divides by 1 instead of 0).

Each is declared, with its parameters and what it does, in masking/declarations.py.

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


def kept_count(size, keep_fraction):
    """How many of a layer's `size` entries topk keeps: hidden-networks' j = int((1 - k) * n) are removed."""
    return size - int((1 - keep_fraction) * size)


INFINITY_BITS = 0x7F800000  # float32 +inf: above the bits of every finite magnitude


def top_k(score, keep_fraction):
    magnitude = ops.abs(score)
    flat = ops.reshape(ops.stop_gradient(magnitude), (-1,))
    kept = kept_count(int(flat.shape[0]), keep_fraction)
    # The kept-th largest magnitude, found by bisection on the float32 bit patterns, whose integer order is the
    # order of the non-negative values: 31 counting passes over the layer, which XLA fuses, where a sort or
    # top_k of half a million entries took 30 ms a step on a CPU.
    bits = ops.view(flat, "int32")
    low, high = ops.convert_to_tensor(0, "int32"), ops.convert_to_tensor(INFINITY_BITS, "int32")
    for _ in range(31):
        middle = low + (high - low + 1) // 2
        enough = ops.sum(ops.cast(ops.greater_equal(bits, middle), "int32")) >= kept
        low, high = ops.where(enough, middle, low), ops.where(enough, high, middle - 1)
    above = ops.greater(bits, low)
    tied = ops.cast(ops.equal(bits, low), "int32")
    needed = kept - ops.sum(ops.cast(above, "int32"))
    keep_tied = ops.logical_and(ops.cast(tied, "bool"), ops.less_equal(ops.cumsum(tied), needed))  # first ones
    binary = ops.cast(ops.logical_or(above, keep_tied), score.dtype)
    return _straight_through(magnitude, ops.reshape(binary, ops.shape(score)))


def scaled_by_ones(values):
    """Zhou's dynamic scaling: values * size / (number of ones), dividing by 1 where there are none."""
    size = ops.cast(ops.size(values), values.dtype)
    return values * (size / ops.maximum(ops.sum(values), 1.0))


def sample(score, uniforms, dynamic_scaling=False):
    probability = ops.sigmoid(score)
    binary = ops.cast(ops.less(uniforms, ops.stop_gradient(probability)), score.dtype)
    values = _straight_through(probability, binary)
    return scaled_by_ones(values) if dynamic_scaling else values


def deterministic_sample(score, dynamic_scaling=False):
    """The mask `sample` draws most probably: 1 where sigmoid(score) > 0.5, i.e. score > 0 (rescaled likewise)."""
    binary = binary_mask_values(score)
    return scaled_by_ones(binary) if dynamic_scaling else binary
