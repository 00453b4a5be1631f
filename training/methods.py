"""Training methods by name: what trains (kernel or score), the mask types that fit, the loss term."""

import dataclasses

from masking import MaskingOptions


@dataclasses.dataclass(frozen=True)
class Method:
    name: str
    kernel_trainable: bool
    score_trainable: bool
    alpha: float
    default_masktype: str
    masktypes: tuple
    changes: str  # what the method changes: "weights", "pruning" or "flipping"
    description: str

    def masking_options(self, masktype):
        return MaskingOptions(mask_type=masktype, kernel_trainable=self.kernel_trainable,
                              score_trainable=self.score_trainable, alpha=self.alpha)


PRUNING_MASKS = ("mask", "mask_rs")
METHODS = {method.name: method for method in [
    Method("Baseline", True, False, 0.0, "mask", ("mask", "mask_rs", "flip"), "weights",
           "trains the weights while the mask stays all ones"),
    Method("FreePruning", False, True, 0.0, "mask", PRUNING_MASKS, "pruning",
           "switches fixed weights on and off"),
    Method("MinPruning", False, True, -1.0, "mask", PRUNING_MASKS, "pruning",
           "switches fixed weights on and off, keeping as many as it can"),
    Method("FreeFlipping", False, True, 0.0, "flip", ("flip",), "flipping",
           "flips the signs of fixed weights"),
    Method("MinFlipping", False, True, -1.0, "flip", ("flip",), "flipping",
           "flips the signs of fixed weights, as few as it can"),
]}


def get_method(name):
    if name not in METHODS:
        raise ValueError(f"Unknown training type '{name}'; choose one of {', '.join(METHODS)}.")
    return METHODS[name]
