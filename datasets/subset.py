"""The committed 6,000-image MNIST subset that ships inside this package (datasets/SUBSET.md)."""

import os

from datasets.base import DatasetDefinition
from datasets.dataset import RawData
from datasets.errors import DatasetError
from datasets.mnist import read_npz

PACKAGE_FOLDER = os.path.dirname(os.path.abspath(__file__))
SUBSET_FILE = os.path.join(PACKAGE_FOLDER, "mnist_subset.npz")
SUBSET_VALIDATION_SIZE = 1000  # the first 1,000 of its 6,000 training images
SUBSET_FIX = ("restore it with git checkout datasets/mnist_subset.npz or redraw it with "
              "python -m datasets.make_mnist_subset")


def read_mnist_subset(path=SUBSET_FILE):
    """The subset's uint8 images (N, 28, 28, 1) and int32 labels; never reads anything outside the package."""
    if not os.path.isfile(path):
        raise DatasetError(f"The MNIST subset file {path} is missing; {SUBSET_FIX}.")
    return RawData(source=path, **read_npz(path, fix=SUBSET_FIX))


class MNISTSubset(DatasetDefinition):
    name = "mnist-subset"
    display_name = "MNIST subset"
    description = "committed 6,000-image MNIST subset"
    image_shape = (28, 28, 1)
    num_classes = 10
    validation_size = SUBSET_VALIDATION_SIZE
    reads_data_dir = False

    def read_folder(self, folder):
        return read_mnist_subset(os.path.join(folder, os.path.basename(SUBSET_FILE)))

    def find_raw_data(self, data_dir, allow_download):
        """Always the package's own file: --data-dir and downloads are for the full data sets."""
        return self.read_folder(PACKAGE_FOLDER), None
