"""CIFAR-100 (fine labels) from tiny files written in its official format (pickled train, test and meta, in
cifar-100-python.tar.gz or extracted), through the registry and through a real MaskTrainer run; refused in one
sentence when missing or corrupt, and never replaced by CIFAR-10."""

import io
import json
import sys
import tarfile
import types

import numpy as np
import pytest

import MaskTrainer
from datasets import DatasetError, load_dataset, registry
from test_datasets_cifar10 import RunsACommand, official_style_pickle, tiny_batches, write_archive, write_folder

TRAIN, TEST = 120, 30


@pytest.fixture(autouse=True)
def isolated_sources(tmp_path, monkeypatch):
    keras_home = tmp_path / "keras_home"
    keras_home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setenv("MASKTRAINER_NO_DOWNLOAD", "1")
    monkeypatch.setattr(registry, "VALIDATION_SIZE", 30)
    return keras_home


def tiny_cifar100(train=TRAIN, test=TEST):
    """split -> (images NHWC uint8, fine labels); image k has pixel (1, 2) = (R, G, B) = (k % 256, 7, 200)."""
    generator = np.random.default_rng(5)
    splits = {}
    for split, count in (("train", train), ("test", test)):
        images = generator.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
        images[:, 1, 2] = np.stack([np.arange(count) % 256, np.full(count, 7), np.full(count, 200)], axis=1)
        splits[split] = (images, (np.arange(count) * 37 + (split == "test")) % 100)
    return splits


def file_bytes(split, images, fine_labels):
    """The official layout: channel-first rows of 3072 bytes, fine and coarse labels, Python 2 byte strings."""
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)
    return official_style_pickle({"filenames": [f"image_{index}.png" for index in range(len(images))],
                                  "batch_label": f"{split}ing batch 1 of 1",
                                  "fine_labels": [int(label) for label in fine_labels],
                                  "coarse_labels": [int(label) // 5 for label in fine_labels], "data": rows})


def official_files(splits):
    files = {split: file_bytes(split, *splits[split]) for split in ("train", "test")}
    files["meta"] = official_style_pickle({"fine_label_names": [f"class{index}" for index in range(100)],
                                           "coarse_label_names": [f"super{index}" for index in range(20)]})
    return files


def write_extracted(folder, splits, skip=()):
    folder.mkdir(parents=True)
    for name, data in official_files(splits).items():
        if name not in skip:
            (folder / name).write_bytes(data)
    return folder


def write_tar(path, splits, skip=()):
    with tarfile.open(path, "w:gz") as archive:
        for name, data in official_files(splits).items():
            if name not in skip:
                member = tarfile.TarInfo(f"cifar-100-python/{name}")
                member.size = len(data)
                archive.addfile(member, io.BytesIO(data))
    return path


def check(data, splits, source):
    images, labels = splits["train"]
    assert data.name == "cifar100" and data.source == str(source) and data.num_classes == 100
    assert (data.x_train.shape, data.x_val.shape, data.x_test.shape) == ((90, 32, 32, 3), (30, 32, 32, 3),
                                                                         (30, 32, 32, 3))
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int32
    np.testing.assert_array_equal(data.y_val, labels[:30])
    np.testing.assert_array_equal(data.y_train, labels[30:])
    np.testing.assert_array_equal(data.y_test, splits["test"][1])
    every_label = np.concatenate([data.y_val, data.y_train])
    assert every_label.min() == 0 and every_label.max() == 99 and len(set(every_label.tolist())) == 100
    scaled = images.astype(np.float64) / 255
    mean = scaled.mean(axis=0)
    std = np.sqrt(np.mean((scaled - mean) ** 2))
    np.testing.assert_allclose(data.x_val, (scaled[:30] - mean) / std, atol=1e-5)
    np.testing.assert_allclose(data.x_train, (scaled[30:] - mean) / std, atol=1e-5)
    assert abs(float(data.x_test.std()) - 1) < 1e-5  # the test set by its own statistics, as CIFAR-10's


def test_archive(tmp_path):
    splits = tiny_cifar100()
    archive = write_tar(tmp_path / "cifar-100-python.tar.gz", splits)
    check(load_dataset("cifar100", "cifar10", data_dir=str(tmp_path)), splits, archive)


def test_extracted_folder_the_folder_itself_and_keras_cache(tmp_path, isolated_sources):
    splits = tiny_cifar100()
    folder = write_extracted(tmp_path / "data" / "cifar-100-python", splits)
    check(load_dataset("cifar100", "mnist", data_dir=str(tmp_path / "data")), splits, folder)
    check(load_dataset("cifar100", "mnist", data_dir=str(folder)), splits, folder)
    cached = write_extracted(isolated_sources / "datasets" / "cifar-100-python-target" / "cifar-100-python", splits)
    check(load_dataset("cifar100", "cifar10"), splits, cached)


def test_channels_end_up_last_and_the_labels_are_the_fine_ones(tmp_path):
    folder = write_extracted(tmp_path / "cifar-100-python", tiny_cifar100())
    raw = registry.REGISTRY["cifar100"].read_folder(str(folder))
    assert raw.x_train.shape == (TRAIN, 32, 32, 3) and raw.x_test.shape == (TEST, 32, 32, 3)
    assert raw.x_train[17, 1, 2].tolist() == [17, 7, 200] and raw.x_test[3, 1, 2].tolist() == [3, 7, 200]
    assert raw.y_train[:4].tolist() == [0, 37, 74, 11]  # fine labels; the coarse ones would be [0, 7, 14, 2]


def test_the_first_5000_training_images_are_the_validation_set(tmp_path, monkeypatch):
    monkeypatch.setattr(registry, "VALIDATION_SIZE", 5000)
    data = load_dataset("cifar100", "cifar10",
                        data_dir=str(write_extracted(tmp_path / "c", tiny_cifar100(train=5010, test=4))))
    assert (len(data.x_train), len(data.x_val), len(data.x_test)) == (10, 5000, 4)


def test_download_through_keras_asks_for_the_fine_labels(monkeypatch):
    splits = tiny_cifar100()
    seen = {}

    def load_data(label_mode):
        seen["label_mode"] = label_mode
        return ((splits["train"][0], splits["train"][1].reshape(-1, 1).astype(np.uint8)),
                (splits["test"][0], splits["test"][1].reshape(-1, 1).astype(np.uint8)))

    monkeypatch.setitem(sys.modules, "keras", types.SimpleNamespace(datasets=types.SimpleNamespace(
        cifar100=types.SimpleNamespace(load_data=load_data))))
    monkeypatch.delenv("MASKTRAINER_NO_DOWNLOAD")
    data = load_dataset("cifar100", "cifar10")
    assert seen == {"label_mode": "fine"} and data.source.startswith("downloaded by keras.datasets.cifar100")
    check(data, splits, data.source)


def test_never_replaced_by_cifar10(tmp_path):
    write_archive(tmp_path / "cifar-10-python.tar.gz", tiny_batches())
    write_folder(tmp_path / "cifar-10-batches-py", tiny_batches())
    assert load_dataset("cifar10", "cifar10", data_dir=str(tmp_path)).name == "cifar10"
    with pytest.raises(DatasetError) as error:
        load_dataset("cifar100", "cifar10", data_dir=str(tmp_path))
    assert str(error.value) == (f"The data folder {tmp_path} given by --data-dir holds no CIFAR-100 files; it should "
                                "hold cifar-100-python.tar.gz or its extracted cifar-100-python/ folder.")
    with pytest.raises(DatasetError, match=r"^CIFAR-100 could not be found \(.*cifar-100-python.tar.gz"):
        load_dataset("cifar100", "cifar10")


@pytest.mark.parametrize("replacement, fragment", [
    (lambda images, labels: file_bytes("train", images, labels)[:-500], "UnpicklingError"),
    (lambda images, labels: file_bytes("train", images, np.r_[labels[:-1], 100]),
     "labels are not all class indices 0 to 99"),
    (lambda images, labels: official_style_pickle({"data": images.reshape(len(images), -1),
                                                   "labels": [int(label) for label in labels]}),
     "no b'data' and b'fine_labels' entries"),  # a CIFAR-10 batch under CIFAR-100's name
    (lambda images, labels: official_style_pickle({"data": RunsACommand("touch ran"), "fine_labels": []}), "refusing"),
])
def test_a_corrupt_train_file_is_named(tmp_path, replacement, fragment):
    splits = tiny_cifar100()
    folder = write_extracted(tmp_path / "cifar-100-python", splits)
    (folder / "train").write_bytes(replacement(*splits["train"]))
    with pytest.raises(DatasetError) as error:
        load_dataset("cifar100", "cifar10", data_dir=str(folder))
    message = str(error.value)
    assert str(folder / "train") in message and fragment in message and "\n" not in message


def test_a_missing_member_or_file_is_named(tmp_path):
    archive = write_tar(tmp_path / "cifar-100-python.tar.gz", tiny_cifar100(), skip=("test",))
    with pytest.raises(DatasetError) as error:
        load_dataset("cifar100", "cifar100", data_dir=str(tmp_path))
    assert str(error.value).startswith(f"The CIFAR-100 file {archive} is truncated or corrupt "
                                       "(no member cifar-100-python/test)")
    folder = write_extracted(tmp_path / "other" / "cifar-100-python", tiny_cifar100(), skip=("test", "meta"))
    with pytest.raises(DatasetError) as error:
        load_dataset("cifar100", "cifar100", data_dir=str(folder.parent))
    assert str(error.value) == (f"The CIFAR-100 file {folder / 'test'} is missing; download "
                                "cifar-100-python.tar.gz again from https://www.cs.toronto.edu/~kriz/cifar.html and "
                                "point --data-dir to the folder holding it.")


def train(tmp_path, data_dir):
    return MaskTrainer.main(["--nettype", "Conv2", "--traintype", "FreePruning", "--dataset", "cifar100",
                             "--data-dir", str(data_dir), "--maxepochs", "1", "--batchsize", "30", "--seed", "1",
                             "--outputpath", str(tmp_path / "out")])


def test_a_conv2_run_trains_on_its_100_classes(tmp_path, capsys):
    archive = write_tar(tmp_path / "cifar-100-python.tar.gz", tiny_cifar100())
    assert train(tmp_path, tmp_path) == 0, capsys.readouterr().err
    (logs_path,) = (tmp_path / "out").rglob("*_logs.json")
    logs = json.loads(logs_path.read_text())
    assert logs["dataset"] == {"name": "cifar100", "source": str(archive), "trainExamples": 90, "valExamples": 30,
                               "testExamples": 30}
    assert logs["inputShape"] == [32, 32, 3] and logs["numClasses"] == 100 and logs["layerShapes"][-1] == [256, 100]
    assert logs["status"] == "finished" and len(logs["testAccuracy"]) == 2


def test_a_truncated_archive_ends_the_run_in_one_sentence(tmp_path, capsys):
    archive = write_tar(tmp_path / "cifar-100-python.tar.gz", tiny_cifar100())
    archive.write_bytes(archive.read_bytes()[:5000])
    assert train(tmp_path, tmp_path) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith(f"MaskTrainer.py: error: The CIFAR-100 file {archive} ")
    assert "is truncated or corrupt" in error and "--data-dir" in error and "Traceback" not in error
