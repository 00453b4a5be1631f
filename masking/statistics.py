"""Per-layer mask statistics: the reference's six counts."""

import keras
from keras import ops

from masking.layers import MaskedLayer

COUNT_NAMES = ("negativeMasks", "zeroMasks", "positiveMasks",
               "negativeWeights", "zeroWeights", "positiveWeights")


def masked_layers(model):
    """The model's masked layers, input to output (inside nested models too)."""
    found = []
    for layer in model.layers:
        if isinstance(layer, MaskedLayer):
            found.append(layer)
        elif isinstance(layer, keras.Model):
            found.extend(masked_layers(layer))
    return found


def unmasked_variables(model, layers):
    """The model's variables that belong to none of its masked layers `layers` (BatchNorm's, in the ResNets)."""
    masked = {id(variable) for layer in layers for variable in layer.variables}
    return [variable for variable in model.variables if id(variable) not in masked]


def _sign_counts(values):
    return [ops.sum(ops.cast(comparison, "int32")) for comparison in
            (ops.less(values, 0), ops.equal(values, 0), ops.greater(values, 0))]


def mask_counts(layers):
    """int32 tensor (layers, 6): negative / zero / positive mask values, then the same of kernel * mask."""
    rows = []
    for layer in layers:
        mask_values = layer.mask_values()
        effective = ops.convert_to_tensor(layer.kernel) * mask_values
        rows.append(ops.stack(_sign_counts(mask_values) + _sign_counts(effective)))
    return ops.stack(rows)
