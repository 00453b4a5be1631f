"""Pruning at initialisation: a 0/1 mask fixed early, the weights train under it. Haroon 2022's methods (random
masks, K-starts, dissipating gradients) and the field's criteria, SNIP, GraSP, SynFlow and magnitude at
initialisation (as Synaptic-Flow has them; pruning_at_init/criteria/)."""

import dataclasses

from methods import sanity_checks
from methods.base import ConfigError, Method, MethodFamily, setting
from pruning_at_init.criteria import RANDOM, criterion_named

# Which settings a method uses: every method the mask's, plus those of the steps it takes and of its criterion (its
# declaration in pruning_at_init/criteria/__init__.py).
MASK = ("sparsity", "pruning_scope")
K_STARTS = ("kstarts", "selection_epochs", "fitness")
DISSIPATION = ("selection_epochs", "dissipation")
SCORED = ("sanity_check",)  # the methods whose mask a criterion scores can be checked (methods/sanity_checks.py)
# How a criterion's setting names a folder when not at its default (_N30); a setting without a letter, by its name.
FOLDER_LETTERS = {"scoring_examples": "N", "grasp_temperature": "T", "synflow_iterations": "I"}


@dataclasses.dataclass(frozen=True)
class PruningAtInitMethod(Method):
    k_starts: bool = False  # K candidate masks train briefly; the fittest goes on
    dissipates: bool = False  # weights that barely move in the selection epochs are removed
    start_fraction: float = 1.0  # the starting mask's sparsity, as a fraction of --sparsity
    criterion: str = RANDOM  # how the starting mask is chosen: a name in pruning_at_init/criteria's CRITERIA

    def __post_init__(self):
        settings = criterion_named(self.criterion).settings
        known = {field.name for field in dataclasses.fields(PruningAtInitSettings)}
        unknown = [name for name in settings if name not in known]
        if unknown:
            raise ValueError(f"The '{self.criterion}' criterion reads {', '.join(unknown)}, which "
                             "PruningAtInitSettings (methods/pruning_at_initialisation.py) does not have.")
        scored = () if criterion_named(self.criterion).at_random else SCORED
        uses = (MASK + (K_STARTS if self.k_starts else ()) + (DISSIPATION if self.dissipates else ()) + settings
                + scored)
        object.__setattr__(self, "uses", uses)

    @property
    def selects_mask(self):
        return self.k_starts or self.dissipates


@dataclasses.dataclass(frozen=True)
class PruningAtInitSettings:
    sparsity: float = setting(0.9, "fraction of weights removed", type=float, valid=lambda value: 0 <= value < 1,
                              requirement="is the fraction of weights removed and must lie in [0, 1)")
    pruning_scope: str = setting(None, "remove the fraction from every layer, or from all weights together; default: "
                                 "global for SNIP, GraSP, SynFlow and MagnitudeAtInit (their papers, Synaptic-Flow), "
                                 "layerwise for the others (Haroon 2022)", choices=("layerwise", "global"),
                                 flag="--pruning-scope")
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
    scoring_examples: int = setting(100, "SNIP, GraSP: training examples scored, drawn by the run seed "
                                    "(Synaptic-Flow's 10 per class of CIFAR-10)", type=int, flag="--scoring-examples",
                                    valid=lambda value: value >= 1, requirement="must be at least 1")
    grasp_temperature: float = setting(200.0, "GraSP: the logits are divided by this temperature", type=float,
                                       flag="--grasp-temperature", valid=lambda value: value > 0,
                                       requirement="must be positive")
    sanity_check: str = sanity_checks.sanity_check_setting()
    synflow_iterations: int = setting(100, "SynFlow: scoring and pruning iterations, the kept fraction shrinking "
                                      "exponentially to 1 - sparsity", type=int, flag="--synflow-iterations",
                                      valid=lambda value: value >= 1, requirement="must be at least 1")


FIXED_MASK = dict(masktypes=("mask",), default_masktype="mask", changes="pruning", use_fixed_mask=True)


class PruningAtInitialisation(MethodFamily):
    name = "pruning_at_init"
    title = "Pruning at initialisation (Haroon 2022)"
    settings_class = PruningAtInitSettings
    sanity_check_values = sanity_checks.CHECKS

    @property
    def experiment_class(self):
        # Imports Keras: not before the backend is chosen (methods/base.py).
        from pruning_at_init.experiment import PruningAtInitExperiment
        return PruningAtInitExperiment

    methods = (
        PruningAtInitMethod("RandomPruning", "trains the weights under one random fixed 0/1 mask",
                            color="#7f7f7f", marker="o", **FIXED_MASK),
        PruningAtInitMethod("KStarts", "trains the weights under the fittest of K random 0/1 masks",
                            color="#17becf", marker="s", k_starts=True, **FIXED_MASK),
        PruningAtInitMethod("DissipatingGradients", "trains the weights under a 0/1 mask that removes weights "
                            "which barely move", color="#bcbd22", marker="^", dissipates=True, start_fraction=0.0,
                            **FIXED_MASK),
        PruningAtInitMethod("KStartsDG", "trains the weights under the fittest of K masks, each refined by "
                            "dissipating gradients", color="#8c564b", marker="D", k_starts=True, dissipates=True,
                            start_fraction=0.5, **FIXED_MASK),
        PruningAtInitMethod("SNIP", "trains the weights under the 0/1 mask that keeps the weights of largest "
                            "|gradient x weight| on a batch (SNIP)", color="#aec7e8", marker="p", criterion="snip",
                            **FIXED_MASK),
        PruningAtInitMethod("GraSP", "trains the weights under the 0/1 mask that best preserves the gradient flow "
                            "(GraSP)", color="#98df8a", marker="h", criterion="grasp", **FIXED_MASK),
        PruningAtInitMethod("SynFlow", "trains the weights under the 0/1 mask that iteratively conserves the "
                            "synaptic flow, without data (SynFlow)", color="#ff9896", marker="X",
                            criterion="synflow", **FIXED_MASK),
        PruningAtInitMethod("MagnitudeAtInit", "trains the weights under the 0/1 mask that keeps the initial weights "
                            "of largest |w|", color="#c5b0d5", marker="d", criterion="magnitude", **FIXED_MASK),
    )

    def resolved_settings(self, config):
        settings = config.method_settings
        if settings.pruning_scope is None:
            settings = dataclasses.replace(settings,
                                           pruning_scope=criterion_named(config.method.criterion).default_scope)
        return settings

    def folder_suffix(self, config):
        settings, method = self.resolved_settings(config), config.method
        suffix = f"_S{settings.sparsity}" + ("_global" if settings.pruning_scope == "global" else "")
        defaults = PruningAtInitSettings()
        for name in criterion_named(method.criterion).settings:
            if getattr(settings, name) != getattr(defaults, name):
                suffix += f"_{FOLDER_LETTERS.get(name, name)}{getattr(settings, name)}"
        if method.k_starts:
            suffix += f"_K{settings.kstarts}_{settings.fitness}"
        if method.selects_mask:
            suffix += f"_E{settings.selection_epochs}"
        if method.dissipates:
            suffix += f"_D{settings.dissipation}"
        if "sanity_check" in method.uses:
            suffix += sanity_checks.folder_suffix(settings.sanity_check)
        return suffix

    def check(self, config):
        super().check(config)
        epochs = config.method_settings.selection_epochs
        if config.method.selects_mask and epochs > config.maxepochs:
            raise ConfigError(f"--selection-epochs ({epochs}) cannot exceed --maxepochs ({config.maxepochs}).")


FAMILY = PruningAtInitialisation()
