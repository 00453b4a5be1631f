"""Uniform draws that are a pure function of (seed, stream, counter, position), computed with keras.ops.

Supermask training (Zhou et al. 2019) samples a new Bernoulli mask at every step. Keras' own random ops draw
different numbers on TensorFlow and on JAX, and a random state hidden in the framework would not survive a
checkpoint bit for bit. Here every draw is an integer hash of where it is used, so a step draws the same
numbers on both backends, in a pack or alone, and again after --resume.

The hash is the 32-bit integer finaliser of Chris Wellons' "hash prospector" (two multiply-xorshift rounds),
chained over the key's parts; its outputs pass the usual avalanche tests, which is all a Bernoulli mask needs.
"""

import math

from keras import ops

MULTIPLIERS = (0x7FEB352D, 0x846CA68B)
UNIFORM_BITS = 24  # float32 represents every multiple of 2**-24 in [0, 1) exactly


def _uint32(value):
    return ops.cast(value, "uint32")


def mix(bits):
    """The finaliser: a bijection of uint32 whose every output bit depends on every input bit."""
    bits = ops.bitwise_xor(bits, ops.right_shift(bits, _uint32(16)))
    bits = ops.multiply(bits, _uint32(MULTIPLIERS[0]))
    bits = ops.bitwise_xor(bits, ops.right_shift(bits, _uint32(15)))
    bits = ops.multiply(bits, _uint32(MULTIPLIERS[1]))
    return ops.bitwise_xor(bits, ops.right_shift(bits, _uint32(16)))


def key(*parts):
    """One uint32 from integer scalars (Python ints or int32 tensors), each mixed into the hash of those before."""
    bits = _uint32(0)
    for part in parts:
        bits = mix(ops.add(bits, _uint32(part)))
    return bits


def uniforms(draw_key, shape):
    """float32 uniforms in [0, 1), multiples of 2**-24, one per position of a tensor of `shape`."""
    size = math.prod(int(dimension) for dimension in shape)
    positions = _uint32(ops.arange(size, dtype="int32"))  # XLA on TensorFlow has no uint32 range
    bits = mix(ops.add(mix(ops.add(positions, draw_key)), draw_key))
    values = ops.cast(ops.right_shift(bits, _uint32(32 - UNIFORM_BITS)), "float32") * (2.0 ** -UNIFORM_BITS)
    return ops.reshape(values, tuple(shape))
