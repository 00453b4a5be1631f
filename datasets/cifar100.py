"""CIFAR-100 (Krizhevsky 2009) with its 100 fine labels: the official python version, cifar-100-python.tar.gz or
its extracted cifar-100-python/ folder (files train, test and meta; meta names the classes, so it is not read)."""

import types

from datasets.base import DatasetDefinition
from datasets.cifar_batches import OFFICIAL_PAGE, PythonBatches

ARCHIVE_NAME = "cifar-100-python.tar.gz"
FOLDER_NAME = "cifar-100-python"
BATCHES = PythonBatches("CIFAR-100", ARCHIVE_NAME, FOLDER_NAME, ("train",), "test", b"fine_labels", 100)


class CIFAR100(DatasetDefinition):
    name = "cifar100"
    display_name = "CIFAR-100"
    image_shape = (32, 32, 3)
    num_classes = 100
    expected_in_data_dir = f"{ARCHIVE_NAME} or its extracted {FOLDER_NAME}/ folder"
    how_to_get = (f"download {ARCHIVE_NAME} from {OFFICIAL_PAGE} on a machine with internet and pass --data-dir PATH "
                  "to the folder holding it")
    keras_loader = "cifar100"
    keras_loader_arguments = types.MappingProxyType({"label_mode": "fine"})

    def read_folder(self, folder):
        return BATCHES.read_folder(folder)

    def read_keras_cache(self, cache):
        return BATCHES.read_keras_cache(cache, "cifar-100-python-target")
