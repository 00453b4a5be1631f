"""Fashion-MNIST from tiny files written in its official format (four gzipped IDX files), through the registry and
through a real MaskTrainer run; refused in one sentence when missing, corrupt or another data set's files."""

import gzip
import hashlib
import json
import sys
import types

import numpy as np
import pytest

import MaskTrainer
from datasets import DatasetError, load_dataset, registry
from test_datasets import SHARED_MNIST, idx_bytes, needs_shared_mnist

FILE_NAMES = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
              "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}


@pytest.fixture(autouse=True)
def isolated_sources(tmp_path, monkeypatch):
    keras_home = tmp_path / "keras_home"
    keras_home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setenv("MASKTRAINER_NO_DOWNLOAD", "1")
    return keras_home


def tiny_fashion(train=40, test=10, seed=3):
    generator = np.random.default_rng(seed)
    return {"x_train": generator.integers(0, 256, (train, 28, 28), dtype=np.uint8),
            "y_train": (np.arange(train) * 7) % 10,
            "x_test": generator.integers(0, 256, (test, 28, 28), dtype=np.uint8),
            "y_test": np.arange(test) % 10}


def write_fashion(folder, arrays):
    """The four official files, gzipped as distributed."""
    folder.mkdir(parents=True, exist_ok=True)
    for key, name in FILE_NAMES.items():
        (folder / (name + ".gz")).write_bytes(gzip.compress(idx_bytes(arrays[key])))
    return folder


def normalised(images, reference):
    reference = reference.astype(np.float64) / 255
    mean = reference.mean(axis=0)
    std = np.sqrt(np.mean((reference - mean) ** 2))
    return ((images.astype(np.float64) / 255 - mean) / std)[..., np.newaxis]


def test_loads_splits_and_normalises_like_mnist(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "VALIDATION_SIZE", 8)
    arrays = tiny_fashion()
    folder = write_fashion(tmp_path / "fashion", arrays)
    data = load_dataset("fashion-mnist", "mnist", data_dir=str(folder), test_normalization="train")
    assert data.name == "fashion-mnist" and data.source == str(folder) and data.num_classes == 10
    assert (data.x_train.shape, data.x_val.shape, data.x_test.shape) == ((32, 28, 28, 1), (8, 28, 28, 1),
                                                                         (10, 28, 28, 1))
    assert {array.dtype for array in (data.x_train, data.x_val, data.x_test)} == {np.dtype(np.float32)}
    np.testing.assert_array_equal(data.y_val, arrays["y_train"][:8])
    np.testing.assert_array_equal(data.y_train, arrays["y_train"][8:])
    assert set(data.y_train.tolist()) | set(data.y_test.tolist()) <= set(range(10))
    np.testing.assert_allclose(data.x_val, normalised(arrays["x_train"][:8], arrays["x_train"]), atol=1e-5)
    np.testing.assert_allclose(data.x_train, normalised(arrays["x_train"][8:], arrays["x_train"]), atol=1e-5)
    np.testing.assert_allclose(data.x_test, normalised(arrays["x_test"], arrays["x_train"]), atol=1e-5)
    everything = np.concatenate([data.x_val, data.x_train])
    assert np.abs(everything.mean(axis=0)).max() < 1e-5 and abs(float(everything.std()) - 1) < 1e-5


def test_the_first_5000_training_images_are_the_validation_set(tmp_path):
    arrays = tiny_fashion(train=5012, test=6)
    arrays["x_train"][:] = np.arange(28, dtype=np.uint8)  # compresses well; the pixel (0, 0) below varies
    arrays["x_train"][:, 0, 0] = np.arange(5012) % 251
    data = load_dataset("fashion-mnist", "mnist", data_dir=str(write_fashion(tmp_path / "fashion", arrays)))
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (12, 5000, 6)
    np.testing.assert_array_equal(data.y_train, arrays["y_train"][5000:])
    assert abs(float(data.x_test.std()) - 1) < 1e-5  # the test set by its own statistics, as MNIST's


def test_its_folder_inside_data_dir_and_keras_cache(tmp_path, isolated_sources, monkeypatch):
    monkeypatch.setattr(registry, "VALIDATION_SIZE", 8)
    arrays = tiny_fashion()
    folder = write_fashion(tmp_path / "data" / "fashion-mnist", arrays)
    assert load_dataset("fashion-mnist", "cifar10", data_dir=str(tmp_path / "data")).source == str(folder)
    cached = write_fashion(isolated_sources / "datasets" / "fashion-mnist", arrays)
    data = load_dataset("fashion-mnist", "mnist")
    assert data.name == "fashion-mnist" and data.source == str(cached)


def test_download_through_keras(monkeypatch):
    arrays = tiny_fashion(train=12, test=3)
    fake_keras = types.SimpleNamespace(datasets=types.SimpleNamespace(fashion_mnist=types.SimpleNamespace(
        load_data=lambda: ((arrays["x_train"], arrays["y_train"].astype(np.uint8)),
                           (arrays["x_test"], arrays["y_test"].astype(np.uint8))))))
    monkeypatch.setitem(sys.modules, "keras", fake_keras)
    monkeypatch.delenv("MASKTRAINER_NO_DOWNLOAD")
    monkeypatch.setattr(registry, "VALIDATION_SIZE", 2)
    data = load_dataset("fashion-mnist", "mnist")
    assert data.name == "fashion-mnist" and data.x_train.shape == (10, 28, 28, 1)
    assert data.source.startswith("downloaded by keras.datasets.fashion_mnist.load_data()")


def test_never_replaced_by_mnist_or_its_subset():
    with pytest.raises(DatasetError) as error:
        load_dataset("fashion-mnist", "mnist")
    message = str(error.value)
    assert message.startswith("Fashion-MNIST could not be found") and "subset" not in message and "\n" not in message


def test_files_whose_labels_are_mnists_are_refused(tmp_path, monkeypatch):
    arrays = tiny_fashion()
    folder = write_fashion(tmp_path / "fashion", arrays)
    digest = hashlib.sha256(arrays["y_train"].astype(np.uint8).tobytes()).hexdigest()
    monkeypatch.setattr(type(registry.REGISTRY["mnist"]), "training_labels_sha256", digest)
    monkeypatch.setattr(registry, "VALIDATION_SIZE", 8)
    with pytest.raises(DatasetError, match="are the official MNIST files, not Fashion-MNIST"):
        load_dataset("fashion-mnist", "mnist", data_dir=str(folder))


@needs_shared_mnist
def test_the_official_mnist_files_are_refused_as_fashion_mnist():
    with pytest.raises(DatasetError) as error:
        load_dataset("fashion-mnist", "mnist", data_dir=str(SHARED_MNIST))
    assert str(error.value) == (f"The files in {SHARED_MNIST} are the official MNIST files, not Fashion-MNIST; point "
                                "--data-dir to a folder holding the Fashion-MNIST files.")


def train(tmp_path, data_dir, *extra):
    return MaskTrainer.main(["--nettype", "LeNet", "--traintype", "FreePruning", "--dataset", "fashion-mnist",
                             "--data-dir", str(data_dir), "--maxepochs", "1", "--batchsize", "8", "--seed", "1",
                             "--outputpath", str(tmp_path / "out"), *extra])


def test_a_lenet_run_trains_on_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(registry, "VALIDATION_SIZE", 8)
    folder = write_fashion(tmp_path / "fashion", tiny_fashion())
    assert train(tmp_path, folder) == 0, capsys.readouterr().err
    (logs_path,) = (tmp_path / "out").rglob("*_logs.json")
    logs = json.loads(logs_path.read_text())
    assert logs["dataset"] == {"name": "fashion-mnist", "source": str(folder), "trainExamples": 32,
                               "valExamples": 8, "testExamples": 10}
    assert logs["config"]["dataset"] == "fashion-mnist"
    assert logs["inputShape"] == [28, 28, 1] and logs["numClasses"] == 10 and logs["layerShapes"][-1] == [100, 10]
    assert logs["status"] == "finished" and len(logs["testAccuracy"]) == 2


@pytest.mark.parametrize("damage, fragment", [
    (lambda folder: (folder / "t10k-labels-idx1-ubyte.gz").unlink(), "t10k-labels-idx1-ubyte.gz is missing"),
    (lambda folder: (folder / "train-images-idx3-ubyte.gz").write_bytes(b"\x1f\x8b not gzip"),
     "train-images-idx3-ubyte.gz is truncated or corrupt"),
    (lambda folder: (folder / "train-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.full(40, 10)))),
     "0 to 9"),
])
def test_a_missing_or_corrupt_file_ends_the_run_in_one_sentence(tmp_path, monkeypatch, capsys, damage, fragment):
    monkeypatch.setattr(registry, "VALIDATION_SIZE", 8)
    folder = write_fashion(tmp_path / "fashion", tiny_fashion())
    damage(folder)
    assert train(tmp_path, folder) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("MaskTrainer.py: error: The Fashion-MNIST file ")
    assert str(folder) in error and fragment in error and "--data-dir" in error and "Traceback" not in error
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*_logs.json"))
