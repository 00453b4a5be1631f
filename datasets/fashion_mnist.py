"""Fashion-MNIST (Xiao et al. 2017): 28x28 grayscale images of 10 kinds of clothing, in the four official IDX
files, which have MNIST's names and format (so they are told apart by their labels, datasets/base.py)."""

import os

from datasets.base import DatasetDefinition
from datasets.idx import OFFICIAL_NAMES, IdxFiles

OFFICIAL_PAGE = "https://github.com/zalandoresearch/fashion-mnist"
FOLDER_NAME = "fashion-mnist"  # Keras' cache keeps the files in datasets/fashion-mnist/
FILES = IdxFiles("Fashion-MNIST", f"download it again from {OFFICIAL_PAGE} or point --data-dir to a folder "
                                  "holding the four official Fashion-MNIST files")


class FashionMNIST(DatasetDefinition):
    name = "fashion-mnist"
    display_name = "Fashion-MNIST"
    image_shape = (28, 28, 1)
    num_classes = 10
    expected_in_data_dir = (f"the four official Fashion-MNIST files ({OFFICIAL_NAMES}) or a {FOLDER_NAME}/ folder "
                            "holding them")
    how_to_get = (f"download the four official Fashion-MNIST files ({OFFICIAL_NAMES}) from {OFFICIAL_PAGE} on a "
                  "machine with internet and pass --data-dir PATH to the folder holding them")
    keras_loader = "fashion_mnist"
    training_labels_sha256 = "657fbd221bfc9f4198cc14b5619cc33ec57c58dd0e47af4d99d6650759e869a7"

    def read_folder(self, folder):
        """The four files in `folder`, or else in its fashion-mnist/ subfolder."""
        raw = FILES.read_folder(folder)
        if raw is None and os.path.isdir(os.path.join(folder, FOLDER_NAME)):
            raw = FILES.read_folder(os.path.join(folder, FOLDER_NAME))
        return raw

    def read_keras_cache(self, cache):
        folder = os.path.join(cache, FOLDER_NAME)
        return FILES.read_folder(folder) if os.path.isdir(folder) else None
