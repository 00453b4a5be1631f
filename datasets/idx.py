"""Reading IDX files (the format of the official MNIST files), gzip-compressed or not."""

import gzip
import zlib

import numpy as np

UNSIGNED_BYTE_TYPE = 0x08


def read_file_bytes(path):
    """Returns the file's bytes, decompressed when its name ends in .gz; ValueError if the gzip stream is bad."""
    with open(path, "rb") as handle:
        data = handle.read()
    if not path.endswith(".gz"):
        return data
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(f"bad gzip stream: {error}") from None


def parse_idx(data, dimensions, what):
    """Parses IDX bytes holding unsigned bytes in `dimensions` axes; ValueError describing any mismatch."""
    expected_magic = (UNSIGNED_BYTE_TYPE << 8) | dimensions
    header_size = 4 + 4 * dimensions
    if len(data) < header_size:
        raise ValueError(f"only {len(data)} bytes, too short for the {header_size}-byte IDX header")
    magic = int.from_bytes(data[0:4], "big")
    if magic != expected_magic:
        raise ValueError(f"wrong IDX magic number 0x{magic:08x}, expected 0x{expected_magic:08x}")
    shape = tuple(int.from_bytes(data[4 + 4 * axis : 8 + 4 * axis], "big") for axis in range(dimensions))
    expected_bytes = int(np.prod(shape, dtype=np.int64))
    found_bytes = len(data) - header_size
    if found_bytes != expected_bytes:
        raise ValueError(f"expected {expected_bytes} bytes of {what}, found {found_bytes}")
    return np.frombuffer(data, dtype=np.uint8, offset=header_size).reshape(shape)


def read_idx(path, dimensions, what):
    """Reads an IDX file of unsigned bytes with `dimensions` axes; ValueError if it is truncated or corrupt."""
    return parse_idx(read_file_bytes(path), dimensions, what)
