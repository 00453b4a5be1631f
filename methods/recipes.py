"""Each method's own training recipe, as its paper (or the code it published) trained it, with the source.

Every run trains with the common recipe unless told otherwise: the 2020 code's Adam at 1e-3, batch 25, 20 epochs
(the flags' defaults), so that methods compare on equal terms. `--recipe paper` trains a method as its authors did
instead: the settings below fill every one the command line (or grid) leaves out. Some methods depend on their recipe
far more than others (Supermask reaches 19% after 2 epochs on the MNIST subset with the common recipe and 91.7% with
Zhou's SGD at learning rate 100), so a run says so on its first line when its method's own recipe is far from the
one it trains with (`far_from_own`).

A recipe is recorded only where its source gives it; `--recipe paper` is refused, in one sentence, for the others.
"""

import dataclasses

RECIPES_CHOICES = ("common", "paper")
COMMON_SOURCE = "the 2020 code's (Ivan & Florian 2020): Adam, learning rate 1e-3, batch 25, 20 epochs"


@dataclasses.dataclass(frozen=True)
class Recipe:
    source: str  # where the values were read
    optimizer: str = "adam"
    lr: float = 1e-3
    batchsize: int = 25
    maxepochs: int = 20
    momentum: float = None  # SGD's; None for Adam
    weight_decay: float = 0.0
    lr_schedule: str = "step"
    lr_drops: str = "none"

    def settings(self):
        """The run settings it gives: none for the common recipe (the flags' defaults, and each network's own drops and
        augmentation); momentum only for SGD; drops only where it has some."""
        if self is COMMON:
            return {}
        values = {field.name: getattr(self, field.name) for field in dataclasses.fields(self) if field.name != "source"}
        if values["momentum"] is None:
            del values["momentum"]
        if values["lr_drops"] == "none":
            del values["lr_drops"]
        return values

    def describe(self):
        momentum = f", momentum {self.momentum:g}" if self.momentum is not None else ""
        decay = f", weight decay {self.weight_decay:g}" if self.weight_decay else ""
        schedule = ", cosine schedule" if self.lr_schedule == "cosine" else (
            f", rate / 10 at epochs {self.lr_drops}" if self.lr_drops != "none" else "")
        return (f"{self.optimizer} at learning rate {self.lr:g}{momentum}{decay}{schedule}, batch {self.batchsize}, "
                f"{self.maxepochs} epochs")


COMMON = Recipe(COMMON_SOURCE)
EDGE_POPUP_CONV = Recipe("hidden-networks' CIFAR-10 configurations (configs/smallscale/conv4/conv4_usc_unsigned.yml "
                         "and its Conv2, Conv6 and Conv8 siblings): SGD, learning rate 0.1, cosine schedule, momentum "
                         "0.9, weight decay 1e-4, batch 128, 100 epochs",
                         optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=1e-4, lr_schedule="cosine", batchsize=128,
                         maxepochs=100)


# Synaptic-Flow (Tanaka et al. 2020) trained every pruner alike after pruning; its recorded single-shot runs on
# VGG16-bn give the values. Its "momentum" optimizer is SGD with Nesterov momentum 0.9; this tool's SGD has plain
# momentum (PyTorch's without nesterov), the one difference.
SYNAPTIC_FLOW_VGG16 = Recipe("Synaptic-Flow's recorded single-shot runs of rand, mag, snip, grasp and synflow on "
                            "VGG16-bn (Results/data/0520_2020_cifar100_lottery_vgg16_bn/args.json, CIFAR-100; its "
                            "CIFAR-10 VGG11-bn runs alike): SGD with Nesterov momentum 0.9 (plain momentum here), "
                            "learning rate 0.1 / 10 at epochs 60 and 120, weight decay 1e-4, batch 128, 160 epochs",
                            optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=1e-4, batchsize=128, maxepochs=160,
                            lr_drops="60,120")


def _imp(network, rate, iterations, training_examples):
    # Frankle & Carbin 2019, Figure 2: Adam, batch 60, the iterations given there, as epochs of this tool's splits.
    return Recipe(f"Frankle & Carbin 2019, Figure 2 ({network}): Adam {rate:g}, batch 60, {iterations // 1000}K "
                  f"iterations ({training_examples:,} training examples here)", lr=rate, batchsize=60,
                  maxepochs=round(iterations * 60 / training_examples))


# {method: {network: Recipe}}; "*" stands for every network.
RECIPES = {
    **{method: {"*": COMMON} for method in ("Baseline", "FreePruning", "MinPruning", "FreeFlipping", "MinFlipping")},
    # Haroon 2022 built on the 2020 code; the paper's own values are not known here (REFERENCE.md, section 3).
    **{method: {"*": COMMON} for method in ("RandomPruning", "KStarts", "DissipatingGradients", "KStartsDG")},
    "EdgePopup": {network: EDGE_POPUP_CONV for network in ("Conv2", "Conv4", "Conv6", "Conv8")},
    "IMP": {"LeNet": _imp("LeNet", 1.2e-3, 50_000, 55_000), "Conv2": _imp("Conv-2", 2e-4, 20_000, 45_000),
            "Conv4": _imp("Conv-4", 3e-4, 25_000, 45_000), "Conv6": _imp("Conv-6", 3e-4, 30_000, 45_000)},
    "SNIP": {"LeNet": Recipe("Lee et al. 2019, section 5: SGD, momentum 0.9, learning rate 0.1 divided by 10 every "
                             "25k iterations, weight decay 5e-4, batch 100; the total is not given: 60 epochs of 550 "
                             "steps, the drop after 24.75k (experiments/snip_recipe_lenet.json)",
                             optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=5e-4, batchsize=100, maxepochs=60,
                             lr_drops="46"), "VGG16": SYNAPTIC_FLOW_VGG16},
    **{method: {"VGG16": SYNAPTIC_FLOW_VGG16} for method in ("GraSP", "SynFlow", "MagnitudeAtInit")},
    "Supermask": {"LeNet": Recipe("Zhou et al. 2019, uber-research/deconstructing-lottery-tickets train_supermask.py "
                                  "for fc_mask: SGD, momentum 0.9, learning rate 100, batch 250, 2000 epochs",
                                  optimizer="sgd", lr=100.0, momentum=0.9, batchsize=250, maxepochs=2000)},
}


def own_recipe(traintype, nettype):
    """The method's own recipe for the network, or None when none is recorded."""
    recipes = RECIPES.get(traintype, {})
    return recipes.get(nettype) or recipes.get("*")


def recipe_settings(traintype, nettype):
    """The settings `--recipe paper` gives; ValueError (one sentence) when no recipe is recorded."""
    recipe = own_recipe(traintype, nettype)
    if recipe is None:
        known = sorted(network for network in RECIPES.get(traintype, {}))
        where = f" (it has one for {', '.join(known)})" if known else ""
        raise ValueError(f"--recipe paper: no recipe of {traintype}'s own is recorded for {nettype}{where} in "
                         "methods/recipes.py; leave --recipe out, or give the settings yourself.")
    return recipe.settings()


def far_from_own(config):
    """A sentence when the run's method trains far from its own recipe (another optimizer, or a learning rate 10
    times off), else None."""
    recipe = own_recipe(config.traintype, config.nettype)
    if recipe is None or recipe is COMMON:
        return None
    ratio = max(recipe.lr, config.lr) / min(recipe.lr, config.lr)
    if recipe.optimizer == config.optimizer and ratio < 10:
        return None
    return (f"Note: {config.traintype}'s own recipe trains with {recipe.describe()} ({recipe.source.split(':')[0]}); "
            f"this run trains with {config.optimizer} at learning rate {config.lr:g}. --recipe paper trains with it.")
