"""Training methods by name: what trains (kernel or score), the mask types that fit, the loss term,
and the experiment class that runs them."""

import dataclasses
import importlib

from masking import MaskingOptions


def _no_suffix(config):
    return ""


def _lottery_suffix(config):
    rates = f"R{config.prune_rate}" + (f"_C{config.prune_rate_conv}" if config.nettype != "LeNet" else "")
    return f"_{config.reset}_{rates}"


def _pruning_at_init_suffix(config):
    suffix = f"_S{config.sparsity}" + ("_global" if config.pruning_scope == "global" else "")
    if config.traintype in ("KStarts", "KStartsDG"):
        suffix += f"_K{config.kstarts}_{config.fitness}"
    if config.traintype != "RandomPruning":
        suffix += f"_E{config.selection_epochs}"
    if config.traintype in ("DissipatingGradients", "KStartsDG"):
        suffix += f"_D{config.dissipation}"
    return suffix


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
    use_fixed_mask: bool = False
    default_initializer: str = "he"
    selects_mask: bool = False  # K-starts / dissipating gradients: a selection phase before the mask is fixed
    experiment: str = "training.loop.Experiment"
    folder_suffix: object = _no_suffix

    def masking_options(self, masktype):
        return MaskingOptions(mask_type=masktype, kernel_trainable=self.kernel_trainable,
                              score_trainable=self.score_trainable, use_fixed_mask=self.use_fixed_mask,
                              alpha=self.alpha)

    def experiment_class(self):
        module, _, name = self.experiment.rpartition(".")
        return getattr(importlib.import_module(module), name)


PRUNING_MASKS = ("mask", "mask_rs")
FIXED_MASK = dict(kernel_trainable=True, score_trainable=False, alpha=0.0, default_masktype="mask",
                  masktypes=("mask",), changes="pruning", use_fixed_mask=True)
PRUNING_AT_INIT = dict(FIXED_MASK, experiment="pruning_at_init.experiment.PruningAtInitExperiment",
                       folder_suffix=_pruning_at_init_suffix)

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
    Method("IMP", description="prunes trained weights by magnitude over rounds under a fixed 0/1 mask",
           default_initializer="glorot", experiment="lottery.experiment.LotteryTicketExperiment",
           folder_suffix=_lottery_suffix, **FIXED_MASK),
    Method("RandomPruning", description="trains the weights under one random fixed 0/1 mask",
           **PRUNING_AT_INIT),
    Method("KStarts", description="trains the weights under the fittest of K random 0/1 masks",
           selects_mask=True, **PRUNING_AT_INIT),
    Method("DissipatingGradients", description="trains the weights under a 0/1 mask that removes weights "
           "which barely move", selects_mask=True, **PRUNING_AT_INIT),
    Method("KStartsDG", description="trains the weights under the fittest of K masks, each refined by "
           "dissipating gradients", selects_mask=True, **PRUNING_AT_INIT),
]}


def get_method(name):
    if name not in METHODS:
        raise ValueError(f"Unknown training type '{name}'; choose one of {', '.join(METHODS)}.")
    return METHODS[name]
