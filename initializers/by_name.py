"""The Keras initializer of each name in initializers.INITIALIZERS."""

import keras

from initializers.signed import Binary, HeConstant

BUILDERS = {
    "glorot": lambda seed, p1, fan_scale: keras.initializers.GlorotNormal(seed=seed),
    "he": lambda seed, p1, fan_scale: (keras.initializers.HeNormal(seed=seed) if fan_scale == 1.0 else
                                       keras.initializers.VarianceScaling(2.0 / fan_scale, "fan_in",
                                                                          "truncated_normal", seed=seed)),
    "heconstant": lambda seed, p1, fan_scale: HeConstant(p1=p1, seed=seed, fan_scale=fan_scale),
    "binary": lambda seed, p1, fan_scale: Binary(p1=p1, seed=seed),
}
