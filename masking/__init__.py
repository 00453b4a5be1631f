"""Mask functions with straight-through gradients, and the masked Keras layers built on them.

The declarations and options import no Keras; the functions, layers and statistics do, and are imported when one of
their names is first asked for, so that the configuration reads the mask functions before a backend is chosen.
"""

from masking.declarations import MASK_FUNCTION_NAMES, MASK_FUNCTIONS, flips, get_mask_function, mask_function
from masking.options import MaskingOptions

_LAZY = {"flip": "functions", "mask": "functions", "mask_rs": "functions", "MaskedConv2D": "layers",
         "MaskedDense": "layers", "MaskedLayer": "layers", "mask_counts": "statistics",
         "masked_layers": "statistics", "unmasked_variables": "statistics"}

__all__ = ["MASK_FUNCTIONS", "MASK_FUNCTION_NAMES", "MaskingOptions", "flips", "get_mask_function", "mask_function",
           *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        import importlib
        return getattr(importlib.import_module(f"masking.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'masking' has no attribute '{name}'")
