"""Reading IDX files (the format of the official MNIST and Fashion-MNIST files), gzip-compressed or not."""

import gzip
import os
import zlib

import numpy as np

from datasets.dataset import RawData
from datasets.errors import DatasetError

UNSIGNED_BYTE_TYPE = 0x08


def read_file_bytes(path):
    """Returns the file's bytes, decompressed when its name ends in .gz; ValueError if the gzip stream is bad."""
    with open(path, "rb") as handle:
        data = handle.read()
    if not path.endswith(".gz"):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"bad gzip stream: {error}") from None


def parse_idx(data, dimensions, what):
    """Parses IDX bytes holding unsigned bytes in `dimensions` axes; ValueError describing any mismatch."""
    expected_magic = (UNSIGNED_BYTE_TYPE << 8) | dimensions
    header_size = 4 + 4 * dimensions
    if len(data) < header_size:
        raise ValueError(f"only {len(data)} bytes, too short for the {header_size}-byte IDX header")
    magic = int.from_bytes(data[0:4], "big")
    if magic != expected_magic:
        raise ValueError(f"wrong IDX magic number 0x{magic:08x}, expected 0x{expected_magic:08x}")
    shape = tuple(int.from_bytes(data[4 + 4 * axis : 8 + 4 * axis], "big") for axis in range(dimensions))
    expected_bytes = int(np.prod(shape, dtype=np.int64))
    found_bytes = len(data) - header_size
    if found_bytes != expected_bytes:
        raise ValueError(f"expected {expected_bytes} bytes of {what}, found {found_bytes}")
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape)


def read_idx(path, dimensions, what):
    """Reads an IDX file of unsigned bytes with `dimensions` axes; ValueError if it is truncated or corrupt."""
    return parse_idx(read_file_bytes(path), dimensions, what)


# Array name -> (official file name without .gz, number of axes, what it holds): MNIST's names, which
# Fashion-MNIST keeps for its own files.
OFFICIAL_FILES = {
    "x_train": ("train-images-idx3-ubyte", 3, "image data"),
    "y_train": ("train-labels-idx1-ubyte", 1, "label data"),
    "x_test": ("t10k-images-idx3-ubyte", 3, "image data"),
    "y_test": ("t10k-labels-idx1-ubyte", 1, "label data"),
}
OFFICIAL_NAMES = ", ".join(name + ".gz" for name, _, _ in OFFICIAL_FILES.values())
IMAGE_SIZE = 28
NUM_CLASSES = 10


def official_file_path(folder, base_name):
    """The path of an official file in `folder`, compressed (.gz) or not; None when neither is there."""
    for candidate in (base_name + ".gz", base_name):
        path = os.path.join(folder, candidate)
        if os.path.isfile(path):
            return path
    return None


class IdxFiles:
    """Reads the four official IDX files of an MNIST-style data set (28x28 grayscale, 10 classes); its messages
    name the data set (`display_name`) and end with `fix` when a file is corrupt."""

    def __init__(self, display_name, fix):
        self.display_name = display_name
        self.fix = fix

    def corrupt(self, path, detail, fix=None):
        return DatasetError(f"The {self.display_name} file {path} is truncated or corrupt ({detail}); "
                            f"{fix or self.fix}.")

    def check_arrays(self, paths, arrays, fix=None):
        """Checks shapes, dtypes and label ranges (`paths`: array name -> file); returns (N, 28, 28, 1) uint8
        images, int32 labels."""
        checked = {}
        for split in ("train", "test"):
            images, labels = arrays["x_" + split], arrays["y_" + split]
            image_path, label_path = paths["x_" + split], paths["y_" + split]
            if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
                raise self.corrupt(image_path, f"{split} images are {images.dtype} {images.shape}, expected uint8 "
                                               "(N, 28, 28)", fix)
            if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
                raise self.corrupt(label_path, f"{labels.shape[0] if labels.ndim else 0} {split} labels for "
                                               f"{images.shape[0]} images", fix)
            if (not np.issubdtype(labels.dtype, np.integer)
                    or (labels.size and (labels.min() < 0 or labels.max() >= NUM_CLASSES))):
                raise self.corrupt(label_path, f"{split} labels are not all class indices 0 to {NUM_CLASSES - 1}", fix)
            checked["x_" + split] = images.reshape(images.shape + (1,))
            checked["y_" + split] = labels.astype(np.int32)
        return checked

    def read_official_files(self, paths):
        """Reads the four IDX files named by `paths` (array name -> path)."""
        arrays = {}
        for key, (_, dimensions, what) in OFFICIAL_FILES.items():
            try:
                arrays[key] = read_idx(paths[key], dimensions, what)
            except ValueError as error:
                raise self.corrupt(paths[key], error) from None
            except OSError as error:
                raise DatasetError(f"The {self.display_name} file {paths[key]} could not be read "
                                   f"({error.strerror or error}); check its permissions or point --data-dir "
                                   "elsewhere.") from None
        for split in ("train", "test"):
            images, labels = arrays["x_" + split], arrays["y_" + split]
            if images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
                raise self.corrupt(paths["x_" + split],
                                   f"images are {images.shape[1]}x{images.shape[2]}, expected 28x28")
            if labels.shape[0] != images.shape[0]:
                raise self.corrupt(paths["y_" + split], f"{labels.shape[0]} labels for the {images.shape[0]} images "
                                                        f"in {paths['x_' + split]}")
        return self.check_arrays(paths, arrays)

    def file_paths(self, folder):
        """Array name -> path of each official file in `folder` (None where it is absent)."""
        return {key: official_file_path(folder, base) for key, (base, _, _) in OFFICIAL_FILES.items()}

    def read_folder(self, folder):
        """RawData from the four official files in `folder`; None when it holds none of them."""
        paths = self.file_paths(folder)
        if all(paths.values()):
            return RawData(source=folder, **self.read_official_files(paths))
        if any(paths.values()):
            missing = next(OFFICIAL_FILES[key][0] + ".gz" for key, path in paths.items() if path is None)
            raise DatasetError(
                f"The {self.display_name} file {os.path.join(folder, missing)} is missing ({folder} holds only some "
                f"of the four official {self.display_name} files); download it, or point --data-dir to a folder "
                f"holding all four ({OFFICIAL_NAMES})."
            )
        return None
