"""Reading MNIST from the four official IDX files or from Keras' mnist.npz."""

import os
import zipfile
import zlib

import numpy as np

from datasets.dataset import RawData
from datasets.errors import DatasetError
from datasets.idx import read_idx

IMAGE_SIZE = 28
KERAS_ARCHIVE_NAME = "mnist.npz"
# Array name -> (official IDX file name without .gz, number of axes, what it holds).
OFFICIAL_FILES = {
    "x_train": ("train-images-idx3-ubyte", 3, "image data"),
    "y_train": ("train-labels-idx1-ubyte", 1, "label data"),
    "x_test": ("t10k-images-idx3-ubyte", 3, "image data"),
    "y_test": ("t10k-labels-idx1-ubyte", 1, "label data"),
}
OFFICIAL_NAMES = ", ".join(name + ".gz" for name, _, _ in OFFICIAL_FILES.values())
DEFAULT_FIX = "download it again or point --data-dir to a folder holding the four official MNIST files"


def corrupt(path, detail, fix=DEFAULT_FIX):
    return DatasetError(f"The MNIST file {path} is truncated or corrupt ({detail}); {fix}.")


def official_file_path(folder, base_name):
    """The path of an official file in `folder`, compressed (.gz) or not; None when neither is there."""
    for candidate in (base_name + ".gz", base_name):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    return None


def check_arrays(paths, arrays, fix=DEFAULT_FIX):
    """Checks shapes, dtypes and label ranges (`paths`: array name -> file); returns (N, 28, 28, 1) uint8 images, int32 labels."""
    checked = {}
    for split in ("train", "test"):
        images, labels = arrays["x_" + split], arrays["y_" + split]
        image_path, label_path = paths["x_" + split], paths["y_" + split]
        if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
            raise corrupt(image_path, f"{split} images are {images.dtype} {images.shape}, expected uint8 (N, 28, 28)", fix)
        if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
            raise corrupt(label_path, f"{labels.shape[0] if labels.ndim else 0} {split} labels for {images.shape[0]} images", fix)
        if not np.issubdtype(labels.dtype, np.integer) or (labels.size and (labels.min() < 0 or labels.max() > 9)):
            raise corrupt(label_path, f"{split} labels are not all class indices 0 to 9", fix)
        checked["x_" + split] = images.reshape(images.shape + (1,))
        checked["y_" + split] = labels.astype(np.int32)
    return checked


def read_official_files(paths):
    """Reads the four IDX files named by `paths` (array name -> path)."""
    arrays = {}
    for key, (_, dimensions, what) in OFFICIAL_FILES.items():
        try:
            arrays[key] = read_idx(paths[key], dimensions, what)
        except ValueError as error:
            raise corrupt(paths[key], error) from None
        except OSError as error:
            raise DatasetError(f"The MNIST file {paths[key]} could not be read ({error.strerror or error}); check its permissions or point --data-dir elsewhere.") from None
    for split in ("train", "test"):
        images, labels = arrays["x_" + split], arrays["y_" + split]
        if images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
            raise corrupt(paths["x_" + split], f"images are {images.shape[1]}x{images.shape[2]}, expected 28x28")
        if labels.shape[0] != images.shape[0]:
            raise corrupt(paths["y_" + split], f"{labels.shape[0]} labels for the {images.shape[0]} images in {paths['x_' + split]}")
    return check_arrays(paths, arrays)


def read_npz(path, fix=DEFAULT_FIX):
    """Reads Keras' mnist.npz (keys x_train, y_train, x_test, y_test) without admitting pickled objects."""
    try:
        with open(path, "rb") as handle:
            archive = np.load(handle, allow_pickle=False)
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise corrupt(path, "a single .npy array, not an .npz archive", fix)
            missing = [key for key in OFFICIAL_FILES if key not in archive.files]
            if missing:
                raise corrupt(path, f"no array named {', '.join(missing)}", fix)
            with archive:
                arrays = {key: archive[key] for key in OFFICIAL_FILES}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as error:
        raise corrupt(path, f"{type(error).__name__}: {error}", fix) from None
    return check_arrays(dict.fromkeys(OFFICIAL_FILES, path), arrays, fix)


def read_mnist_folder(folder):
    """MNIST from the official files or mnist.npz in `folder`; None when it holds none of them."""
    paths = {key: official_file_path(folder, base) for key, (base, _, _) in OFFICIAL_FILES.items()}
    archive = os.path.join(folder, KERAS_ARCHIVE_NAME)
    if all(paths.values()):
        return RawData(source=folder, **read_official_files(paths))
    if os.path.isfile(archive):
        return RawData(source=archive, **read_npz(archive))
    missing = [OFFICIAL_FILES[key][0] + ".gz" for key, path in paths.items() if path is None]
    if len(missing) < len(OFFICIAL_FILES):
        raise DatasetError(
            f"The MNIST file {os.path.join(folder, missing[0])} is missing ({folder} holds only some of the four official "
            f"MNIST files); download it, or point --data-dir to a folder holding all four ({OFFICIAL_NAMES})."
        )
    return None


def read_mnist_archive(path):
    """MNIST from Keras' mnist.npz at `path`."""
    return RawData(source=path, **read_npz(path))
