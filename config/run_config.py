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
    initializer: str = option("he", "weight initializer", choices=tuple(INITIALIZERS))
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

    def resolved_masktype(self):
        return self.masktype or METHODS[self.traintype].default_masktype

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
        return {**dataclasses.asdict(self), "masktype": self.resolved_masktype()}


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
