"""Where a full data set is looked for: --data-dir, then Keras' cache, then a Keras download."""

import os
import socket

import numpy as np

from datasets import cifar10, mnist
from datasets.dataset import RawData
from datasets.errors import DatasetError

DOWNLOAD_TIMEOUT_SECONDS = 10
NO_DOWNLOAD_VARIABLE = "MASKTRAINER_NO_DOWNLOAD"
DISPLAY_NAMES = {"mnist": "MNIST", "cifar10": "CIFAR-10"}
EXPECTED_IN_DATA_DIR = {
    "mnist": f"the four official MNIST files ({mnist.OFFICIAL_NAMES}) or Keras' mnist.npz",
    "cifar10": f"{cifar10.ARCHIVE_NAME} or its extracted {cifar10.FOLDER_NAME}/ folder",
}


def keras_cache_folder():
    """Keras' download cache: $KERAS_HOME/datasets, or ~/.keras/datasets."""
    home = os.environ.get("KERAS_HOME") or os.path.join("~", ".keras")
    return os.path.join(os.path.expanduser(home), "datasets")


def downloads_disabled(allow_download):
    return not allow_download or os.environ.get(NO_DOWNLOAD_VARIABLE, "").strip() not in ("", "0")


def read_data_dir(name, data_dir):
    """The data set from --data-dir; DatasetError when the folder does not hold it."""
    folder = os.path.expanduser(data_dir)
    if not os.path.isdir(folder):
        raise DatasetError(f"The data folder {folder} given by --data-dir does not exist; pass --data-dir PATH to a folder holding {EXPECTED_IN_DATA_DIR[name]}.")
    reader = mnist.read_mnist_folder if name == "mnist" else cifar10.read_cifar10_folder_or_archive
    raw = reader(folder)
    if raw is None:
        raise DatasetError(f"The data folder {folder} given by --data-dir holds no {DISPLAY_NAMES[name]} files; it should hold {EXPECTED_IN_DATA_DIR[name]}.")
    return raw


def read_keras_cache(name, cache):
    """The data set from Keras' cache folder, or None when it is not there."""
    if name == "mnist":
        archive = os.path.join(cache, mnist.KERAS_ARCHIVE_NAME)
        return mnist.read_mnist_archive(archive) if os.path.isfile(archive) else None
    for folder in (os.path.join(cache, cifar10.FOLDER_NAME), os.path.join(cache, "cifar-10-batches-py-target", cifar10.FOLDER_NAME)):
        if os.path.isdir(folder) and cifar10.is_batch_folder(folder):
            return cifar10.read_cifar10_folder(folder)
    for archive in ("cifar-10-batches-py.tar.gz", cifar10.ARCHIVE_NAME, "cifar-10-batches-py-target_archive"):
        if os.path.isfile(os.path.join(cache, archive)):
            return cifar10.read_cifar10_archive(os.path.join(cache, archive))
    return None


def shorten(text, length=160):
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 3] + "..."


def download_with_keras(name):
    """Downloads through keras.datasets with a short socket timeout; returns (RawData or None, reason it failed)."""
    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_SECONDS)
    try:
        import keras

        loader = keras.datasets.mnist if name == "mnist" else keras.datasets.cifar10
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    except Exception as error:  # any failure means only that the data could not be had this way
        return None, f"the Keras download failed: {type(error).__name__}: {shorten(str(error))}"
    finally:
        socket.setdefaulttimeout(previous_timeout)
    arrays = {"x_train": np.asarray(x_train), "x_test": np.asarray(x_test)}
    for key in arrays:
        if name == "cifar10" and arrays[key].shape[1:] == (3, 32, 32):
            arrays[key] = arrays[key].transpose(0, 2, 3, 1)
        elif name == "mnist" and arrays[key].ndim == 3:
            arrays[key] = arrays[key][..., np.newaxis]
    labels = {"y_train": np.asarray(y_train).reshape(-1).astype(np.int32), "y_test": np.asarray(y_test).reshape(-1).astype(np.int32)}
    source = f"downloaded by keras.datasets.{name}.load_data() into {keras_cache_folder()}"
    return RawData(source=source, **arrays, **labels), None


def find_raw_data(name, data_dir, allow_download):
    """Returns (RawData or None, why it could not be had): --data-dir, then Keras' cache, then a download."""
    if data_dir is not None:
        return read_data_dir(name, data_dir), None
    cache = keras_cache_folder()
    raw = read_keras_cache(name, cache)
    if raw is not None:
        return raw, None
    reasons = [f"no --data-dir given, nothing in the Keras cache {cache}"]
    if downloads_disabled(allow_download):
        reasons.append(f"downloads disabled{' by ' + NO_DOWNLOAD_VARIABLE if allow_download else ''}")
        return None, ", ".join(reasons)
    raw, failure = download_with_keras(name)
    if raw is None:
        reasons.append(failure)
    return raw, ", ".join(reasons)
