"""Sign initialisers of the 2020 reference: signed He constant and binary (+-1)."""

import math

import keras
from keras import ops


def fan_in(shape):
    """Product of every kernel dimension but the last."""
    return math.prod(shape[:-1])


@keras.saving.register_keras_serializable(package="initializers")
class RandomSigns(keras.initializers.Initializer):
    """scale * (+1 with probability p1, else -1); scale is 1 here, sqrt(2 / fan_in) in HeConstant."""

    def __init__(self, p1=0.5, seed=None):
        if not 0.0 <= float(p1) <= 1.0:
            raise ValueError(f"p1 is the probability of a +1 sign and must lie in [0, 1], got {p1}.")
        self.p1 = float(p1)
        self.seed = seed

    def scale(self, shape):
        return 1.0

    def __call__(self, shape, dtype=None):
        dtype = dtype or "float32"
        uniform = keras.random.uniform(shape, dtype="float32", seed=self.seed)
        signs = ops.where(ops.less(uniform, self.p1), 1.0, -1.0)
        return ops.cast(signs * self.scale(shape), dtype)

    def get_config(self):
        return {"p1": self.p1, "seed": self.seed}


@keras.saving.register_keras_serializable(package="initializers")
class HeConstant(RandomSigns):
    """Signed He constant: every magnitude is sqrt(2 / (fan_scale * fan_in)); fan_scale 1 but for EdgePopup's
    --scale-fan (hidden-networks' signed_constant with scale_fan)."""

    def __init__(self, p1=0.5, seed=None, fan_scale=1.0):
        super().__init__(p1=p1, seed=seed)
        self.fan_scale = float(fan_scale)

    def scale(self, shape):
        return math.sqrt(2.0 / (self.fan_scale * fan_in(shape)))

    def get_config(self):
        return {**super().get_config(), "fan_scale": self.fan_scale}


@keras.saving.register_keras_serializable(package="initializers")
class Binary(RandomSigns):
    """+1 with probability p1, else -1; the network scales its input (networks/architectures.py, BINARY_INPUT_SCALE)."""
