"""Pruning-at-initialisation criteria: each chooses the 0/1 masks of the masked layers before training, from scores
of the initial network (pruning_at_init/criteria/scoring.py has what they share).

Adding a criterion: one module here with `masks(context) -> [0/1 array per masked layer]`, one line in CRITERIA,
and one PruningAtInitMethod (methods/pruning_at_initialisation.py) naming it.
"""

from pruning_at_init.criteria import grasp, snip, synflow
from pruning_at_init.criteria.scoring import CriterionError, ScoringContext, check_connected

CRITERIA = {"snip": snip.masks, "grasp": grasp.masks, "synflow": synflow.masks}


def criterion_masks(name, context):
    """The criterion's masks; CriterionError (one sentence) when they leave the network without a path."""
    if name not in CRITERIA:
        raise ValueError(f"Unknown pruning criterion '{name}'; choose one of {', '.join(CRITERIA)}.")
    masks = CRITERIA[name](context)
    check_connected(context, masks)
    return masks


__all__ = ["CRITERIA", "CriterionError", "ScoringContext", "criterion_masks"]
