"""Sanity checks of a mask a criterion chose at initialisation (--sanity-check), as Frankle et al. 2021 ("Pruning
Neural Networks at Initialization: Why are We Missing the Mark?") and Su et al. 2020 ("random tickets") ran them.
If a criterion's accuracy survives them, what it contributes is each layer's density, not which connections it keeps.

- shuffle: each layer's mask permuted at random (from the run seed), so the layer keeps its number of weights at new
  positions. A uniformly random permutation of a layer's mask is a uniformly random mask of its density, so this is
  also Su et al.'s random mask with the method's per-layer densities.
- reinit: the mask as chosen, over new weights drawn from the same initializer with another seed.
- invert: the criterion keeps the lowest scores instead of the highest (pruning_at_init/criteria/scoring.py).

Synaptic-Flow's own --shuffle leaves the masks unchanged (its Pruner.shuffle() rebinds a local variable), so its
shuffled runs are its unshuffled ones; tests/test_sanity_checks.py checks that these change what they should. The
draws are training/check_draws.py's, which a learned mask's checks share.
"""

from training.check_draws import redrawn_kernels, shuffled

__all__ = ["redrawn_kernels", "shuffled"]
