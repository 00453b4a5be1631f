"""Random sparse 0/1 masks and their sparsity, layer by layer or over all weights together (numpy).

Sparsity is the fraction of weights removed. A mask at sparsity S removes exactly round(S * n)
weights (Python's round, half to even): n is each layer's size in layerwise scope, the total number
of weights in global scope, where the removed ones are drawn uniformly among all weights together.
"""

import numpy as np

SCOPES = ("layerwise", "global")


def removal_count(size, sparsity):
    """Number of weights a mask at this sparsity removes from `size` weights."""
    return int(round(float(sparsity) * int(size)))


def scoped_groups(arrays, scope):
    """Flat vectors to work on: one per array (layerwise) or all concatenated (global)."""
    if scope not in SCOPES:
        raise ValueError(f"Unknown pruning scope '{scope}'; choose one of {', '.join(SCOPES)}.")
    flat = [np.asarray(array).reshape(-1) for array in arrays]
    return flat if scope == "layerwise" else [np.concatenate(flat)]


def split_like(groups, shapes, scope):
    """Inverse of scoped_groups: the flat vectors cut back into arrays of the given shapes."""
    if scope == "layerwise":
        return [group.reshape(shape) for group, shape in zip(groups, shapes, strict=True)]
    sizes = [int(np.prod(shape)) for shape in shapes]
    pieces = np.split(groups[0], np.cumsum(sizes)[:-1])
    return [piece.reshape(shape) for piece, shape in zip(pieces, shapes, strict=True)]


def random_masks(shapes, sparsity, scope, generator):
    """float32 0/1 masks of the given shapes with exactly round(S * n) zeros per scope group,
    placed uniformly at random by the numpy generator."""
    sizes = [int(np.prod(shape)) for shape in shapes]
    group_sizes = sizes if scope == "layerwise" else [sum(sizes)]
    groups = []
    for size in group_sizes:
        mask = np.ones(size, dtype=np.float32)
        mask[generator.permutation(size)[:removal_count(size, sparsity)]] = 0.0
        groups.append(mask)
    return split_like(groups, shapes, scope)


def sparsity_of(masks):
    """(overall sparsity, [sparsity of each mask]): fractions of zero entries."""
    zeros = [int(np.size(mask) - np.count_nonzero(mask)) for mask in masks]
    sizes = [int(np.size(mask)) for mask in masks]
    return sum(zeros) / sum(sizes), [zero / size for zero, size in zip(zeros, sizes)]
