"""The data sets of the experiments, one module each (datasets/registry.py lists them), split and normalised.

    from datasets import load_dataset
    data = load_dataset("auto", standard="mnist", data_dir=None)
"""

from datasets.dataset import Dataset
from datasets.errors import DatasetError
from datasets.registry import DATA_DIR_DATASETS, DATASET_NAMES, load_dataset

__all__ = ["DATA_DIR_DATASETS", "DATASET_NAMES", "Dataset", "DatasetError", "load_dataset"]
