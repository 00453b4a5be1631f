"""Reading the official python versions of CIFAR-10 and CIFAR-100: pickled batches, in a .tar.gz or extracted.

Each batch is a dict of b'data' (uint8 rows of 3072 = 3 x 32 x 32 channel-first pixels) and a list of labels
(b'labels' for CIFAR-10, b'fine_labels' for CIFAR-100), read with the restricted unpickler.
"""

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
IMAGE_SHAPE = (3, 32, 32)  # channel-first, as stored in the batches
UNPICKLING_ERRORS = (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError,
                     KeyError, UnicodeDecodeError, struct.error, OverflowError, MemoryError)


class PythonBatches:
    """The batch files of one CIFAR data set: `train_batches` joined in order are the training set,
    `test_batch` the test set; they sit in `folder_name`/ inside `archive_name` or extracted."""

    def __init__(self, display_name, archive_name, folder_name, train_batches, test_batch, label_key, num_classes):
        self.display_name = display_name
        self.archive_name = archive_name
        self.folder_name = folder_name
        self.train_batches = tuple(train_batches)
        self.test_batch = test_batch
        self.label_key = label_key
        self.num_classes = num_classes
        self.fix = f"download {archive_name} again from {OFFICIAL_PAGE} and point --data-dir to the folder holding it"

    @property
    def batch_names(self):
        return self.train_batches + (self.test_batch,)

    def corrupt(self, where, detail):
        return DatasetError(f"The {self.display_name} file {where} is truncated or corrupt ({detail}); {self.fix}.")

    def read_batch(self, handle, where):
        """Unpickles one batch from an open binary file; returns uint8 images (N, 32, 32, 3) and int32 labels."""
        try:
            batch = RestrictedUnpickler(handle, source=where, encoding="bytes").load()
        except UNPICKLING_ERRORS as error:
            raise self.corrupt(where, f"{type(error).__name__}: {error}") from None
        if not isinstance(batch, dict) or b"data" not in batch or self.label_key not in batch:
            raise self.corrupt(where, f"no b'data' and {self.label_key!r} entries")
        data, labels = batch[b"data"], batch[self.label_key]
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
            shape = getattr(data, "shape", type(data).__name__)
            raise self.corrupt(where, f"b'data' is {getattr(data, 'dtype', '')} {shape}, expected uint8 (N, 3072)")
        try:
            labels = np.asarray(labels, dtype=np.int64)
        except (TypeError, ValueError, OverflowError):
            raise self.corrupt(where, f"{self.label_key!r} is not a list of integers") from None
        if labels.ndim != 1 or labels.shape[0] != data.shape[0]:
            raise self.corrupt(where, f"{labels.size} labels for {data.shape[0]} images")
        if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise self.corrupt(where, f"labels are not all class indices 0 to {self.num_classes - 1}")
        images = data.reshape((-1,) + IMAGE_SHAPE).transpose(0, 2, 3, 1)
        return np.ascontiguousarray(images), labels.astype(np.int32)

    def combine(self, source, batches):
        """Joins the training batches and the test batch (name -> (images, labels)) into RawData."""
        x_train = np.concatenate([batches[name][0] for name in self.train_batches])
        y_train = np.concatenate([batches[name][1] for name in self.train_batches])
        x_test, y_test = batches[self.test_batch]
        return RawData(source=source, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)

    def is_batch_folder(self, folder):
        return any(os.path.isfile(os.path.join(folder, name)) for name in self.batch_names)

    def read_extracted(self, folder):
        """The data set from an extracted folder of batch files."""
        batches = {}
        for name in self.batch_names:
            path = os.path.join(folder, name)
            if not os.path.isfile(path):
                raise DatasetError(f"The {self.display_name} file {path} is missing; {self.fix}.")
            try:
                with open(path, "rb") as handle:
                    batches[name] = self.read_batch(handle, path)
            except OSError as error:
                raise DatasetError(f"The {self.display_name} file {path} could not be read "
                                   f"({error.strerror or error}); {self.fix}.") from None
        return self.combine(folder, batches)

    def read_archive(self, path):
        """The data set straight from the members of the .tar.gz, without extracting it to disk."""
        wanted = set(self.batch_names)
        batches = {}
        try:
            with tarfile.open(path, "r:*") as archive:
                for member in archive:
                    name = os.path.basename(member.name)
                    if member.isfile() and name in wanted and name not in batches:
                        handle = archive.extractfile(member)
                        batches[name] = self.read_batch(handle, f"{path} (member {member.name})")
        except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
            raise self.corrupt(path, f"{type(error).__name__}: {error}") from None
        missing = [name for name in self.batch_names if name not in batches]
        if missing:
            raise self.corrupt(path, f"no member {self.folder_name}/{missing[0]}")
        return self.combine(path, batches)

    def read_folder(self, folder):
        """From `folder`: itself a batch folder, or holding the extracted folder or the archive; else None."""
        if self.is_batch_folder(folder):
            return self.read_extracted(folder)
        if os.path.isdir(os.path.join(folder, self.folder_name)):
            return self.read_extracted(os.path.join(folder, self.folder_name))
        if os.path.isfile(os.path.join(folder, self.archive_name)):
            return self.read_archive(os.path.join(folder, self.archive_name))
        return None

    def read_keras_cache(self, cache, keras_name):
        """From Keras' cache: Keras 3 extracts into `keras_name`/ and keeps `keras_name`_archive; older Keras
        used the extracted folder or the archive by their own names."""
        for folder in (os.path.join(cache, self.folder_name), os.path.join(cache, keras_name, self.folder_name)):
            if os.path.isdir(folder) and self.is_batch_folder(folder):
                return self.read_extracted(folder)
        for archive in (f"{self.folder_name}.tar.gz", self.archive_name, f"{keras_name}_archive"):
            if os.path.isfile(os.path.join(cache, archive)):
                return self.read_archive(os.path.join(cache, archive))
        return None
