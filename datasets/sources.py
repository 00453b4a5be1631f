"""Where a full data set is looked for: --data-dir, then Keras' cache, then a Keras download."""

import os
import socket

from datasets.errors import DatasetError

DOWNLOAD_TIMEOUT_SECONDS = 10
NO_DOWNLOAD_VARIABLE = "MASKTRAINER_NO_DOWNLOAD"


def keras_cache_folder():
    """Keras' download cache: $KERAS_HOME/datasets, or ~/.keras/datasets."""
    home = os.environ.get("KERAS_HOME") or os.path.join("~", ".keras")
    return os.path.join(os.path.expanduser(home), "datasets")


def downloads_disabled(allow_download):
    return not allow_download or os.environ.get(NO_DOWNLOAD_VARIABLE, "").strip() not in ("", "0")


def read_data_dir(data_set, data_dir):
    """The data set from --data-dir; DatasetError when the folder does not hold it."""
    folder = os.path.expanduser(data_dir)
    if not os.path.isdir(folder):
        what = "is a file, not a folder" if os.path.exists(folder) else "does not exist"
        raise DatasetError(f"The data folder {folder} given by --data-dir {what}; pass --data-dir PATH to a "
                           f"folder holding {data_set.expected_in_data_dir}.")
    raw = data_set.read_folder(folder)
    if raw is None:
        raise DatasetError(f"The data folder {folder} given by --data-dir holds no {data_set.display_name} files; "
                           f"it should hold {data_set.expected_in_data_dir}.")
    return raw


def shorten(text, length=160):
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 3] + "..."


def download_with_keras(data_set):
    """Downloads through keras.datasets with a short socket timeout; returns (RawData or None, reason it failed)."""
    if data_set.keras_loader is None:
        return None, f"Keras has no download for {data_set.display_name}"
    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_SECONDS)
    try:
        import keras

        loader = getattr(keras.datasets, data_set.keras_loader)
        (x_train, y_train), (x_test, y_test) = loader.load_data(**data_set.keras_loader_arguments)
    except Exception as error:  # any failure means only that the data could not be had this way
        return None, f"the Keras download failed: {type(error).__name__}: {shorten(str(error))}"
    finally:
        socket.setdefaulttimeout(previous_timeout)
    source = f"downloaded by keras.datasets.{data_set.keras_loader}.load_data() into {keras_cache_folder()}"
    return data_set.from_keras_arrays(x_train, y_train, x_test, y_test, source), None


def find_raw_data(data_set, data_dir, allow_download):
    """Returns (RawData or None, why it could not be had): --data-dir, then Keras' cache, then a download."""
    if data_dir is not None:
        return read_data_dir(data_set, data_dir), None
    cache = keras_cache_folder()
    raw = data_set.read_keras_cache(cache)
    if raw is not None:
        return raw, None
    reasons = [f"no --data-dir given, nothing in the Keras cache {cache}"]
    if downloads_disabled(allow_download):
        reasons.append(f"downloads disabled{' by ' + NO_DOWNLOAD_VARIABLE if allow_download else ''}")
        return None, ", ".join(reasons)
    raw, failure = download_with_keras(data_set)
    if raw is None:
        reasons.append(failure)
    return raw, ", ".join(reasons)
