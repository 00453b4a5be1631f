"""Tests of the datasets package: MNIST files, the committed subset, normalisation, splits and sources."""

import gzip
import hashlib
import os
import re
import socket
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import datasets
from datasets import DATASET_NAMES, Dataset, DatasetError, load_dataset, registry, sources, subset
from datasets.preprocessing import normalise, pixel_statistics

SHARED_MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
needs_shared_mnist = pytest.mark.skipif(not (SHARED_MNIST / "train-images-idx3-ubyte.gz").is_file(),
                                        reason="no official MNIST in ../shared")
NAMES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
         "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


@pytest.fixture(autouse=True)
def isolated_sources(tmp_path, monkeypatch):
    """No test reads the real Keras cache or downloads anything."""
    keras_home = tmp_path / "keras_home"
    keras_home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setenv("MASKTRAINER_NO_DOWNLOAD", "1")
    return keras_home


def idx_bytes(array):
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(size).to_bytes(4, "big") for size in array.shape)
    return header + array.tobytes()


def tiny_mnist(train=12, test=4):
    """Images whose pixel (0, 0) counts up, so their order can be checked; labels 0..9 repeating."""
    generator = np.random.default_rng(0)
    arrays = {
        "x_train": generator.integers(0, 256, (train, 28, 28), dtype=np.uint8),
        "y_train": np.arange(train) % 10,
        "x_test": generator.integers(0, 256, (test, 28, 28), dtype=np.uint8),
        "y_test": (np.arange(test) + 3) % 10,
    }
    arrays["x_train"][:, 0, 0] = np.arange(train) * 7
    return arrays


def write_idx_folder(folder, arrays, compressed=True):
    folder.mkdir(exist_ok=True)
    for key, base in NAMES.items():
        data = idx_bytes(arrays[key])
        if compressed:
            (folder / (base + ".gz")).write_bytes(gzip.compress(data))
        else:
            (folder / base).write_bytes(data)
    return folder


def expected(images, reference):
    """(images / 255 - per-pixel mean) / global std, the statistics taken from `reference`, in float64."""
    reference = reference.astype(np.float64) / 255
    mean = reference.mean(axis=0)
    std = np.sqrt(np.mean((reference - mean) ** 2))
    return ((images.astype(np.float64) / 255 - mean) / std)[..., np.newaxis]


def assert_one_sentence(error, *fragments):
    message = str(error.value)
    assert "\n" not in message and message.endswith(".")
    for fragment in fragments:
        assert fragment in message


# The committed subset


def test_public_names():
    assert DATASET_NAMES == ("auto", *registry.REGISTRY) and DATASET_NAMES[:4] == ("auto", "mnist", "cifar10",
                                                                                   "mnist-subset")
    assert set(datasets.__all__) == {"DATA_DIR_DATASETS", "DATASET_NAMES", "Dataset", "DatasetError", "load_dataset"}
    # the committed subset is the one data set that --data-dir does not feed (it is refused with it)
    assert set(DATASET_NAMES) - set(datasets.DATA_DIR_DATASETS) == {"mnist-subset"}


def test_subset_shapes_dtypes_counts_and_balance():
    data = load_dataset("mnist-subset", "mnist")
    assert isinstance(data, Dataset) and data.name == "mnist-subset" and data.warning is None
    assert data.source == subset.SUBSET_FILE and Path(data.source).parent == Path(datasets.__file__).parent
    assert (data.x_train.shape, data.x_val.shape, data.x_test.shape) == ((5000, 28, 28, 1), (1000, 28, 28, 1),
                                                                         (1000, 28, 28, 1))
    assert {array.dtype for array in (data.x_train, data.x_val, data.x_test)} == {np.dtype(np.float32)}
    assert {array.dtype for array in (data.y_train, data.y_val, data.y_test)} == {np.dtype(np.int32)}
    assert data.num_classes == 10
    assert np.bincount(data.y_train, minlength=10).tolist() == [500] * 10
    assert np.bincount(data.y_val, minlength=10).tolist() == [100] * 10
    assert np.bincount(data.y_test, minlength=10).tolist() == [100] * 10
    first_hundred = np.bincount(data.y_train[:100], minlength=10)
    assert first_hundred.min() >= 5, "any prefix should be roughly balanced"


def test_subset_statistics_come_from_its_6000_training_images():
    data = load_dataset("mnist-subset", "mnist")
    everything = np.concatenate([data.x_val, data.x_train])
    assert np.abs(everything.mean(axis=0)).max() < 1e-4
    assert abs(float(everything.std()) - 1) < 1e-4
    assert abs(float(data.x_test.std()) - 1) < 1e-4


def test_subset_file_is_small_and_documented():
    size = os.path.getsize(subset.SUBSET_FILE)
    assert 500_000 < size < 4_000_000
    digest = hashlib.sha256(Path(subset.SUBSET_FILE).read_bytes()).hexdigest()
    note = (Path(subset.SUBSET_FILE).parent / "SUBSET.md").read_text()
    assert digest in note and "make_mnist_subset" in note


@needs_shared_mnist
def test_subset_indices_point_to_the_same_official_pixels():
    stored = np.load(subset.SUBSET_FILE, allow_pickle=False)
    for split, base, count in (("train", NAMES["x_train"], 6000), ("test", NAMES["x_test"], 1000)):
        images = np.frombuffer(gzip.decompress((SHARED_MNIST / (base + ".gz")).read_bytes()), np.uint8,
                               offset=16).reshape(-1, 28, 28)
        label_base = NAMES["y_" + split]
        labels = np.frombuffer(gzip.decompress((SHARED_MNIST / (label_base + ".gz")).read_bytes()), np.uint8, offset=8)
        indices = stored[split + "_indices"]
        assert indices.shape == (count,) and len(set(indices.tolist())) == count
        np.testing.assert_array_equal(stored["x_" + split], images[indices])
        np.testing.assert_array_equal(stored["y_" + split], labels[indices])


# Normalisation


def test_statistics_and_normalisation_exact_numbers():
    images = np.array([[0, 255], [255, 255]], dtype=np.uint8).reshape(2, 1, 2, 1)
    mean, std = pixel_statistics(images, "tiny data")
    np.testing.assert_allclose(mean.reshape(-1), [0.5, 1.0])
    assert std == pytest.approx(np.sqrt(0.125))
    result = normalise(images, mean, std)
    assert result.dtype == np.float32
    np.testing.assert_allclose(result.reshape(2, 2), [[-np.sqrt(2), 0], [np.sqrt(2), 0]], rtol=1e-6)


def test_constant_images_cannot_be_normalised():
    with pytest.raises(DatasetError) as error:
        pixel_statistics(np.full((3, 2, 2, 1), 7, np.uint8), "tiny data")
    assert_one_sentence(error, "no variation")


@pytest.mark.parametrize("test_normalization", ["test", "train"])
def test_split_order_and_normalisation_of_idx_files(tmp_path, monkeypatch, test_normalization):
    monkeypatch.setattr(registry, "VALIDATION_SIZE", 3)
    arrays = tiny_mnist()
    arrays["x_test"][0], arrays["x_test"][1] = 0, 255  # own statistics: mean 0.5 and std 0.5 at every pixel
    arrays["x_test"] = arrays["x_test"][:2]
    arrays["y_test"] = arrays["y_test"][:2]
    folder = write_idx_folder(tmp_path / "mnist", arrays)
    data = load_dataset("mnist", "cifar10", data_dir=str(folder), test_normalization=test_normalization)
    assert data.name == "mnist" and data.source == str(folder)
    assert data.y_val.tolist() == [0, 1, 2] and data.y_train.tolist() == [3, 4, 5, 6, 7, 8, 9, 0, 1]
    np.testing.assert_allclose(data.x_val, expected(arrays["x_train"][:3], arrays["x_train"]), atol=1e-5)
    np.testing.assert_allclose(data.x_train, expected(arrays["x_train"][3:], arrays["x_train"]), atol=1e-5)
    if test_normalization == "test":
        np.testing.assert_array_equal(data.x_test[0], -1.0)
        np.testing.assert_array_equal(data.x_test[1], 1.0)
    else:
        np.testing.assert_allclose(data.x_test, expected(arrays["x_test"], arrays["x_train"]), atol=1e-5)
        assert not np.allclose(data.x_test[0], -1.0)


def test_uncompressed_idx_files_and_keras_npz_are_accepted(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "VALIDATION_SIZE", 5)
    arrays = tiny_mnist()
    raw_folder = write_idx_folder(tmp_path / "raw", arrays, compressed=False)
    npz_folder = tmp_path / "npz"
    npz_folder.mkdir()
    np.savez(npz_folder / "mnist.npz", **{key: np.asarray(value, np.uint8) for key, value in arrays.items()})
    from_raw = load_dataset("mnist", "mnist", data_dir=str(raw_folder))
    from_npz = load_dataset("auto", "mnist", data_dir=str(npz_folder))
    assert from_npz.name == "mnist" and from_npz.source == str(npz_folder / "mnist.npz")
    for key in ("x_train", "y_train", "x_val", "y_val", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(from_raw, key), getattr(from_npz, key))


@needs_shared_mnist
def test_official_mnist_gives_55000_5000_10000():
    data = load_dataset("mnist", "mnist", data_dir=str(SHARED_MNIST))
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (55000, 5000, 10000)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (55000, 5000, 10000)
    assert data.y_val[:5].tolist() == [5, 0, 4, 1, 9]  # the official file's first labels
    assert data.x_train.dtype == np.float32 and data.x_train.shape[1:] == (28, 28, 1)
    assert np.abs(np.concatenate([data.x_val, data.x_train]).mean(axis=0)).max() < 1e-4
    assert np.abs(data.x_test.mean(axis=0)).max() < 1e-4 and abs(float(data.x_test.std()) - 1) < 1e-4


# Broken files


def write_broken(tmp_path, key, data):
    folder = write_idx_folder(tmp_path / "mnist", tiny_mnist())
    path = folder / (NAMES[key] + ".gz")
    path.write_bytes(data(path.read_bytes()))
    return folder, path


@pytest.mark.parametrize(
    "key, damage, fragment",
    [
        ("x_train", lambda data: data[: len(data) // 2], "gzip"),
        ("x_test", lambda data: b"not gzip at all", "gzip"),
        ("x_train", lambda data: gzip.compress(b"\x00\x00\x08\x01" + gzip.decompress(data)[4:]), "magic number"),
        ("x_train", lambda data: gzip.compress(gzip.decompress(data)[:-100]),
         "expected 9408 bytes of image data, found 9308"),
        ("y_test", lambda data: gzip.compress(idx_bytes(np.arange(3))), "3 labels"),
        ("y_train", lambda data: gzip.compress(idx_bytes(np.full(12, 11))), "0 to 9"),
    ],
)
def test_corrupt_files_name_the_file(tmp_path, key, damage, fragment):
    folder, path = write_broken(tmp_path, key, damage)
    with pytest.raises(DatasetError) as error:
        load_dataset("mnist", "mnist", data_dir=str(folder))
    assert_one_sentence(error, str(path), fragment, "--data-dir")


def test_missing_file_is_named(tmp_path):
    folder = write_idx_folder(tmp_path / "mnist", tiny_mnist())
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetError) as error:
        load_dataset("auto", "mnist", data_dir=str(folder))
    assert_one_sentence(error, str(folder / "t10k-labels-idx1-ubyte.gz"), "missing")


def test_bad_npz_is_named(tmp_path):
    (tmp_path / "mnist.npz").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DatasetError) as error:
        load_dataset("mnist", "mnist", data_dir=str(tmp_path))
    assert_one_sentence(error, str(tmp_path / "mnist.npz"), "corrupt")


def test_too_few_training_images_for_the_validation_split(tmp_path):
    folder = write_idx_folder(tmp_path / "mnist", tiny_mnist())
    with pytest.raises(DatasetError) as error:
        load_dataset("mnist", "mnist", data_dir=str(folder))
    assert_one_sentence(error, "12 images", "5000")


# Sources and fallback


def test_auto_falls_back_to_the_subset_with_a_warning(monkeypatch):
    monkeypatch.setattr(sources, "download_with_keras", lambda name: pytest.fail("download attempted"))
    data = load_dataset("auto", "mnist")
    assert data.name == "mnist-subset" and len(data.x_train) == 5000
    assert data.warning and "\n" not in data.warning
    assert re.search(r"MNIST could not be found .*6,000-image MNIST subset.*--data-dir", data.warning)


def test_download_is_disabled_by_argument_too(monkeypatch):
    monkeypatch.delenv("MASKTRAINER_NO_DOWNLOAD")
    monkeypatch.setattr(sources, "download_with_keras", lambda name: pytest.fail("download attempted"))
    assert load_dataset("auto", "mnist", allow_download=False).name == "mnist-subset"


def test_failed_download_falls_back(monkeypatch):
    monkeypatch.delenv("MASKTRAINER_NO_DOWNLOAD")
    monkeypatch.setattr(sources, "download_with_keras", lambda name: (None, "the Keras download failed: offline"))
    assert "offline" in load_dataset("auto", "mnist").warning


def test_download_through_keras_uses_a_timeout(monkeypatch):
    arrays = tiny_mnist(train=8, test=3)
    seen = {}

    def load_data():
        seen["timeout"] = socket.getdefaulttimeout()
        return ((arrays["x_train"], arrays["y_train"].astype(np.uint8)),
                (arrays["x_test"], arrays["y_test"].astype(np.uint8)))

    fake_keras = types.SimpleNamespace(datasets=types.SimpleNamespace(mnist=types.SimpleNamespace(load_data=load_data)))
    monkeypatch.setitem(sys.modules, "keras", fake_keras)
    monkeypatch.delenv("MASKTRAINER_NO_DOWNLOAD")
    monkeypatch.setattr(registry, "VALIDATION_SIZE", 2)
    before = socket.getdefaulttimeout()
    data = load_dataset("mnist", "mnist")
    assert seen["timeout"] == sources.DOWNLOAD_TIMEOUT_SECONDS and socket.getdefaulttimeout() == before
    assert data.name == "mnist" and data.x_train.shape == (6, 28, 28, 1) and data.y_val.tolist() == [0, 1]


def test_keras_cache_is_searched(isolated_sources, monkeypatch):
    monkeypatch.setattr(registry, "VALIDATION_SIZE", 4)
    (isolated_sources / "datasets").mkdir()
    np.savez(isolated_sources / "datasets" / "mnist.npz",
             **{key: np.asarray(value, np.uint8) for key, value in tiny_mnist().items()})
    data = load_dataset("auto", "mnist")
    assert data.name == "mnist" and data.warning is None and data.source.endswith("mnist.npz")


def test_explicit_mnist_never_falls_back():
    with pytest.raises(DatasetError) as error:
        load_dataset("mnist", "mnist")
    assert_one_sentence(error, "MNIST could not be found", "--data-dir")


def test_auto_cifar10_without_data_is_an_error():
    with pytest.raises(DatasetError) as error:
        load_dataset("auto", "cifar10")
    assert_one_sentence(error, "CIFAR-10", "cifar-10-python.tar.gz", "--data-dir")


@pytest.mark.parametrize("name", ["mnist", "cifar10", "auto"])
def test_data_dir_without_the_files_is_an_error(tmp_path, name):
    with pytest.raises(DatasetError) as error:
        load_dataset(name, "mnist", data_dir=str(tmp_path))
    assert_one_sentence(error, str(tmp_path), "holds no")
    with pytest.raises(DatasetError) as error:
        load_dataset(name, "mnist", data_dir=str(tmp_path / "absent"))
    assert_one_sentence(error, "does not exist")
    (tmp_path / "a-file").write_text("")
    with pytest.raises(DatasetError) as error:
        load_dataset(name, "mnist", data_dir=str(tmp_path / "a-file"))
    assert_one_sentence(error, "is a file, not a folder")


@pytest.mark.parametrize("arguments", [("imagenet", "mnist"), ("auto", "lenet"), ("mnist-subset", "mnist", None, 0)])
def test_bad_arguments(arguments):
    with pytest.raises(DatasetError):
        load_dataset(*arguments)
    with pytest.raises(DatasetError):
        load_dataset("mnist-subset", "mnist", test_normalization="own")


def test_limit_truncates_each_split():
    small = load_dataset("mnist-subset", "mnist", limit=7)
    full = load_dataset("mnist-subset", "mnist")
    assert (len(small.x_train), len(small.y_train), len(small.x_val), len(small.x_test),
            len(small.y_test)) == (7, 7, 7, 7, 7)
    np.testing.assert_array_equal(small.x_train, full.x_train[:7])
    np.testing.assert_array_equal(small.x_test, full.x_test[:7])  # statistics still from the full files
    medium = load_dataset("mnist-subset", "mnist", limit=2000)
    assert (len(medium.x_train), len(medium.x_val), len(medium.x_test)) == (2000, 1000, 1000)
