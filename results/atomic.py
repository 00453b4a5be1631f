"""Atomic file writes: a reader sees the old file or the complete new one, never half of one."""

import contextlib
import csv
import io
import json
import os
import tempfile
import zipfile
import zlib

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


def json_text(obj):
    return json.dumps(obj, indent=1, allow_nan=True) + "\n"


def write_json(path, obj):
    write_text(path, json_text(obj))


def csv_text(header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_csv(path, header, rows):
    write_text(path, csv_text(header, rows))


def compresses(array, sample_bytes=65536, ratio=0.8):
    """Whether deflating the array pays: its first bytes shrink below `ratio` of their size. Masks and counts do
    (16x at deflate's fastest level); trained float weights barely do (7% at its default level, for 25 times the
    time), so they are stored as they are."""
    sample = np.ascontiguousarray(array).reshape(-1).view(np.uint8)[:sample_bytes].tobytes()
    return len(zlib.compress(sample, 1)) < ratio * max(len(sample), 1)


# What reading an .npz written by write_npz raises when the file is truncated, overwritten or not an .npz at all (a
# zip's central directory missing, a member cut short, deflated bytes garbled, an array's header wrong).
NPZ_READ_ERRORS = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile, zlib.error)


def write_npz(path, arrays, compressed=True):
    """Writes an .npz of plain numeric arrays (loadable with allow_pickle=False). compressed: each array that
    compresses (see `compresses`) is deflated at the fastest level; np.load reads either."""
    arrays = {key: np.asanyarray(value) for key, value in arrays.items()}
    for key, value in arrays.items():
        if value.dtype == object:
            raise ValueError(f"Array '{key}' has dtype object, which .npz can only store as a pickle.")
    with atomic_path(path) as temporary:
        with open(temporary, "wb") as handle, zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_DEFLATED,
                                                              compresslevel=1, allowZip64=True) as archive:
            for key, value in arrays.items():
                # A name takes the archive's deflate; a ZipInfo of its own stores the array as it is.
                name = f"{key}.npy"
                if not (compressed and value.size > 0 and compresses(value)):
                    name = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                with archive.open(name, "w", force_zip64=True) as member:
                    np.lib.format.write_array(member, value, allow_pickle=False)
