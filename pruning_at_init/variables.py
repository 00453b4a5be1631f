"""Copies of model and optimizer variables, and 0/1 masks applied to the kernels and Adam's moments."""

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


def adam_moments(optimizer, variable):
    """Adam's first and second moment variables of a model variable."""
    index = optimizer._get_variable_index(variable)
    return optimizer._momentums[index], optimizer._velocities[index]


def apply_masks(layers, masks, optimizer):
    """Fixes each layer's mask, sets its pruned kernel entries to exactly 0, and clears their Adam
    moments, so their gradient (0 under the mask) never moves them again."""
    for layer, mask in zip(layers, masks, strict=True):
        mask = np.asarray(mask, dtype=np.float32)
        layer.set_fixed_mask(mask)
        layer.kernel.assign(np.where(mask != 0, np.asarray(layer.kernel), 0.0).astype(np.float32))
        for moment in adam_moments(optimizer, layer.kernel):
            moment.assign(np.asarray(moment) * mask)
