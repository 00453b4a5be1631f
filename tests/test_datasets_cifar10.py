"""Tests of CIFAR-10 loading from tiny batches in the official format, and of the restricted unpickler."""

import collections
import io
import os
import pickle
import struct
import tarfile

import numpy as np
import pytest

from datasets import DatasetError, load_dataset, registry
from datasets.cifar10 import read_cifar10_folder
from datasets.safe_unpickle import RestrictedUnpickler

PER_BATCH = 20
BATCH_NAMES = [f"data_batch_{number}" for number in range(1, 6)] + ["test_batch"]


@pytest.fixture(autouse=True)
def isolated_sources(tmp_path, monkeypatch):
    keras_home = tmp_path / "keras_home"
    keras_home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setenv("MASKTRAINER_NO_DOWNLOAD", "1")
    monkeypatch.setattr(registry, "VALIDATION_SIZE", 30)  # crosses from data_batch_1 into data_batch_2


class Python2StylePickler(pickle._Pickler):
    """Writes str and bytes as Python 2 byte strings, as in the official batches (cPickle, protocol 2)."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_byte_string(self, obj):
        data = obj.encode("latin-1") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch[bytes] = save_byte_string
    dispatch[str] = save_byte_string


def official_style_pickle(batch):
    buffer = io.BytesIO()
    Python2StylePickler(buffer, protocol=2).dump(batch)
    return buffer.getvalue().replace(b"numpy._core.multiarray", b"numpy.core.multiarray")


def tiny_batches():
    """name -> (images NHWC uint8, labels); image k of batch b has pixel (1, 2) = (R, G, B) = (b, 100 + k, 200)."""
    generator = np.random.default_rng(1)
    batches = {}
    for number, name in enumerate(BATCH_NAMES):
        images = generator.integers(0, 256, (PER_BATCH, 32, 32, 3), dtype=np.uint8)
        images[:, 1, 2] = np.stack([np.full(PER_BATCH, number), 100 + np.arange(PER_BATCH), np.full(PER_BATCH, 200)],
                                   axis=1)
        batches[name] = (images, (np.arange(PER_BATCH) + number) % 10)
    return batches


def batch_bytes(name, images, labels, writer=official_style_pickle):
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), 3072)  # channel-first rows, as in the official files
    return writer({"batch_label": name, "labels": [int(label) for label in labels], "data": rows,
                   "filenames": [f"image_{index}.png" for index in range(len(images))]})


def write_folder(folder, batches, skip=(), writer=official_style_pickle):
    folder.mkdir(parents=True)
    for name, (images, labels) in batches.items():
        if name not in skip:
            (folder / name).write_bytes(batch_bytes(name, images, labels, writer))
    return folder


def write_archive(path, batches, skip=()):
    with tarfile.open(path, "w:gz") as archive:
        for name, (images, labels) in batches.items():
            if name not in skip:
                data = batch_bytes(name, images, labels)
                member = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
                member.size = len(data)
                archive.addfile(member, io.BytesIO(data))
    return path


def check(data, batches, source):
    x_train = np.concatenate([batches[name][0] for name in BATCH_NAMES[:5]])
    y_train = np.concatenate([batches[name][1] for name in BATCH_NAMES[:5]])
    assert data.name == "cifar10" and data.source == str(source)
    assert (data.x_train.shape, data.x_val.shape, data.x_test.shape) == ((70, 32, 32, 3), (30, 32, 32, 3),
                                                                         (20, 32, 32, 3))
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int32
    np.testing.assert_array_equal(data.y_val, y_train[:30])
    np.testing.assert_array_equal(data.y_train, y_train[30:])
    np.testing.assert_array_equal(data.y_test, batches["test_batch"][1])
    scaled = x_train.astype(np.float64) / 255
    mean = scaled.mean(axis=0)
    std = np.sqrt(np.mean((scaled - mean) ** 2))
    np.testing.assert_allclose(data.x_val, (scaled[:30] - mean) / std, atol=1e-5)
    np.testing.assert_allclose(data.x_train, (scaled[30:] - mean) / std, atol=1e-5)
    assert abs(float(data.x_test.std()) - 1) < 1e-5  # test set normalised with its own statistics


def test_archive(tmp_path):
    batches = tiny_batches()
    archive = write_archive(tmp_path / "cifar-10-python.tar.gz", batches)
    check(load_dataset("auto", "cifar10", data_dir=str(tmp_path)), batches, archive)


def test_extracted_folder_and_folder_itself(tmp_path):
    batches = tiny_batches()
    folder = write_folder(tmp_path / "cifar-10-batches-py", batches)
    check(load_dataset("cifar10", "mnist", data_dir=str(tmp_path)), batches, folder)
    check(load_dataset("cifar10", "mnist", data_dir=str(folder)), batches, folder)


def test_keras_cache_folder(tmp_path):
    batches = tiny_batches()
    folder = write_folder(tmp_path / "keras_home" / "datasets" / "cifar-10-batches-py", batches)
    check(load_dataset("auto", "cifar10"), batches, folder)


def test_channels_end_up_last(tmp_path):
    raw = read_cifar10_folder(str(write_folder(tmp_path / "batches", tiny_batches())))
    assert raw.x_train.shape == (100, 32, 32, 3) and raw.x_train.dtype == np.uint8
    assert raw.x_train[0, 1, 2].tolist() == [0, 100, 200]
    assert raw.x_train[27, 1, 2].tolist() == [1, 107, 200]
    assert raw.x_test[5, 1, 2].tolist() == [5, 105, 200]


def test_pickles_written_by_python3_are_accepted(tmp_path):
    batches = tiny_batches()
    folder = write_folder(tmp_path / "batches", batches, writer=lambda batch: pickle.dumps(
        {key.encode(): value for key, value in batch.items()}, protocol=4))
    check(load_dataset("cifar10", "cifar10", data_dir=str(folder)), batches, folder)


def test_missing_member_and_missing_file(tmp_path):
    archive = write_archive(tmp_path / "cifar-10-python.tar.gz", tiny_batches(), skip=("data_batch_4",))
    with pytest.raises(DatasetError) as error:
        load_dataset("cifar10", "cifar10", data_dir=str(tmp_path))
    assert str(archive) in str(error.value) and "data_batch_4" in str(error.value)
    folder = write_folder(tmp_path / "other" / "cifar-10-batches-py", tiny_batches(), skip=("test_batch",))
    with pytest.raises(DatasetError) as error:
        load_dataset("cifar10", "cifar10", data_dir=str(folder.parent))
    assert str(folder / "test_batch") in str(error.value) and "\n" not in str(error.value)


def test_truncated_archive(tmp_path):
    archive = write_archive(tmp_path / "cifar-10-python.tar.gz", tiny_batches())
    archive.write_bytes(archive.read_bytes()[:5000])
    with pytest.raises(DatasetError) as error:
        load_dataset("cifar10", "cifar10", data_dir=str(tmp_path))
    assert str(archive) in str(error.value) and "corrupt" in str(error.value)


@pytest.mark.parametrize(
    "batch, fragment",
    [
        ({"labels": [1, 2]}, "b'data'"),
        ({"data": np.zeros((2, 1024), np.uint8), "labels": [1, 2]}, "(N, 3072)"),
        ({"data": np.zeros((2, 3072), np.uint8), "labels": [1]}, "1 labels for 2 images"),
        ({"data": np.zeros((2, 3072), np.uint8), "labels": [1, 10]}, "0 to 9"),
    ],
)
def test_malformed_batch(tmp_path, batch, fragment):
    folder = write_folder(tmp_path / "batches", tiny_batches())
    (folder / "data_batch_3").write_bytes(official_style_pickle(batch))
    with pytest.raises(DatasetError) as error:
        load_dataset("cifar10", "cifar10", data_dir=str(folder))
    assert str(folder / "data_batch_3") in str(error.value) and fragment in str(error.value)


class RunsACommand:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


def test_malicious_pickle_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "the_pickle_ran"
    folder = write_folder(tmp_path / "batches", tiny_batches())
    payload = official_style_pickle({"data": RunsACommand(f"touch {marker}"), "labels": []})
    pickle.loads(payload.replace(b"the_pickle_ran", b"plain_load_ran"))  # the payload is live under a plain load
    assert (tmp_path / "plain_load_ran").exists()
    (folder / "data_batch_2").write_bytes(payload)
    with pytest.raises(DatasetError) as error:
        load_dataset("cifar10", "cifar10", data_dir=str(folder))
    message = str(error.value)
    assert "refusing" in message and str(folder / "data_batch_2") in message and "system" in message
    assert not marker.exists()


# os.system rather than print: libraries loaded by other tests in the same process (Ray's) replace builtins.print,
# and pickle refuses a function that is no longer the one its name finds.
@pytest.mark.parametrize("payload", [eval, os.system, np.load, collections.OrderedDict(a=1)],
                         ids=["eval", "os.system", "np.load", "object"])
def test_unpickler_admits_only_numpy_arrays(payload):
    for protocol in (2, 4, 5):
        with pytest.raises(DatasetError, match="other than numpy arrays"):
            RestrictedUnpickler(io.BytesIO(pickle.dumps({b"x": payload}, protocol=protocol)), encoding="bytes").load()
    array = np.arange(6, dtype=np.uint8).reshape(2, 3)
    loaded = RestrictedUnpickler(io.BytesIO(official_style_pickle({"data": array, "labels": [1, 2]})),
                                 encoding="bytes").load()
    np.testing.assert_array_equal(loaded[b"data"], array)
    assert loaded[b"labels"] == [1, 2]


def test_arrays_are_built_from_their_bytes_and_an_array_state_numpy_would_crash_on_is_refused():
    """numpy applies a pickle's dtype and array state in C: one byte changed in a batch's dtype state crashed the
    process (a segmentation fault, 2026-12-07). The reader builds arrays itself, of plain numbers only."""
    arrays = {b"big-endian": np.arange(6, dtype=">i4").reshape(2, 3), b"fortran": np.asfortranarray(
        np.arange(6, dtype=np.float32).reshape(2, 3)), b"bools": np.array([True, False]), b"empty": np.zeros((0, 4))}
    for written in (pickle.dumps(arrays, protocol=4), official_style_pickle(arrays)):  # Python 3's, Python 2's
        loaded = RestrictedUnpickler(io.BytesIO(written), encoding="bytes").load()
        for key, array in arrays.items():
            np.testing.assert_array_equal(loaded[key], array)
            assert loaded[key].dtype == array.dtype and loaded[key].shape == array.shape
    batch = pickle.dumps({b"data": np.zeros((2, 3072), np.uint8), b"labels": [1, 2]}, protocol=4)
    dtype_state = batch.index(b"\x8c\x01|\x94NNN")  # the dtype's state: (3, "|", None, None, None, -1, -1, 0)
    crashing = batch[:dtype_state + 4] + b"q" + batch[dtype_state + 5:]  # None -> BINPUT: the state shifts
    tampered = {"crashing": crashing,
                "fields": pickle.dumps({b"data": np.zeros(2, dtype=[("a", "u1"), ("b", "<i4")])}, protocol=4),
                "objects": pickle.dumps({b"data": np.array([1, "x"], dtype=object)}, protocol=4),
                "short": pickle.dumps({b"data": np.zeros((2, 3072), np.uint8)}, protocol=4).replace(
                    b"\x8c\x01|", b"\x8c\x01<").replace(b"\x8c\x02u1", b"\x8c\x02u8")}
    for name, data in tampered.items():
        with pytest.raises((ValueError, DatasetError)) as raised:
            RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
        assert "array" in str(raised.value) or "numpy" in str(raised.value), name


def test_no_plain_unpickling_in_product_code():
    package = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "datasets")
    for name in os.listdir(package):
        if name.endswith(".py"):
            with open(os.path.join(package, name)) as handle:
                text = handle.read()
            assert "pickle.load(" not in text and "pickle.loads(" not in text, name
