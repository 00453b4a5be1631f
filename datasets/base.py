"""DatasetDefinition: what one data set declares, so that the loader, the command line and the checks need nothing
else. Not the data: a definition finds and reads the official files, and preprocess() gives the loaded arrays, a
datasets.dataset.Dataset.

A data set is one module in datasets/ holding a DatasetDefinition subclass (its name, official files, how to find
and read them, its image shape and classes) and one line in datasets/registry.py. docs/EXTENDING.md has the recipe.
"""

import abc
import hashlib
import types

import numpy as np

from datasets.dataset import Dataset, RawData
from datasets.errors import DatasetError
from datasets.preprocessing import normalise, pixel_statistics


class DatasetDefinition(abc.ABC):
    """One data set's definition. Subclasses set the class attributes and implement read_folder; the rest has
    defaults."""

    name = None  # the --dataset value
    display_name = None  # how messages name it, e.g. "Fashion-MNIST"
    image_shape = None  # one image, channels last, as read from the official files
    num_classes = None
    # None: the first registry.VALIDATION_SIZE training images are the validation set, as for every full data set.
    validation_size = None
    expected_in_data_dir = None  # what a --data-dir folder must hold, naming the official files
    reads_data_dir = True  # False: the data set is not read from --data-dir (--data-dir is refused for it)
    how_to_get = None  # the advice that ends "<name> could not be found (...); <how_to_get>."
    keras_loader = None  # the keras.datasets module that downloads it; None: Keras has no loader
    keras_loader_arguments = types.MappingProxyType({})
    # sha256 of the official training labels as uint8 bytes in file order: data sets whose files share names
    # (MNIST and Fashion-MNIST) are told apart by it. None where no official copy was at hand to compute it.
    training_labels_sha256 = None
    fallback = None  # the registered data set --dataset auto uses, with a warning, when this one cannot be found
    description = None  # how a fallback warning names this data set when it stands in for another

    @abc.abstractmethod
    def read_folder(self, folder):
        """RawData from the official files in `folder`; None when it holds none of them; DatasetError when they
        are incomplete or corrupt."""

    def read_keras_cache(self, cache):
        """RawData from Keras' download cache folder `cache`, or None when it is not there."""
        return None

    def find_raw_data(self, data_dir, allow_download):
        """(RawData or None, why it could not be had). The full data sets look in --data-dir, then Keras' cache,
        then download through Keras; a data set shipped with the package overrides this."""
        from datasets import sources

        return sources.find_raw_data(self, data_dir, allow_download)

    def from_keras_arrays(self, x_train, y_train, x_test, y_test, source):
        """RawData from what keras.datasets.<loader>.load_data() returned: channels last, labels flat int32."""
        arrays = {"x_train": np.asarray(x_train), "x_test": np.asarray(x_test)}
        height, width, channels = self.image_shape
        for key, images in arrays.items():
            if images.shape[1:] == (channels, height, width):
                arrays[key] = images.transpose(0, 2, 3, 1)
            elif images.ndim == 3:
                arrays[key] = images[..., np.newaxis]
        labels = {key: np.asarray(value).reshape(-1).astype(np.int32)
                  for key, value in (("y_train", y_train), ("y_test", y_test))}
        return RawData(source=source, **arrays, **labels)

    def check_raw_data(self, raw):
        """Refuses data whose images or labels do not fit this data set, whatever source they came from."""
        fix = f"point --data-dir to the official {self.display_name} files"
        for split in ("train", "test"):
            images, labels = getattr(raw, "x_" + split), getattr(raw, "y_" + split)
            if images.dtype != np.uint8 or images.shape[1:] != tuple(self.image_shape):
                raise DatasetError(f"The {self.display_name} {split} images from {raw.source} are {images.dtype} "
                                   f"{images.shape[1:]}, expected uint8 {tuple(self.image_shape)}; {fix}.")
            if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
                raise DatasetError(f"The {self.display_name} {split} labels from {raw.source} are not all class "
                                   f"indices 0 to {self.num_classes - 1}; {fix}.")

    def preprocess(self, raw, validation_size, limit, test_normalization, warning=None):
        """The standard split and normalisation: the first `validation_size` training images are the validation
        set; pixels / 255, minus the training images' per-pixel mean, divided by their global std (the test set by
        its own statistics, or the training set's); then the first `limit` images of each split."""
        count = raw.x_train.shape[0]
        if count <= validation_size:
            raise DatasetError(f"The training data in {raw.source} holds only {count} images, but the first "
                               f"{validation_size} are the validation set and at least one more is needed for "
                               "training; point --data-dir to the complete official files.")
        mean, std = pixel_statistics(raw.x_train, f"training data in {raw.source}")
        if test_normalization == "test":
            test_mean, test_std = pixel_statistics(raw.x_test, f"test data in {raw.source}")
        else:
            test_mean, test_std = mean, std
        val_end = validation_size if limit is None else min(validation_size, limit)
        train_end = None if limit is None else validation_size + limit
        return Dataset(
            name=self.name,
            source=raw.source,
            x_train=normalise(raw.x_train[validation_size:train_end], mean, std),
            y_train=raw.y_train[validation_size:train_end].astype("int32"),
            x_val=normalise(raw.x_train[:val_end], mean, std),
            y_val=raw.y_train[:val_end].astype("int32"),
            x_test=normalise(raw.x_test[:limit], test_mean, test_std),
            y_test=raw.y_test[:limit].astype("int32"),
            num_classes=self.num_classes,
            warning=warning,
        )


def training_labels_digest(raw):
    """sha256 of the training labels as uint8 bytes (the form of the official label files), or None when they
    do not fit in a byte."""
    labels = np.asarray(raw.y_train)
    if labels.size and (labels.min() < 0 or labels.max() > 255):
        return None
    return hashlib.sha256(labels.astype(np.uint8).tobytes()).hexdigest()
