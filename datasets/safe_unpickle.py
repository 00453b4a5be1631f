"""A pickle reader that admits numpy arrays of plain numbers and nothing else, since a pickle can run arbitrary code.

Not even numpy's own reconstruction runs: numpy applies whatever state a pickle gives its dtype and array (byte order,
fields, sizes, flags) in C, and a file with one byte changed there crashed the process (a segmentation fault, no
message). The names a pickled array refers to (numpy's `_reconstruct`, `ndarray`, `dtype`) stand here for
placeholders that record what the file says; once the whole file is read, each array is checked (a number type, a
byte order, a shape whose size matches its bytes) and built from its bytes with `numpy.frombuffer`."""

import math
import pickle

import numpy as np

from datasets.errors import DatasetError

# The number types an array may have: bool, (unsigned) integers and floats, as numpy names them in a pickle.
NUMBER_TYPES = {f"{kind}{size}" for kind, sizes in (("b", (1,)), ("u", (1, 2, 4, 8)), ("i", (1, 2, 4, 8)),
                                                     ("f", (2, 4, 8))) for size in sizes}
BYTE_ORDERS = ("|", "<", ">", "=")


class UnsafePickleState(ValueError):
    """A pickled array's state is not that of an array of plain numbers."""


class _PickledNdarray:
    """Stands for numpy.ndarray, the class a pickled array names."""


class _PickledDtype:
    """numpy.dtype(spec, align, copy) as a pickle calls it, then its state (byte order first)."""

    def __init__(self, spec, align=False, copy=True):
        spec = spec.decode("ascii", "replace") if isinstance(spec, bytes) else spec
        if not isinstance(spec, str) or spec not in NUMBER_TYPES:
            raise UnsafePickleState(f"an array of type {spec!r}, not a plain number type")
        self.spec, self.byte_order = spec, "|"

    def __setstate__(self, state):
        order = state[1] if isinstance(state, tuple) and len(state) >= 5 else None
        order = order.decode("ascii", "replace") if isinstance(order, bytes) else order  # Python 2's pickles
        if order not in BYTE_ORDERS:
            raise UnsafePickleState("an array type whose state is not a plain number type's")
        if any(entry is not None for entry in state[2:5]):  # a subarray, field names or fields
            raise UnsafePickleState("an array type with fields or subarrays")
        self.byte_order = order

    def dtype(self):
        order = "|" if self.spec[1:] == "1" else self.byte_order  # single bytes have no byte order
        return np.dtype(self.spec).newbyteorder(order) if order != "|" else np.dtype(self.spec)


class _PickledArray:
    """numpy's _reconstruct(ndarray, shape, typecode) as a pickle calls it, then its state: version, shape, dtype,
    Fortran order and the raw bytes."""

    def __init__(self, cls, shape, typecode):
        if cls is not _PickledNdarray:
            raise UnsafePickleState("an array of a class other than numpy.ndarray")
        self.array = None

    def __setstate__(self, state):
        if not isinstance(state, tuple) or len(state) != 5:
            raise UnsafePickleState("an array whose state is not numpy's (version, shape, type, order, bytes)")
        _, shape, dtype, fortran, raw = state
        if not (isinstance(shape, tuple) and all(isinstance(size, int) and 0 <= size < 2**40 for size in shape)):
            raise UnsafePickleState(f"an array of shape {shape!r}")
        if not isinstance(dtype, _PickledDtype) or not isinstance(fortran, bool):
            raise UnsafePickleState("an array without a plain number type")
        if isinstance(raw, str):  # Python 2's pickles, read with encoding="latin1"
            raw = raw.encode("latin1")
        if not isinstance(raw, (bytes, bytearray)):
            raise UnsafePickleState("an array whose values are not raw bytes (objects)")
        dtype = dtype.dtype()
        if len(raw) != math.prod(shape) * dtype.itemsize:
            raise UnsafePickleState(f"an array of shape {shape} whose bytes ({len(raw)}) do not match it")
        self.array = np.frombuffer(bytes(raw), dtype=dtype).reshape(shape, order="F" if fortran else "C").copy()


# (module, name) as written in a pickle -> the placeholder it stands for.
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _PickledArray,
    ("numpy._core.multiarray", "_reconstruct"): _PickledArray,
    ("numpy", "ndarray"): _PickledNdarray,
    ("numpy", "dtype"): _PickledDtype,
}


def _materialised(value):
    """value with every placeholder replaced by the array it was checked and built as."""
    if isinstance(value, _PickledArray):
        if value.array is None:
            raise UnsafePickleState("an array without its values")
        return value.array
    if isinstance(value, (_PickledDtype, type)):
        raise UnsafePickleState("a bare numpy type")
    if isinstance(value, dict):
        return {_materialised(key): _materialised(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_materialised(item) for item in value)
    return value


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays of numbers, dicts, lists, numbers and strings; raises DatasetError for any other class,
    and UnsafePickleState (a ValueError) for an array whose state is not that of numbers."""

    def __init__(self, file, *, source="the pickle", **options):
        super().__init__(file, **options)
        self.source = source

    def find_class(self, module, name):
        allowed = ALLOWED_GLOBALS.get((module, name))
        if allowed is None:
            raise DatasetError(
                f"The file {self.source} contains a Python object other than numpy arrays ({module}.{name}), "
                "refusing to load it because a pickle can run code; use the official files instead."
            )
        return allowed

    def persistent_load(self, persistent_id):
        raise DatasetError(f"The file {self.source} contains a persistent object reference, refusing to load it; "
                           "use the official files instead.")

    def load(self):
        return _materialised(super().load())
