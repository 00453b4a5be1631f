"""Kernel initialisers by name, each deterministic for a given seed."""

import keras

from initializers.signed import Binary, HeConstant, RandomSigns, fan_in

# The binary initializer keeps activations in range by multiplying the input data by these.
BINARY_INPUT_SCALE = {
    "LeNet": 5.942073791483592e-4,
    "Conv2": 1.384305440187043e-6,
    "Conv4": 4.806616356300754e-9,
    "Conv6": 8.344820201940066e-12,
}

INITIALIZERS = {
    "glorot": lambda seed, p1: keras.initializers.GlorotNormal(seed=seed),
    "he": lambda seed, p1: keras.initializers.HeNormal(seed=seed),
    "heconstant": lambda seed, p1: HeConstant(p1=p1, seed=seed),
    "binary": lambda seed, p1: Binary(p1=p1, seed=seed),
}


def get_initializer(name, seed, p1=0.5):
    """A Keras initializer; `seed` must be a Python int so every call gives the same values."""
    if name not in INITIALIZERS:
        raise ValueError(f"Unknown initializer '{name}'; choose one of {', '.join(INITIALIZERS)}.")
    return INITIALIZERS[name](int(seed), p1)


__all__ = ["BINARY_INPUT_SCALE", "INITIALIZERS", "Binary", "HeConstant", "RandomSigns",
           "fan_in", "get_initializer"]
