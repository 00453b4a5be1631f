"""The values of a run's training settings that the configuration offers (--optimizer, --augmentation), without
Keras, so that the command line is read before a backend is chosen. training/optimizers.py and
training/augmentation.py implement them."""

OPTIMIZERS = ("adam", "sgd")
DEFAULT_MOMENTUM = 0.9
AUGMENTATIONS = ("none", "shift-flip")
