"""RunConfig: every setting of a run, as a dataclass that also generates the command line."""

import argparse
import dataclasses
import math
import os
import sys

from initializers import INITIALIZERS
from masking import MASK_FUNCTIONS
from networks import ACTIVATIONS, NETWORK_NAMES
from training.methods import METHODS

DATASET_CHOICES = ("auto", "mnist", "cifar10", "mnist-subset")


class ConfigError(ValueError):
    """A setting that cannot work; its message is one sentence with the fix."""


def option(default, help, choices=None, type=None, flag=None):
    metadata = {"help": help, "choices": choices, "type": type, "flag": flag}
    return dataclasses.field(default=default, metadata=metadata)


@dataclasses.dataclass
class RunConfig:
    # The 2020 reference's flags, names and defaults.
    nettype: str = option("LeNet", "network", choices=NETWORK_NAMES)
    traintype: str = option("FreePruning", "training method", choices=tuple(METHODS))
    initializer: str = option(None, "weight initializer; default: glorot for IMP (as Frankle & Carbin), "
                              "he otherwise (as the 2020 reference)", choices=tuple(INITIALIZERS))
    activation: str = option("relu", "hidden-layer activation", choices=ACTIVATIONS)
    masktype: str = option(None, "mask function; default: flip for the flipping methods, mask otherwise",
                           choices=tuple(MASK_FUNCTIONS))
    batchsize: int = option(25, "mini-batch size", type=int)
    maxepochs: int = option(20, "training epochs (0: only evaluate the untrained network)", type=int)
    seed: int = option(0, "run seed; 0 draws a fresh one, which is recorded", type=int)
    p1: float = option(0.5, "probability of a +1 sign for heconstant/binary", type=float)
    lr: float = option(1e-3, "Adam learning rate", type=float)
    outputpath: str = option("Outputs", "folder for the results")
    # Added by this tool.
    nruns: int = option(1, "number of runs (seeds seed, seed+1, ...)", type=int)
    dataset: str = option("auto", "data set; auto: the network's standard one, or the MNIST subset "
                          "when full MNIST cannot be found", choices=DATASET_CHOICES)
    data_dir: str = option(None, "folder holding the official data files", flag="--data-dir")
    limit: int = option(None, "use only the first N examples of each split (quick checks)", type=int)
    test_normalization: str = option("test", "statistics that normalise the test set: its own (as the "
                                     "reference) or the training set's", choices=("test", "train"),
                                     flag="--test-normalization")
    xla: str = option("auto", "compile training with XLA: auto = for networks without convolutions, where it "
                      "is about 3x faster on a CPU (for convolutions XLA on a CPU is about 20x slower)",
                      choices=("auto", "on", "off"))
    # Lottery tickets (--traintype IMP).
    reset: str = option("original", "IMP: reset survivors to their original initial values or to fresh "
                        "random ones", choices=("original", "random"))
    rounds: int = option(5, "IMP: pruning rounds after the first dense training", type=int)
    prune_rate: float = option(0.2, "IMP: fraction of the remaining dense weights removed per round and "
                               "layer (the output layer at half this rate)", type=float, flag="--prune-rate")
    prune_rate_conv: float = option(0.1, "IMP: the same for convolutions", type=float, flag="--prune-rate-conv")
    # Pruning at initialisation (--traintype RandomPruning, KStarts, DissipatingGradients, KStartsDG).
    sparsity: float = option(0.9, "fraction of weights removed", type=float)
    pruning_scope: str = option("layerwise", "remove the fraction from every layer, or from all weights "
                                "together", choices=("layerwise", "global"), flag="--pruning-scope")
    kstarts: int = option(5, "K-starts: number of random sparse masks to start from", type=int)
    selection_epochs: int = option(2, "K-starts / dissipating gradients: epochs before the mask is fixed",
                                   type=int, flag="--selection-epochs")
    fitness: str = option("magnitude", "K-starts: fitness of a candidate mask", choices=("magnitude", "gradient",
                                                                                      "both"))
    dissipation: float = option(0.1, "dissipating gradients: a weight whose relative change from its initial "
                                "value stays under this fraction is removed", type=float)

    def resolved_masktype(self):
        return self.masktype or METHODS[self.traintype].default_masktype

    def resolved_initializer(self):
        return self.initializer or METHODS[self.traintype].default_initializer

    def validate(self):
        """Raises ConfigError for a combination that cannot do what it says."""
        method = METHODS[self.traintype]
        checks = [
            (self.batchsize >= 1, f"--batchsize must be at least 1, got {self.batchsize}."),
            (self.maxepochs >= 0, f"--maxepochs must be 0 or more, got {self.maxepochs}."),
            (self.nruns >= 1, f"--nruns must be at least 1, got {self.nruns}."),
            (self.seed >= 0, f"--seed must be 0 (fresh seed) or a positive integer, got {self.seed}."),
            (0.0 <= self.p1 <= 1.0, f"--p1 is a probability and must lie in [0, 1], got {self.p1}."),
            (math.isfinite(self.lr) and self.lr > 0, f"--lr must be a positive number, got {self.lr}."),
            (self.limit is None or self.limit >= 1, f"--limit must be at least 1, got {self.limit}."),
            (self.rounds >= 0, f"--rounds must be 0 or more, got {self.rounds}."),
            (0 < self.prune_rate < 1, f"--prune-rate must lie strictly between 0 and 1, got {self.prune_rate}."),
            (0 < self.prune_rate_conv < 1,
             f"--prune-rate-conv must lie strictly between 0 and 1, got {self.prune_rate_conv}."),
            (0 <= self.sparsity < 1, f"--sparsity is the fraction of weights removed and must lie in [0, 1), "
                                     f"got {self.sparsity}."),
            (self.kstarts >= 1, f"--kstarts must be at least 1, got {self.kstarts}."),
            (self.selection_epochs >= 1, f"--selection-epochs must be at least 1, got {self.selection_epochs}."),
            (not method.selects_mask or self.selection_epochs <= self.maxepochs,
             f"--selection-epochs ({self.selection_epochs}) cannot exceed --maxepochs ({self.maxepochs})."),
            (self.dissipation > 0, f"--dissipation must be positive, got {self.dissipation}."),
            (self.resolved_masktype() in method.masktypes,
             f"--traintype {self.traintype} {method.description}, which --masktype "
             f"{self.resolved_masktype()} cannot do: use --masktype {' or '.join(method.masktypes)} "
             "or leave --masktype out."),
        ]
        for passed, message in checks:
            if not passed:
                raise ConfigError(message)
        if os.path.exists(self.outputpath) and not os.path.isdir(self.outputpath):
            raise ConfigError(f"--outputpath {self.outputpath} is a file, not a folder; "
                              "pass a folder path.")
        return self

    def to_dict(self):
        return {**dataclasses.asdict(self), "masktype": self.resolved_masktype(),
                "initializer": self.resolved_initializer()}


class OneLineParser(argparse.ArgumentParser):
    """Reports a bad flag in one line (no usage block) and exits with code 2."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {message}; see --help.\n")
        sys.exit(2)


def build_parser(prog="MaskTrainer.py", description=None):
    parser = OneLineParser(prog=prog, description=description,
                           formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    for field in dataclasses.fields(RunConfig):
        meta = field.metadata
        keywords = {"default": field.default, "help": meta["help"], "dest": field.name}
        if meta["choices"]:
            keywords["choices"] = meta["choices"]
        if meta["type"]:
            keywords["type"] = meta["type"]
        parser.add_argument(meta["flag"] or f"--{field.name}", **keywords)
    return parser


def parse_args(argv=None, parser=None):
    """Command line -> RunConfig (validated), plus the parsed namespace for extra flags."""
    parser = parser or build_parser()
    namespace = parser.parse_args(argv)
    names = {field.name for field in dataclasses.fields(RunConfig)}
    return RunConfig(**{name: getattr(namespace, name) for name in names}).validate(), namespace
