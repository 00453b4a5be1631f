"""Reading CIFAR-10 from the official python batches, in cifar-10-python.tar.gz or extracted."""

import os
import pickle
import struct
import tarfile
import zlib

import numpy as np

from datasets.dataset import RawData
from datasets.errors import DatasetError
from datasets.safe_unpickle import RestrictedUnpickler

OFFICIAL_PAGE = "https://www.cs.toronto.edu/~kriz/cifar.html"
ARCHIVE_NAME = "cifar-10-python.tar.gz"
FOLDER_NAME = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{number}" for number in range(1, 6))
TEST_BATCH = "test_batch"
IMAGE_SHAPE = (3, 32, 32)  # channel-first, as stored in the batches
FIX = f"download {ARCHIVE_NAME} again from {OFFICIAL_PAGE} and point --data-dir to the folder holding it"
UNPICKLING_ERRORS = (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
                     KeyError, UnicodeDecodeError, struct.error, OverflowError, MemoryError)


def corrupt(where, detail):
    return DatasetError(f"The CIFAR-10 file {where} is truncated or corrupt ({detail}); {FIX}.")


def read_batch(handle, where):
    """Unpickles one batch from an open binary file; returns uint8 images (N, 32, 32, 3) and int32 labels."""
    try:
        batch = RestrictedUnpickler(handle, source=where, encoding="bytes").load()
    except UNPICKLING_ERRORS as error:
        raise corrupt(where, f"{type(error).__name__}: {error}") from None
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise corrupt(where, "no b'data' and b'labels' entries")
    data, labels = batch[b"data"], batch[b"labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        shape = getattr(data, "shape", type(data).__name__)
        raise corrupt(where, f"b'data' is {getattr(data, 'dtype', '')} {shape}, expected uint8 (N, 3072)")
    try:
        labels = np.asarray(labels, dtype=np.int64)
    except (TypeError, ValueError, OverflowError):
        raise corrupt(where, "b'labels' is not a list of integers") from None
    if labels.ndim != 1 or labels.shape[0] != data.shape[0]:
        raise corrupt(where, f"{labels.size} labels for {data.shape[0]} images")
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise corrupt(where, "labels are not all class indices 0 to 9")
    images = data.reshape((-1,) + IMAGE_SHAPE).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.int32)


def combine(source, batches):
    """Joins the five training batches and the test batch (name -> (images, labels)) into RawData."""
    x_train = np.concatenate([batches[name][0] for name in TRAIN_BATCHES])
    y_train = np.concatenate([batches[name][1] for name in TRAIN_BATCHES])
    x_test, y_test = batches[TEST_BATCH]
    return RawData(source=source, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def is_batch_folder(folder):
    return any(os.path.isfile(os.path.join(folder, name)) for name in TRAIN_BATCHES + (TEST_BATCH,))


def read_cifar10_folder(folder):
    """CIFAR-10 from an extracted cifar-10-batches-py folder."""
    batches = {}
    for name in TRAIN_BATCHES + (TEST_BATCH,):
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            raise DatasetError(f"The CIFAR-10 file {path} is missing; {FIX}.")
        try:
            with open(path, "rb") as handle:
                batches[name] = read_batch(handle, path)
        except OSError as error:
            raise DatasetError(f"The CIFAR-10 file {path} could not be read ({error.strerror or error}); {FIX}.") from None
    return combine(folder, batches)


def read_cifar10_archive(path):
    """CIFAR-10 straight from the members of cifar-10-python.tar.gz, without extracting it to disk."""
    wanted = set(TRAIN_BATCHES + (TEST_BATCH,))
    batches = {}
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                name = os.path.basename(member.name)
                if member.isfile() and name in wanted and name not in batches:
                    handle = archive.extractfile(member)
                    batches[name] = read_batch(handle, f"{path} (member {member.name})")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise corrupt(path, f"{type(error).__name__}: {error}") from None
    missing = sorted(wanted - set(batches))
    if missing:
        raise corrupt(path, f"no member {FOLDER_NAME}/{missing[0]}")
    return combine(path, batches)


def read_cifar10_folder_or_archive(folder):
    """CIFAR-10 from `folder`: itself a batch folder, or holding cifar-10-batches-py/ or the archive; else None."""
    if is_batch_folder(folder):
        return read_cifar10_folder(folder)
    if os.path.isdir(os.path.join(folder, FOLDER_NAME)):
        return read_cifar10_folder(os.path.join(folder, FOLDER_NAME))
    if os.path.isfile(os.path.join(folder, ARCHIVE_NAME)):
        return read_cifar10_archive(os.path.join(folder, ARCHIVE_NAME))
    return None
