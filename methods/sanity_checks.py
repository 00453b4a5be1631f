"""--sanity-check: one setting that several families share, each with its own meaning of a check.

- A criterion's mask chosen at initialisation (SNIP, GraSP, SynFlow, MagnitudeAtInit; pruning_at_init/sanity.py):
  the weights train under the checked mask, as Frankle et al. 2021 ("Pruning Neural Networks at Initialization: Why
  are We Missing the Mark?") and Su et al. 2020 ("random tickets") ran the checks.
- A mask learned over fixed weights (FreePruning, MinPruning, FreeFlipping, MinFlipping, EdgePopup, Supermask;
  training/learned_mask_checks.py): the run trains as its unchecked twin, and every evaluation is of the learned mask
  checked, with no retraining, which measures how much the mask is tied to the weights it was learned on.

The same flag, grid key and folder suffix (_check-NAME) for both, so that one grid crosses every method with its
checks and one table (Plotter's sanity part) pairs each method with them.
"""

from methods.base import setting

NONE = "none"
# In the order the tables list them; invert needs a criterion's scores.
CHECKS = (NONE, "shuffle", "reinit", "invert")
LEARNED_MASK_CHECKS = (NONE, "shuffle", "reinit")
HELP = ("a sanity check, a run of its own (Frankle et al. 2021; Su et al. 2020). SNIP, GraSP, SynFlow, "
        "MagnitudeAtInit train under the checked mask: shuffle, each layer's kept positions drawn anew from the run "
        "seed (a random mask of the method's layer densities); reinit, the same mask over new weights from the same "
        "initializer and another seed; invert, the lowest scores kept. FreePruning, MinPruning, FreeFlipping, "
        "MinFlipping, EdgePopup, Supermask train as without the check, and every evaluation is of the learned mask "
        "shuffled within each layer (shuffle) or over new weights (reinit), with no retraining")


def sanity_check_setting():
    """The --sanity-check field of a family's settings dataclass (every family that has it declares it alike)."""
    return setting(NONE, HELP, choices=CHECKS, flag="--sanity-check")


def folder_suffix(check):
    return "" if check == NONE else f"_check-{check}"

