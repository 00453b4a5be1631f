"""Pruning at initialisation (Haroon 2022): a 0/1 mask fixed early, the weights train under it."""

import dataclasses

from methods.base import ConfigError, Method, MethodFamily, setting
from pruning_at_init.experiment import PruningAtInitExperiment


# Which settings a method uses: every method the mask's, plus those of the steps it takes.
MASK = ("sparsity", "pruning_scope")
K_STARTS = ("kstarts", "selection_epochs", "fitness")
DISSIPATION = ("selection_epochs", "dissipation")


@dataclasses.dataclass(frozen=True)
class PruningAtInitMethod(Method):
    k_starts: bool = False  # K candidate masks train briefly; the fittest goes on
    dissipates: bool = False  # weights that barely move in the selection epochs are removed
    start_fraction: float = 1.0  # the starting mask's sparsity, as a fraction of --sparsity

    def __post_init__(self):
        uses = MASK + (K_STARTS if self.k_starts else ()) + (DISSIPATION if self.dissipates else ())
        object.__setattr__(self, "uses", uses)

    @property
    def selects_mask(self):
        return self.k_starts or self.dissipates


@dataclasses.dataclass(frozen=True)
class PruningAtInitSettings:
    sparsity: float = setting(0.9, "fraction of weights removed", type=float, valid=lambda value: 0 <= value < 1,
                              requirement="is the fraction of weights removed and must lie in [0, 1)")
    pruning_scope: str = setting("layerwise", "remove the fraction from every layer, or from all weights together",
                                 choices=("layerwise", "global"), flag="--pruning-scope")
    kstarts: int = setting(5, "K-starts: number of random sparse masks to start from", type=int,
                           valid=lambda value: value >= 1, requirement="must be at least 1")
    selection_epochs: int = setting(2, "K-starts / dissipating gradients: epochs before the mask is fixed",
                                    type=int, flag="--selection-epochs", valid=lambda value: value >= 1,
                                    requirement="must be at least 1")
    fitness: str = setting("magnitude", "K-starts: fitness of a candidate mask",
                           choices=("magnitude", "gradient", "both"))
    dissipation: float = setting(0.1, "dissipating gradients: a weight whose relative change from its initial "
                                 "value stays under this fraction is removed", type=float,
                                 valid=lambda value: value > 0, requirement="must be positive")


FIXED_MASK = dict(masktypes=("mask",), default_masktype="mask", changes="pruning", use_fixed_mask=True)


class PruningAtInitialisation(MethodFamily):
    name = "pruning_at_init"
    title = "Pruning at initialisation (Haroon 2022)"
    settings_class = PruningAtInitSettings
    experiment_class = PruningAtInitExperiment
    methods = (
        PruningAtInitMethod("RandomPruning", "trains the weights under one random fixed 0/1 mask",
                            color="#7f7f7f", marker="o", **FIXED_MASK),
        PruningAtInitMethod("KStarts", "trains the weights under the fittest of K random 0/1 masks",
                            color="#1f77b4", marker="s", k_starts=True, **FIXED_MASK),
        PruningAtInitMethod("DissipatingGradients", "trains the weights under a 0/1 mask that removes weights "
                            "which barely move", color="#2ca02c", marker="^", dissipates=True, start_fraction=0.0,
                            **FIXED_MASK),
        PruningAtInitMethod("KStartsDG", "trains the weights under the fittest of K masks, each refined by "
                            "dissipating gradients", color="#d62728", marker="D", k_starts=True, dissipates=True,
                            start_fraction=0.5, **FIXED_MASK),
    )

    def folder_suffix(self, config):
        settings, method = config.method_settings, config.method
        suffix = f"_S{settings.sparsity}" + ("_global" if settings.pruning_scope == "global" else "")
        if method.k_starts:
            suffix += f"_K{settings.kstarts}_{settings.fitness}"
        if method.selects_mask:
            suffix += f"_E{settings.selection_epochs}"
        if method.dissipates:
            suffix += f"_D{settings.dissipation}"
        return suffix

    def check(self, config):
        epochs = config.method_settings.selection_epochs
        if config.method.selects_mask and epochs > config.maxepochs:
            raise ConfigError(f"--selection-epochs ({epochs}) cannot exceed --maxepochs ({config.maxepochs}).")


FAMILY = PruningAtInitialisation()
