"""Connectivity training over fixed random weights (Ivan & Florian 2020), edge-popup (Ramanujan et al. 2020), and
the Baseline that trains the weights of the same network instead."""

import dataclasses

from initializers import FAN_SCALED
from methods import sanity_checks
from methods.base import Method, MethodFamily, setting

PRUNING_MASKS = ("mask", "mask_rs")
# Over fixed weights: the learned mask can be sanity-checked (methods/sanity_checks.py).
CONNECTIVITY = dict(kernel_trainable=False, score_trainable=True, uses=("sanity_check",))


@dataclasses.dataclass(frozen=True)
class ConnectivitySettings:
    keep_fraction: float = setting(0.5, "EdgePopup: the fraction of each layer's weights kept, those of largest "
                                   "|score| (hidden-networks' --prune-rate, which despite its name is this kept "
                                   "fraction; its issue #9)", type=float, flag="--keep-fraction",
                                   valid=lambda value: 0 < value <= 1, requirement="is the fraction of each "
                                   "layer's weights kept and must lie in (0, 1]")
    scale_fan: bool = setting(False, "EdgePopup: scale the He weights as if each unit had only --keep-fraction of "
                              "its inputs, sqrt(2 / (keep fraction * fan_in)) (hidden-networks' --scale-fan)",
                              type=bool, flag="--scale-fan",
                              applies=("initializer", FAN_SCALED, "--initializer " + " or ".join(FAN_SCALED)))
    sanity_check: str = sanity_checks.sanity_check_setting()


class ConnectivityTraining(MethodFamily):
    name = "connectivity"
    title = "Connectivity training over fixed random weights (Ivan & Florian 2020)"
    settings_class = ConnectivitySettings
    sanity_check_values = sanity_checks.LEARNED_MASK_CHECKS
    methods = (
        Method("Baseline", "trains the weights while the mask stays all ones", ("mask", "mask_rs", "flip"),
               "mask", "weights", "#333333", "o", uses=()),
        Method("FreePruning", "switches fixed weights on and off", PRUNING_MASKS, "mask", "pruning", "#1f77b4",
               "s", **CONNECTIVITY),
        Method("MinPruning", "switches fixed weights on and off, keeping as many as it can", PRUNING_MASKS, "mask",
               "pruning", "#2ca02c", "^", alpha=-1.0, **CONNECTIVITY),
        Method("FreeFlipping", "flips the signs of fixed weights", ("flip",), "flip", "flipping", "#d62728", "v",
               **CONNECTIVITY),
        Method("MinFlipping", "flips the signs of fixed weights, as few as it can", ("flip",), "flip", "flipping",
               "#ff7f0e", "D", alpha=-1.0, **CONNECTIVITY),
        Method("EdgePopup", "keeps the given fraction of each layer's fixed weights, those of largest |score| "
               "(edge-popup)", ("topk",), "topk", "pruning", "#e377c2", "P", kernel_trainable=False,
               score_trainable=True, uses=("keep_fraction", "scale_fan", "sanity_check"),
               score_initializer="kaiming_uniform", default_initializer="heconstant"),
    )

    def fan_scale(self, method, settings):
        """--scale-fan: the He weights as if each unit had only --keep-fraction of its inputs."""
        return settings.keep_fraction if "scale_fan" in (method.uses or ()) and settings.scale_fan else 1.0

    @property
    def experiment_class(self):
        # Imports Keras: not before the backend is chosen (methods/base.py).
        from training.learned_mask_checks import FixedWeightExperiment
        return FixedWeightExperiment

    def folder_suffix(self, config):
        settings, uses = config.method_settings, config.method.uses or ()
        suffix = ""
        if "keep_fraction" in uses:
            suffix += f"_K{settings.keep_fraction}" + ("_scalefan" if settings.scale_fan else "")
        if "sanity_check" in uses:
            suffix += sanity_checks.folder_suffix(settings.sanity_check)
        return suffix


FAMILY = ConnectivityTraining()
