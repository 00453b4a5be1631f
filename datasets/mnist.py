"""MNIST (LeCun et al.): the four official IDX files, or Keras' mnist.npz."""

import os
import zipfile
import zlib

import numpy as np

from datasets.base import DatasetDefinition
from datasets.dataset import RawData
from datasets.idx import OFFICIAL_FILES, OFFICIAL_NAMES, IdxFiles

KERAS_ARCHIVE_NAME = "mnist.npz"
DEFAULT_FIX = "download it again or point --data-dir to a folder holding the four official MNIST files"
FILES = IdxFiles("MNIST", DEFAULT_FIX)


def read_npz(path, fix=DEFAULT_FIX):
    """Reads Keras' mnist.npz (keys x_train, y_train, x_test, y_test) without admitting pickled objects."""
    try:
        with open(path, "rb") as handle:
            archive = np.load(handle, allow_pickle=False)
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise FILES.corrupt(path, "a single .npy array, not an .npz archive", fix)
            missing = [key for key in OFFICIAL_FILES if key not in archive.files]
            if missing:
                raise FILES.corrupt(path, f"no array named {', '.join(missing)}", fix)
            with archive:
                arrays = {key: archive[key] for key in OFFICIAL_FILES}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error, KeyError) as error:
        raise FILES.corrupt(path, f"{type(error).__name__}: {error}", fix) from None
    return FILES.check_arrays(dict.fromkeys(OFFICIAL_FILES, path), arrays, fix)


def read_mnist_archive(path):
    """MNIST from Keras' mnist.npz at `path`."""
    return RawData(source=path, **read_npz(path))


class MNIST(DatasetDefinition):
    name = "mnist"
    display_name = "MNIST"
    image_shape = (28, 28, 1)
    num_classes = 10
    expected_in_data_dir = f"the four official MNIST files ({OFFICIAL_NAMES}) or Keras' mnist.npz"
    how_to_get = (f"pass --data-dir PATH to a folder holding the four official MNIST files ({OFFICIAL_NAMES}) or "
                  "Keras' mnist.npz")
    keras_loader = "mnist"
    training_labels_sha256 = "1feba77c54802fa5339a11837ea4b2866434b83314ec45192930f1df69120c13"
    # Offline and without --data-dir, --dataset auto still runs: on the committed subset, with a warning.
    fallback = "mnist-subset"

    def read_folder(self, folder):
        """The official files, or else mnist.npz, in `folder`."""
        archive = os.path.join(folder, KERAS_ARCHIVE_NAME)
        if not all(FILES.file_paths(folder).values()) and os.path.isfile(archive):
            return read_mnist_archive(archive)
        return FILES.read_folder(folder)

    def read_keras_cache(self, cache):
        archive = os.path.join(cache, KERAS_ARCHIVE_NAME)
        return read_mnist_archive(archive) if os.path.isfile(archive) else None
