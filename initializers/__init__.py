"""Kernel initialisers by name, each deterministic for a given seed."""

import keras

from initializers.signed import Binary, HeConstant, RandomSigns, fan_in

INITIALIZERS = {
    "glorot": lambda seed, p1, fan_scale: keras.initializers.GlorotNormal(seed=seed),
    "he": lambda seed, p1, fan_scale: (keras.initializers.HeNormal(seed=seed) if fan_scale == 1.0 else
                                       keras.initializers.VarianceScaling(2.0 / fan_scale, "fan_in",
                                                                          "truncated_normal", seed=seed)),
    "heconstant": lambda seed, p1, fan_scale: HeConstant(p1=p1, seed=seed, fan_scale=fan_scale),
    "binary": lambda seed, p1, fan_scale: Binary(p1=p1, seed=seed),
}
# The initializers whose scale follows fan_in, which EdgePopup's --scale-fan rescales (hidden-networks' scale_fan).
FAN_SCALED = ("he", "heconstant")


def get_initializer(name, seed, p1=0.5, fan_scale=1.0):
    """A Keras initializer; `seed` must be a Python int so every call gives the same values. fan_scale: the He
    initializers' scale as if each unit had fan_scale * fan_in inputs."""
    if name not in INITIALIZERS:
        raise ValueError(f"Unknown initializer '{name}'; choose one of {', '.join(INITIALIZERS)}.")
    if fan_scale != 1.0 and name not in FAN_SCALED:
        raise ValueError(f"Initializer '{name}' does not scale with fan_in; use one of {', '.join(FAN_SCALED)}.")
    return INITIALIZERS[name](int(seed), p1, float(fan_scale))


__all__ = ["FAN_SCALED", "INITIALIZERS", "Binary", "HeConstant", "RandomSigns",
           "fan_in", "get_initializer"]
