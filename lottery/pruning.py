"""Magnitude pruning of the weights that remain, per layer."""

import numpy as np


def pruned_per_round(rate, remaining):
    """round(rate * remaining), halves rounded up (so a rate never rounds to nothing by banker's rounding)."""
    return int(np.floor(rate * remaining + 0.5))


def prune_by_magnitude(kernel, mask, rate):
    """A new 0/1 mask with pruned_per_round(rate, remaining) of the remaining weights of smallest |kernel|
    removed. Ties are broken by position (the earlier entry goes first), so the result is deterministic."""
    flat_mask = np.asarray(mask).ravel()
    remaining = np.flatnonzero(flat_mask)
    count = pruned_per_round(rate, remaining.size)
    magnitudes = np.abs(np.asarray(kernel).ravel()[remaining])
    removed = remaining[np.argsort(magnitudes, kind="stable")[:count]]
    new_mask = flat_mask.copy()
    new_mask[removed] = 0
    return new_mask.reshape(np.shape(mask))


def layer_prune_rates(layers, prune_rate, prune_rate_conv):
    """Frankle & Carbin's rates: dense layers at prune_rate, the output layer at half of it,
    convolutions at prune_rate_conv."""
    rates = []
    for index, layer in enumerate(layers):
        if len(layer.kernel.shape) == 4:
            rates.append(prune_rate_conv)
        elif index == len(layers) - 1:
            rates.append(prune_rate / 2)
        else:
            rates.append(prune_rate)
    return rates
