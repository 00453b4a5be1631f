"""CIFAR-10 (Krizhevsky 2009): the official python batches, in cifar-10-python.tar.gz or extracted."""

from datasets.base import DatasetDefinition
from datasets.cifar_batches import OFFICIAL_PAGE, PythonBatches

ARCHIVE_NAME = "cifar-10-python.tar.gz"
FOLDER_NAME = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{number}" for number in range(1, 6))
TEST_BATCH = "test_batch"
BATCHES = PythonBatches("CIFAR-10", ARCHIVE_NAME, FOLDER_NAME, TRAIN_BATCHES, TEST_BATCH, b"labels", 10)


def read_cifar10_folder(folder):
    """CIFAR-10 from an extracted cifar-10-batches-py folder."""
    return BATCHES.read_extracted(folder)


class CIFAR10(DatasetDefinition):
    name = "cifar10"
    display_name = "CIFAR-10"
    image_shape = (32, 32, 3)
    num_classes = 10
    expected_in_data_dir = f"{ARCHIVE_NAME} or its extracted {FOLDER_NAME}/ folder"
    how_to_get = (f"download {ARCHIVE_NAME} from {OFFICIAL_PAGE} on a machine with internet and pass --data-dir PATH "
                  "to the folder holding it")
    keras_loader = "cifar10"

    def read_folder(self, folder):
        return BATCHES.read_folder(folder)

    def read_keras_cache(self, cache):
        return BATCHES.read_keras_cache(cache, "cifar-10-batches-py-target")
