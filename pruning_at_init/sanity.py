"""Sanity checks of a mask a criterion chose at initialisation (--sanity-check), as Frankle et al. 2021 ("Pruning
Neural Networks at Initialization: Why are We Missing the Mark?") and Su et al. 2020 ("random tickets") ran them.
If a criterion's accuracy survives them, what it contributes is each layer's density, not which connections it keeps.

- shuffle: each layer's mask permuted at random (from the run seed), so the layer keeps its number of weights at new
  positions. A uniformly random permutation of a layer's mask is a uniformly random mask of its density, so this is
  also Su et al.'s random mask with the method's per-layer densities.
- reinit: the mask as chosen, over new weights drawn from the same initializer with another seed.
- invert: the criterion keeps the lowest scores instead of the highest (pruning_at_init/criteria/scoring.py).

Synaptic-Flow's own --shuffle leaves the masks unchanged (its Pruner.shuffle() rebinds a local variable), so its
shuffled runs are its unshuffled ones; tests/test_sanity_checks.py checks that these change what they should.
"""

import numpy as np

SHUFFLE_STREAM = 4  # numpy default_rng([seed, SHUFFLE_STREAM]): the shuffled positions
REINIT_STREAM = 5  # numpy default_rng([seed, REINIT_STREAM]): the seeds of the redrawn kernels


def shuffled(masks, seed):
    """Each mask with its entries permuted at random within its layer."""
    generator = np.random.default_rng([seed, SHUFFLE_STREAM])
    return [generator.permutation(np.asarray(mask).reshape(-1)).reshape(np.shape(mask)) for mask in masks]


def redrawn_kernels(shapes, seed, initializer, p1=0.5, fan_scale=1.0):
    """New kernels of these shapes from `initializer`, one seed per layer drawn from the run seed's reinit stream."""
    from initializers import get_initializer
    generator = np.random.default_rng([seed, REINIT_STREAM])
    kernel_seeds = [int(value) for value in generator.integers(1, 2**31 - 1, size=len(shapes))]
    return [np.asarray(get_initializer(initializer, kernel_seed, p1, fan_scale)(shape, dtype="float32"))
            for shape, kernel_seed in zip(shapes, kernel_seeds, strict=True)]
