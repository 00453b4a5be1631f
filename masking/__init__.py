"""Mask functions with straight-through gradients, and the masked Keras layers built on them."""

from masking.functions import MASK_FUNCTIONS, flip, get_mask_function, mask, mask_rs
from masking.layers import MaskedConv2D, MaskedDense, MaskedLayer
from masking.options import MaskingOptions
from masking.statistics import mask_counts, masked_layers, unmasked_variables

__all__ = ["MASK_FUNCTIONS", "flip", "get_mask_function", "mask", "mask_rs",
           "MaskedConv2D", "MaskedDense", "MaskedLayer", "MaskingOptions", "mask_counts", "masked_layers",
           "unmasked_variables"]
