"""Magnitude at initialisation: |w| of the initial weights, the mask keeping the largest (Synaptic-Flow's Mag pruner
applied before training). Frankle et al. 2021 test it beside SNIP, GraSP and SynFlow as the simplest criterion there
is: it needs no data and no gradient."""

import numpy as np

from pruning_at_init.criteria.scoring import masks_from_scores


def masks(context):
    return masks_from_scores(context, [np.abs(value) for value in context.kernel_values()])
