"""The registered data sets, and load_dataset: picks one, finds its files, checks them, splits and normalises.

Adding a data set: one module in datasets/ with a DatasetDefinition subclass (datasets/base.py), and one line in
REGISTRY.
"""

from datasets import cifar10, cifar100, fashion_mnist, mnist, subset
from datasets.base import training_labels_digest
from datasets.errors import DatasetError

REGISTRY = {
    "mnist": mnist.MNIST(),
    "cifar10": cifar10.CIFAR10(),
    "mnist-subset": subset.MNISTSubset(),
    "fashion-mnist": fashion_mnist.FashionMNIST(),
    "cifar100": cifar100.CIFAR100(),
}
DATASET_NAMES = ("auto", *REGISTRY)
# The --dataset values that read --data-dir ("auto" may: the network's standard data set).
DATA_DIR_DATASETS = ("auto", *(name for name, definition in REGISTRY.items() if definition.reads_data_dir))
TEST_NORMALIZATIONS = ("test", "train")
VALIDATION_SIZE = 5000  # the first 5,000 images of a full data set's training files are the validation set


def check_arguments(name, standard, limit, test_normalization):
    if name not in DATASET_NAMES:
        raise DatasetError(f"Unknown data set '{name}'; choose one of {', '.join(DATASET_NAMES)}.")
    if name == "auto" and standard not in REGISTRY:
        raise DatasetError(f"Unknown standard data set '{standard}' for --dataset auto; it must be one of "
                           f"{', '.join(REGISTRY)}.")
    if test_normalization not in TEST_NORMALIZATIONS:
        raise DatasetError(f"Unknown test normalisation '{test_normalization}'; choose test or train.")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise DatasetError(f"The example limit must be a positive whole number, not {limit!r}.")


def check_not_another_data_set(data_set, raw):
    """Refuses files that are another registered data set's official files (MNIST and Fashion-MNIST share names)."""
    digest = training_labels_digest(raw)
    for other in REGISTRY.values():
        if other is not data_set and digest is not None and digest == other.training_labels_sha256:
            raise DatasetError(f"The files in {raw.source} are the official {other.display_name} files, not "
                               f"{data_set.display_name}; point --data-dir to a folder holding the "
                               f"{data_set.display_name} files.")


def prepare(data_set, raw, limit, test_normalization, warning=None):
    data_set.check_raw_data(raw)
    check_not_another_data_set(data_set, raw)
    validation_size = VALIDATION_SIZE if data_set.validation_size is None else data_set.validation_size
    return data_set.preprocess(raw, validation_size, limit, test_normalization, warning)


def load_dataset(name, standard, data_dir=None, limit=None, test_normalization="test", allow_download=True):
    """The data set `name` (one of DATASET_NAMES; "auto" means `standard`), split and normalised, or DatasetError.
    Only "auto" may stand another data set in, the one the standard declares as its fallback, with a warning."""
    check_arguments(name, standard, limit, test_normalization)
    data_set = REGISTRY[standard if name == "auto" else name]
    raw, why_not = data_set.find_raw_data(data_dir, allow_download)
    if raw is not None:
        return prepare(data_set, raw, limit, test_normalization)
    if name == "auto" and data_set.fallback is not None:
        fallback = REGISTRY[data_set.fallback]
        warning = (
            f"{data_set.display_name} could not be found ({why_not}); using the {fallback.description} instead; "
            "pass --data-dir PATH with the official files for the full data set."
        )
        fallback_raw, _ = fallback.find_raw_data(None, allow_download)
        return prepare(fallback, fallback_raw, limit, test_normalization, " ".join(warning.split()))
    raise DatasetError(f"{data_set.display_name} could not be found ({why_not}); {data_set.how_to_get}.")
