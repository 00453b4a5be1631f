"""Dissipating gradients: remove the weights that barely move from their initial values (numpy).

After selection epoch e of E, each weight still kept has a relative change |w - w0| / |w0| from its
initial value w0 (0 when w == w0 == 0, infinite when w0 == 0 and w moved). Weights whose change is
below the dissipation fraction F are removed, least moved first (lowest flat index on ties), but
never more than the schedule allows: after epoch e, at most
    start + floor((target - start) * e / E)
weights of a scope group (a layer, or all weights in global scope) are removed, where
start = round(S0 * n) were removed before training (S0 = 0 for a dense start) and
target = round(S * n). After the last selection epoch the group is filled up with the least-moved
remaining weights until exactly `target` are removed, so the final sparsity is exactly S.
"""

import numpy as np

from pruning_at_init.masks import removal_count, scoped_groups, split_like


def relative_change(initial, current):
    """|current - initial| / |initial|, elementwise, as float64."""
    initial = np.asarray(initial, dtype=np.float64)
    moved = np.abs(np.asarray(current, dtype=np.float64) - initial)
    scale = np.abs(initial)
    change = np.where(moved > 0, np.inf, 0.0)
    np.divide(moved, scale, out=change, where=scale > 0)
    return change


def allowed_removals(size, start_sparsity, sparsity, epoch, epochs):
    """Most weights of a group of `size` that may be removed after selection epoch `epoch` of `epochs`."""
    start, target = removal_count(size, start_sparsity), removal_count(size, sparsity)
    return start + (target - start) * min(epoch, epochs) // epochs


def dissipate(mask, change, threshold, allowed, exact=False):
    """A new flat 0/1 mask: kept weights with change < threshold removed, least moved first, until
    `allowed` are removed in all; with exact=True, further least-moved kept weights are removed until
    exactly `allowed` are. Weights already removed stay removed."""
    mask = np.asarray(mask)
    kept = np.flatnonzero(mask)
    removed = mask.size - kept.size
    order = kept[np.argsort(change[kept], kind="stable")]
    slow = int(np.count_nonzero(change[kept] < threshold))
    count = max(0, min(slow, allowed - removed))
    if exact:
        count = max(0, allowed - removed)
    result = mask.copy()
    result[order[:count]] = 0
    return result


def dissipation_masks(masks, initial_kernels, kernels, *, threshold, start_sparsity, sparsity, epoch, epochs,
                      scope):
    """The masks after selection epoch `epoch` of `epochs` (see the module docstring)."""
    shapes = [np.shape(mask) for mask in masks]
    changes = [relative_change(w0, w) for w0, w in zip(initial_kernels, kernels, strict=True)]
    new_groups = []
    for mask, change in zip(scoped_groups(masks, scope), scoped_groups(changes, scope), strict=True):
        allowed = allowed_removals(mask.size, start_sparsity, sparsity, epoch, epochs)
        new_groups.append(dissipate(mask, change, threshold, allowed, exact=epoch >= epochs))
    return [group.astype(np.float32) for group in split_like(new_groups, shapes, scope)]
