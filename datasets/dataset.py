"""The records that the loaders hand around: raw uint8 files and the finished, normalised data set."""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class RawData:
    """A data set's training and test files as read: uint8 images (N, H, W, C) and integer labels."""

    source: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@dataclasses.dataclass(frozen=True)
class Dataset:
    """Normalised float32 NHWC images and int32 labels, split into training, validation and test."""

    name: str
    source: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int = 10
    warning: str | None = None
