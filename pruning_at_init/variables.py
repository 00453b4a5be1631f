"""Copies of model and optimizer variables, and 0/1 masks applied to the kernels and the optimizer's slots."""

import numpy as np


def values_of(variables):
    """numpy copies of the variables' values, in order."""
    return [np.array(variable) for variable in variables]


def assign_all(variables, values):
    for variable, value in zip(variables, values, strict=True):
        variable.assign(value)


def current_masks(layers):
    return [np.array(layer.fixed_mask) for layer in layers]


def current_kernels(layers):
    return [np.array(layer.kernel) for layer in layers]


def kernel_values(model, layers, model_values):
    """From a copy of model.variables, the kernels of the masked layers."""
    positions = {id(variable): index for index, variable in enumerate(model.variables)}
    return [model_values[positions[id(layer.kernel)]] for layer in layers]


def optimizer_slots(optimizer, variable):
    """The optimizer's own variables of a model variable: Adam's first and second moments, SGD's momentum buffer
    (none without momentum).

    Keras has no public way to ask for them. Its optimizers create them with `add_variable_from_reference`,
    which names them after the model variable's path (documented in that method); this relies on that
    naming, and tests/test_keras_workarounds.py fails loudly if a Keras upgrade changes it.
    """
    import keras
    if isinstance(optimizer, keras.optimizers.Adam):
        slots = ("momentum", "velocity")
    else:
        slots = ("momentum",) if getattr(optimizer, "momentum", 0) else ()
    stem = variable.path.replace("/", "_")
    found = {slot: [candidate for candidate in optimizer.variables if candidate.name == f"{stem}_{slot}"]
             for slot in slots}
    if any(len(candidates) != 1 for candidates in found.values()):
        raise RuntimeError(f"Cannot find the optimizer's {' and '.join(slots)} of {variable.path} by name; this "
                           "Keras version names optimizer variables differently (see pruning_at_init/variables.py).")
    return tuple(found[slot][0] for slot in slots)


def apply_masks(layers, masks, optimizer):
    """Fixes each layer's mask, sets its pruned kernel entries to exactly 0, and clears their optimizer slots (Adam's
    moments, SGD's momentum buffer), so their gradient (0 under the mask) never moves them again. (Weight decay
    adds decay * 0 to a pruned entry's gradient: it stays 0.)"""
    for layer, mask in zip(layers, masks, strict=True):
        mask = np.asarray(mask, dtype=np.float32)
        layer.set_fixed_mask(mask)
        layer.kernel.assign(np.where(mask != 0, np.asarray(layer.kernel), 0.0).astype(np.float32))
        for moment in optimizer_slots(optimizer, layer.kernel):
            moment.assign(np.asarray(moment) * mask)
