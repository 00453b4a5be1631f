"""Kernel initialisers by name, each deterministic for a given seed.

The names are Keras-free, for the configuration; the initializers themselves (initializers/by_name.py,
initializers/signed.py) are imported when first used.
"""

INITIALIZERS = ("glorot", "he", "heconstant", "binary")
# The initializers whose scale follows fan_in, which EdgePopup's --scale-fan rescales (hidden-networks' scale_fan).
FAN_SCALED = ("he", "heconstant")
SIGNED = ("heconstant", "binary")  # the initializers that draw signs, +1 with probability p1


def get_initializer(name, seed, p1=0.5, fan_scale=1.0):
    """A Keras initializer; `seed` must be a Python int so every call gives the same values. fan_scale: the He
    initializers' scale as if each unit had fan_scale * fan_in inputs."""
    from initializers.by_name import BUILDERS
    if name not in INITIALIZERS:
        raise ValueError(f"Unknown initializer '{name}'; choose one of {', '.join(INITIALIZERS)}.")
    if fan_scale != 1.0 and name not in FAN_SCALED:
        raise ValueError(f"Initializer '{name}' does not scale with fan_in; use one of {', '.join(FAN_SCALED)}.")
    return BUILDERS[name](int(seed), p1, float(fan_scale))


def __getattr__(name):
    if name in ("Binary", "HeConstant", "RandomSigns", "fan_in"):
        from initializers import signed
        return getattr(signed, name)
    raise AttributeError(f"module 'initializers' has no attribute '{name}'")


__all__ = ["FAN_SCALED", "INITIALIZERS", "SIGNED", "Binary", "HeConstant", "RandomSigns", "fan_in", "get_initializer"]
