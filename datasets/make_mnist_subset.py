"""Draws datasets/mnist_subset.npz from the four official MNIST files.

    python -m datasets.make_mnist_subset --source /path/to/mnist [--output datasets/mnist_subset.npz]

600 training and 100 test images per class, chosen at random with a fixed seed, and stored in blocks of
ten that hold one image of each class in random order, so that any prefix is close to class-balanced
(the first 1,000 training images, the subset's validation split, hold exactly 100 per class).
The original indices into the official files are stored too. The zip entries get a fixed timestamp, so
that drawing again gives a byte-identical file.
"""

import argparse
import hashlib
import io
import os
import sys
import zipfile

import numpy as np

if __package__ in (None, ""):  # run as a file: make the package importable
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from datasets.idx import OFFICIAL_FILES, official_file_path  # noqa: E402
from datasets.mnist import FILES  # noqa: E402
from datasets.subset import SUBSET_FILE  # noqa: E402

SEED = 20200
TRAIN_PER_CLASS = 600
TEST_PER_CLASS = 100
NUM_CLASSES = 10


def draw_balanced_order(labels, per_class, generator):
    """Indices of `per_class` images of each class, ordered in blocks holding one image of every class."""
    columns = [generator.choice(np.flatnonzero(labels == label), size=per_class, replace=False)
               for label in range(NUM_CLASSES)]
    table = np.stack(columns, axis=1)  # (per_class, NUM_CLASSES)
    blocks = [row[generator.permutation(NUM_CLASSES)] for row in table]
    return np.concatenate(blocks).astype(np.int32)


def npz_bytes(arrays):
    """The bytes of a compressed .npz (as np.savez_compressed writes it) with fixed zip timestamps."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for key, value in arrays.items():
            entry = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(entry, "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, np.asarray(value), allow_pickle=False)
    return buffer.getvalue()


def draw_subset(source_folder):
    paths = {key: official_file_path(source_folder, base) for key, (base, _, _) in OFFICIAL_FILES.items()}
    missing = [OFFICIAL_FILES[key][0] for key, path in paths.items() if path is None]
    if missing:
        raise SystemExit(f"{source_folder} lacks {', '.join(missing)}")
    official = FILES.read_official_files(paths)
    generator = np.random.default_rng(SEED)
    train_indices = draw_balanced_order(official["y_train"], TRAIN_PER_CLASS, generator)
    test_indices = draw_balanced_order(official["y_test"], TEST_PER_CLASS, generator)
    return {
        "x_train": official["x_train"][train_indices, :, :, 0],
        "y_train": official["y_train"][train_indices].astype(np.uint8),
        "x_test": official["x_test"][test_indices, :, :, 0],
        "y_test": official["y_test"][test_indices].astype(np.uint8),
        "train_indices": train_indices,
        "test_indices": test_indices,
        "seed": np.int64(SEED),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="folder holding the four official MNIST .gz files")
    parser.add_argument("--output", default=SUBSET_FILE)
    options = parser.parse_args(argv)
    data = npz_bytes(draw_subset(options.source))
    temporary = options.output + ".tmp"
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, options.output)
    print(f"wrote {options.output}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
