"""Random CIFAR-shaped data written in CIFAR-10's official format (the python batches), so that the
benchmarks load it through the project's own CIFAR-10 reader, as a real run would."""

import os
import pickle

import numpy as np

from datasets.cifar10 import FOLDER_NAME, TEST_BATCH, TRAIN_BATCHES
from datasets.registry import VALIDATION_SIZE


def write_cifar_shaped(folder, training_examples, test_examples=10_000, seed=0):
    """Writes cifar-10-batches-py/ under `folder`: VALIDATION_SIZE + training_examples training images
    (the first VALIDATION_SIZE become the validation split) and `test_examples` test images."""
    generator = np.random.default_rng(seed)
    batches_folder = os.path.join(folder, FOLDER_NAME)
    os.makedirs(batches_folder, exist_ok=True)
    training = VALIDATION_SIZE + training_examples
    sizes = np.diff(np.linspace(0, training, len(TRAIN_BATCHES) + 1).astype(int))
    for name, count in list(zip(TRAIN_BATCHES, sizes)) + [(TEST_BATCH, test_examples)]:
        batch = {b"data": generator.integers(0, 256, (count, 3072), dtype=np.uint8),
                 b"labels": generator.integers(0, 10, count).tolist()}
        with open(os.path.join(batches_folder, name), "wb") as handle:
            pickle.dump(batch, handle, protocol=4)  # the official format is a pickle of a dict
    return folder
