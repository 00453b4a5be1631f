"""Atomic file writes: a reader sees the old file or the complete new one, never half of one."""

import contextlib
import csv
import io
import json
import os
import tempfile

import numpy as np


def _default_file_mode():
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


# mkstemp creates files readable by their owner only; results are meant to be shared like any file.
FILE_MODE = _default_file_mode()


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path beside `path`; on success it replaces `path` in one step."""
    folder = os.path.dirname(os.path.abspath(path))
    # Hidden, and not ending like the real file, so no reader's glob (e.g. *_logs.json) picks it up.
    handle, temporary = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    os.close(handle)
    try:
        yield temporary
        with open(temporary, "rb") as written:
            os.fsync(written.fileno())
        os.chmod(temporary, FILE_MODE)
        os.replace(temporary, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.remove(temporary)
        if isinstance(error, OSError) and not error.filename:
            # write() and fsync() name no file (a full disk: "No space left on device: None"); the reader needs it.
            raise type(error)(error.errno, error.strerror or str(error), path) from error
        raise


def write_bytes(path, data):
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as handle:
            handle.write(data)


def write_text(path, text):
    write_bytes(path, text.encode("utf-8"))


def write_json(path, obj):
    write_text(path, json.dumps(obj, indent=1, allow_nan=True) + "\n")


def write_csv(path, header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    write_text(path, buffer.getvalue())


def write_npz(path, arrays, compressed=True):
    """Writes an .npz of plain numeric arrays (loadable with allow_pickle=False)."""
    for key, value in arrays.items():
        if np.asarray(value).dtype == object:
            raise ValueError(f"Array '{key}' has dtype object, which .npz can only store as a pickle.")
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as handle:
            (np.savez_compressed if compressed else np.savez)(handle, **arrays)
