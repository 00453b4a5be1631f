"""The data-set registry: a data set is one module with a DatasetDefinition subclass and one line in
datasets/registry.py; every registered one is offered by --dataset, refuses a folder without its files, builds every
network, and is never replaced by another data set."""

import ast
import hashlib
import importlib
import inspect
from pathlib import Path

import numpy as np
import pytest

import datasets
from config.run_config import DATASET_CHOICES
from datasets import DatasetError, load_dataset, registry
from datasets.base import DatasetDefinition
from networks import NETWORK_NAMES, build_network
from test_datasets import SHARED_MNIST, needs_shared_mnist, tiny_mnist, write_idx_folder

PACKAGE = Path(datasets.__file__).parent


@pytest.fixture(autouse=True)
def isolated_sources(tmp_path, monkeypatch):
    keras_home = tmp_path / "keras_home"
    keras_home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setenv("MASKTRAINER_NO_DOWNLOAD", "1")


def data_set_classes_defined_in_the_package():
    """{module name: DatasetDefinition subclasses defined in it} over every module of datasets/, found by reading
    them."""
    found = {}
    for path in sorted(PACKAGE.glob("*.py")):
        module = importlib.import_module(f"datasets.{path.stem}")
        classes = [value for value in vars(module).values()
                   if inspect.isclass(value) and issubclass(value, DatasetDefinition)
                   and value is not DatasetDefinition and value.__module__ == module.__name__]
        if classes:
            found[path.stem] = classes
    return found


def test_the_registry_lists_exactly_the_modules_that_define_a_data_set():
    defined = data_set_classes_defined_in_the_package()
    assert all(len(classes) == 1 for classes in defined.values()), defined
    registered = {type(data_set).__module__.split(".")[-1] for data_set in registry.REGISTRY.values()}
    assert registered == set(defined)
    for name, data_set in registry.REGISTRY.items():
        assert data_set.name == name and type(data_set) in defined[type(data_set).__module__.split(".")[-1]]


def test_registering_is_one_line_per_data_set():
    tree = ast.parse((PACKAGE / "registry.py").read_text())
    (assignment,) = [node for node in tree.body if isinstance(node, ast.Assign) and node.targets[0].id == "REGISTRY"]
    assert len(assignment.value.keys) == len(registry.REGISTRY)
    assert len({entry.lineno for entry in assignment.value.values}) == len(registry.REGISTRY)


def test_the_command_line_offers_auto_and_every_registered_data_set():
    assert DATASET_CHOICES == registry.DATASET_NAMES == ("auto", *registry.REGISTRY)
    assert registry.DATASET_NAMES[:4] == ("auto", "mnist", "cifar10", "mnist-subset")


@pytest.mark.parametrize("name", list(registry.REGISTRY))
def test_every_data_set_declares_what_the_loader_needs(name):
    data_set = registry.REGISTRY[name]
    assert data_set.display_name and data_set.num_classes >= 2
    assert len(data_set.image_shape) == 3
    assert data_set.validation_size is None or data_set.validation_size >= 1
    if type(data_set).find_raw_data is DatasetDefinition.find_raw_data:  # found in --data-dir, Keras' cache, a download
        assert data_set.expected_in_data_dir and data_set.how_to_get and "--data-dir" in data_set.how_to_get
    if data_set.fallback is not None:
        assert data_set.fallback in registry.REGISTRY and registry.REGISTRY[data_set.fallback].description


@pytest.mark.parametrize("name", [name for name, data_set in registry.REGISTRY.items()
                                  if type(data_set).find_raw_data is DatasetDefinition.find_raw_data])
def test_a_folder_without_the_files_is_refused_in_one_sentence(tmp_path, name):
    display_name = registry.REGISTRY[name].display_name
    for arguments in ({"data_dir": str(tmp_path)}, {}):
        with pytest.raises(DatasetError) as error:
            load_dataset(name, "mnist", **arguments)
        message = str(error.value)
        assert "\n" not in message and message.endswith(".") and display_name in message and "--data-dir" in message


def test_an_unknown_name_is_refused_and_never_becomes_cifar10(monkeypatch):
    monkeypatch.setattr(DatasetDefinition, "find_raw_data",
                        lambda self, *arguments: pytest.fail(f"looked for {self.name}"))
    for name in ("imagenet", "cifar-10", "fashion_mnist", "CIFAR100", ""):
        with pytest.raises(DatasetError, match="Unknown data set"):
            load_dataset(name, "cifar10")
    with pytest.raises(DatasetError, match="Unknown standard data set"):
        load_dataset("auto", "imagenet")


def test_only_auto_falls_back_and_only_to_the_declared_data_set(tmp_path):
    fallbacks = {name: data_set.fallback for name, data_set in registry.REGISTRY.items() if data_set.fallback}
    assert fallbacks == {"mnist": "mnist-subset"}
    assert load_dataset("auto", "mnist").name == "mnist-subset"
    for name in registry.REGISTRY:
        if name != "mnist-subset":
            with pytest.raises(DatasetError, match="could not be found|holds no"):
                load_dataset(name, name)


def test_files_of_another_registered_data_set_are_refused(tmp_path, monkeypatch):
    arrays = tiny_mnist()
    folder = write_idx_folder(tmp_path / "mnist", arrays)
    digest = hashlib.sha256(np.asarray(arrays["y_train"], np.uint8).tobytes()).hexdigest()
    monkeypatch.setattr(registry, "VALIDATION_SIZE", 3)
    monkeypatch.setattr(type(registry.REGISTRY["cifar10"]), "training_labels_sha256", digest)
    with pytest.raises(DatasetError) as error:
        load_dataset("mnist", "mnist", data_dir=str(folder))
    assert str(error.value) == (f"The files in {folder} are the official CIFAR-10 files, not MNIST; point "
                                "--data-dir to a folder holding the MNIST files.")


@needs_shared_mnist
def test_the_mnist_fingerprint_is_that_of_the_official_files():
    raw = registry.REGISTRY["mnist"].read_folder(str(SHARED_MNIST))
    assert datasets.base.training_labels_digest(raw) == registry.REGISTRY["mnist"].training_labels_sha256


def network_cases():
    """Every network on each distinct (image shape, classes) of the registered data sets."""
    shapes = sorted({(tuple(data_set.image_shape), data_set.num_classes) for data_set in registry.REGISTRY.values()})
    networks = [name for name in NETWORK_NAMES if not name.startswith("ResNet")] + ["ResNet8"]
    return [(network, shape, classes) for shape, classes in shapes for network in networks]


@pytest.mark.parametrize("network, image_shape, num_classes", network_cases())
def test_every_network_builds_on_every_data_set(network, image_shape, num_classes):
    """The input shape comes from the data (README), so no network and data set pair is refused."""
    model = build_network(network, image_shape, num_classes, seed=1)
    assert model.input_shape == (None, *image_shape) and model.output_shape == (None, num_classes)
