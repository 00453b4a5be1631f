"""Mask functions with straight-through gradients, and the masked Keras layers built on them.

The declarations and options import no Keras; the functions, layers and statistics do, and are imported when one of
their names is first asked for, so that the configuration reads the mask functions before a backend is chosen.
"""

from masking.declarations import MASK_FUNCTION_NAMES, MASK_FUNCTIONS, flips, get_mask_function, mask_function
from masking.options import MaskingOptions

_FUNCTIONS = ("flip", "mask", "mask_rs")
_LAYERS = ("MaskedConv2D", "MaskedDense", "MaskedLayer")
_STATISTICS = ("mask_counts", "masked_layers", "unmasked_variables")

__all__ = ["MASK_FUNCTIONS", "MASK_FUNCTION_NAMES", "MaskingOptions", "flips", "get_mask_function", "mask_function",
           *_FUNCTIONS, *_LAYERS, *_STATISTICS]


def __getattr__(name):
    if name in _FUNCTIONS:
        from masking import functions as module
    elif name in _LAYERS:
        from masking import layers as module
    elif name in _STATISTICS:
        from masking import statistics as module
    else:
        raise AttributeError(f"module 'masking' has no attribute '{name}'")
    return getattr(module, name)
