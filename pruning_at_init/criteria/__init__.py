"""Pruning-at-initialisation criteria: how a method's starting 0/1 masks are chosen, each declared once, in CRITERIA.
Haroon 2022's methods draw them at random (pruning_at_init/masks.py); SNIP, GraSP and SynFlow choose them from scores
of the initial network, one module of this package each (scoring.py has what they share).

Adding a criterion: the module pruning_at_init/criteria/<name>.py with `masks(context) -> [0/1 array per masked
layer]`, and its line in CRITERIA: the settings it reads, if any, and its pruning scope if not global. A
PruningAtInitMethod names it (methods/pruning_at_initialisation.py); nothing else does.

This module imports neither Keras nor the criteria's modules: the configuration reads the declarations (the settings
a method uses, its default scope) before Keras' backend is chosen; a criterion's module, and Keras with it, is
imported when the criterion chooses masks.
"""

import dataclasses
import importlib


@dataclasses.dataclass(frozen=True)
class Criterion:
    """What a criterion declares beside its masks function."""

    # The fields of PruningAtInitSettings it reads: its methods use them, so that their flags apply to those methods,
    # are part of their runs' identity, and name their folders when not at their defaults.
    settings: tuple = ()
    # The scope without --pruning-scope: the field's criteria prune over all weights together (their papers,
    # Synaptic-Flow).
    default_scope: str = "global"
    # True: random masks, drawn by the experiment (one per K-starts candidate, from the run seed); False: the masks of
    # masks(context) in pruning_at_init/criteria/<name>.py.
    at_random: bool = False


RANDOM = "random"

CRITERIA = {
    RANDOM: Criterion(default_scope="layerwise", at_random=True),  # Haroon 2022 prunes layer by layer
    "snip": Criterion(settings=("scoring_examples",)),
    "grasp": Criterion(settings=("scoring_examples", "grasp_temperature")),
    "synflow": Criterion(settings=("synflow_iterations",)),
    "magnitude": Criterion(),
}


def criterion_named(name):
    if name not in CRITERIA:
        raise ValueError(f"Unknown pruning criterion '{name}'; choose one of {', '.join(CRITERIA)} "
                         "(pruning_at_init/criteria/__init__.py, CRITERIA).")
    return CRITERIA[name]


def criterion_masks(name, context):
    """The masks criterion `name` chooses in `context` (scoring.ScoringContext); CriterionError (one sentence) when
    they leave the network without a path."""
    if criterion_named(name).at_random:
        raise ValueError(f"The '{name}' criterion's masks are drawn at random by the experiment; none are scored.")
    from pruning_at_init.criteria.scoring import check_connected

    masks = importlib.import_module(f"{__name__}.{name}").masks(context)
    check_connected(context, masks)
    return masks


__all__ = ["CRITERIA", "RANDOM", "Criterion", "criterion_masks", "criterion_named"]
