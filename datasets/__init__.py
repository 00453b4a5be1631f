"""Data sets for the experiments: MNIST, CIFAR-10 and a committed MNIST subset, split and normalised.

    from datasets import load_dataset
    data = load_dataset("auto", standard="mnist", data_dir=None)
"""

from datasets.dataset import Dataset
from datasets.errors import DatasetError
from datasets.registry import DATASET_NAMES, load_dataset

__all__ = ["DATASET_NAMES", "Dataset", "DatasetError", "load_dataset"]
