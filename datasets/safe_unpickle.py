"""A pickle reader that admits numpy arrays and nothing else, since a pickle can run arbitrary code."""

import pickle

import numpy as np

from datasets.errors import DatasetError

try:
    from numpy._core import multiarray as _multiarray
except ImportError:  # numpy 1.x
    from numpy.core import multiarray as _multiarray

# (module, name) as written in a pickle -> the object it may stand for.
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _multiarray._reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays, dicts, lists, numbers and strings; raises DatasetError for any other class."""

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
