"""The draws of the sanity checks, shared by a criterion's checks (pruning_at_init/sanity.py) and a learned mask's
(training/learned_mask_checks.py), so that a check means the same positions and the same weights for both."""

import numpy as np

SHUFFLE_STREAM = 4  # numpy default_rng([seed, SHUFFLE_STREAM]): the shuffled positions
REINIT_STREAM = 5  # numpy default_rng([seed, REINIT_STREAM]): the seeds of the redrawn kernels


def layer_permutations(sizes, seed):
    """One permutation of range(size) per layer, drawn in order from the run seed's shuffle stream."""
    generator = np.random.default_rng([seed, SHUFFLE_STREAM])
    return [generator.permutation(int(size)) for size in sizes]


def shuffled(arrays, seed):
    """Each array with its entries permuted within itself, by layer_permutations."""
    arrays = [np.asarray(array) for array in arrays]
    permutations = layer_permutations([array.size for array in arrays], seed)
    return [array.reshape(-1)[permutation].reshape(array.shape)
            for array, permutation in zip(arrays, permutations, strict=True)]


def redrawn_kernels(shapes, seed, initializer, p1=0.5, fan_scale=1.0):
    """New kernels of these shapes from `initializer`, one seed per layer drawn from the run seed's reinit stream."""
    from initializers import get_initializer
    generator = np.random.default_rng([seed, REINIT_STREAM])
    kernel_seeds = [int(value) for value in generator.integers(1, 2**31 - 1, size=len(shapes))]
    return [np.asarray(get_initializer(initializer, kernel_seed, p1, fan_scale)(shape, dtype="float32"))
            for shape, kernel_seed in zip(shapes, kernel_seeds, strict=True)]
