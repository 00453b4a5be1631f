"""load_dataset: picks the data set, finds its files, splits off validation and normalises."""

from datasets import sources
from datasets.dataset import Dataset
from datasets.errors import DatasetError
from datasets.preprocessing import normalise, pixel_statistics
from datasets.subset import SUBSET_VALIDATION_SIZE, read_mnist_subset

DATASET_NAMES = ("auto", "mnist", "cifar10", "mnist-subset")
STANDARD_NAMES = ("mnist", "cifar10")
TEST_NORMALIZATIONS = ("test", "train")
VALIDATION_SIZE = 5000  # the first 5,000 images of the training file are the validation set
CIFAR10_HOW_TO_GET = (
    "download cifar-10-python.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html on a machine with internet "
    "and pass --data-dir PATH to the folder holding it"
)
MNIST_HOW_TO_GET = (
    "pass --data-dir PATH to a folder holding the four official MNIST files (train-images-idx3-ubyte.gz, "
    "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) or Keras' mnist.npz"
)


def check_arguments(name, standard, limit, test_normalization):
    if name not in DATASET_NAMES:
        raise DatasetError(f"Unknown data set '{name}'; choose one of {', '.join(DATASET_NAMES)}.")
    if name == "auto" and standard not in STANDARD_NAMES:
        raise DatasetError(f"Unknown standard data set '{standard}' for --dataset auto; it must be mnist or cifar10.")
    if test_normalization not in TEST_NORMALIZATIONS:
        raise DatasetError(f"Unknown test normalisation '{test_normalization}'; choose test or train.")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise DatasetError(f"The example limit must be a positive whole number, not {limit!r}.")


def build_dataset(name, raw, validation_size, limit, test_normalization, warning=None):
    """Splits off the first `validation_size` training images, keeps the first `limit` of each split, normalises."""
    count = raw.x_train.shape[0]
    if count <= validation_size:
        raise DatasetError(f"The training data in {raw.source} holds only {count} images, but the first {validation_size} are the validation set and at least one more is needed for training; point --data-dir to the complete official files.")
    mean, std = pixel_statistics(raw.x_train, f"training data in {raw.source}")
    if test_normalization == "test":
        test_mean, test_std = pixel_statistics(raw.x_test, f"test data in {raw.source}")
    else:
        test_mean, test_std = mean, std
    val_end = validation_size if limit is None else min(validation_size, limit)
    train_end = None if limit is None else validation_size + limit
    return Dataset(
        name=name,
        source=raw.source,
        x_train=normalise(raw.x_train[validation_size:train_end], mean, std),
        y_train=raw.y_train[validation_size:train_end].astype("int32"),
        x_val=normalise(raw.x_train[:val_end], mean, std),
        y_val=raw.y_train[:val_end].astype("int32"),
        x_test=normalise(raw.x_test[:limit], test_mean, test_std),
        y_test=raw.y_test[:limit].astype("int32"),
        warning=warning,
    )


def load_dataset(name, standard, data_dir=None, limit=None, test_normalization="test", allow_download=True):
    """The data set `name` (one of DATASET_NAMES; "auto" means `standard`), split and normalised, or DatasetError."""
    check_arguments(name, standard, limit, test_normalization)
    if name == "mnist-subset":
        return build_dataset(name, read_mnist_subset(), SUBSET_VALIDATION_SIZE, limit, test_normalization)
    wanted = standard if name == "auto" else name
    raw, why_not = sources.find_raw_data(wanted, data_dir, allow_download)
    if raw is not None:
        return build_dataset(wanted, raw, VALIDATION_SIZE, limit, test_normalization)
    if wanted == "mnist" and name == "auto":
        warning = (
            f"MNIST could not be found ({why_not}); using the committed 6,000-image MNIST subset instead; "
            "pass --data-dir PATH with the official files for the full data set."
        )
        return build_dataset("mnist-subset", read_mnist_subset(), SUBSET_VALIDATION_SIZE, limit, test_normalization, " ".join(warning.split()))
    how_to_get = MNIST_HOW_TO_GET if wanted == "mnist" else CIFAR10_HOW_TO_GET
    raise DatasetError(f"{sources.DISPLAY_NAMES[wanted]} could not be found ({why_not}); {how_to_get}.")
