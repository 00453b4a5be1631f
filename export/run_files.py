"""A finished run, as Export.py reads it: its logs, settings, and the arrays its files hold."""

import dataclasses
import json
import os

import numpy as np

from config import ConfigError, RunConfig
from results import atomic, paths


class ExportError(RuntimeError):
    """The run cannot be exported as asked; one sentence."""


def require_same_names(run_names, built_names, what, nettype):
    """ExportError unless the run's arrays (`what`: "weights", "BatchNorm values") name exactly the built network's."""
    unmatched = sorted(set(run_names) ^ set(built_names))
    if unmatched:
        raise ExportError(f"The run's {what} do not match the {nettype} built here ({unmatched[0]} is in only one of "
                          "them); export it with the version of this project that trained it.")


@dataclasses.dataclass
class FinishedRun:
    logs_path: str
    logs: dict
    config: RunConfig

    @property
    def run_id(self):
        return self.logs["runId"]

    def path(self, kind):
        return paths.run_file(os.path.dirname(self.logs_path), self.run_id, kind)

    def arrays(self, kind):
        """{layer name: array} of one of the run's .npz files."""
        try:
            with np.load(self.path(kind), allow_pickle=False) as archive:
                return {name: archive[name] for name in archive.files}
        except atomic.NPZ_READ_ERRORS as error:
            run_files = os.path.join(os.path.dirname(self.logs_path), f"{self.run_id}_*")
            raise ExportError(f"Cannot read {self.path(kind)} ({type(error).__name__}: {error}), so the run's files "
                              f"are damaged; remove them (rm -r {run_files}) and train the run again with the same "
                              "settings and seed.") from None

    def effective_kernels(self):
        """{layer name: the weights the network computes with}: kernel times mask values, in layer order."""
        kernels = self.arrays("final_weights" if self.config.method.kernel_trainable else "initial_weights")
        masks = self.arrays("final_masks")
        return {name: (kernels[name] * masks[name]).astype(np.float32) for name in self.logs["layerNames"]}

    def batchnorm(self):
        """{variable path ("stem_bn/gamma", ...): final value} of the ResNets' BatchNorm layers; {} for the networks
        without BatchNorm."""
        return self.arrays("final_batchnorm") if self.config.network.has_batchnorm else {}

    def input_shape(self):
        """One image's shape; logs without it (the first versions' logs) ran on the data set's own."""
        if "inputShape" in self.logs:
            return tuple(self.logs["inputShape"])
        return (32, 32, 3) if self.logs["dataset"]["name"] == "cifar10" else (28, 28, 1)

    def num_classes(self):
        return int(self.logs.get("numClasses", 10))


def find_finished_run(target, outputpath="Outputs"):
    """The finished run that `target` names: its _logs.json file, or its run ID under outputpath."""
    if os.path.isfile(target):
        logs_path = target
    elif paths.is_run_id(target) and len(paths.find_run(target, outputpath)) == 1:
        (logs_path,) = paths.find_run(target, outputpath)
    else:
        raise ExportError(f"No run {target} found (looked for a _logs.json file, or one run ID under {outputpath}); "
                          "pass the path of the run's _logs.json file.")
    try:
        with open(logs_path, encoding="utf-8") as handle:
            logs = json.load(handle)
        config = RunConfig.from_settings(logs["config"], strict=False)
        status = logs["status"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ConfigError):
        raise ExportError(f"{logs_path} is not a readable run log; pass the _logs.json file of a run.") from None
    if status != "finished":
        raise ExportError(f"Run {logs.get('runId')} is {status}, not finished; finish it first (MaskTrainer.py "
                          f"--resume {logs_path}).")
    return FinishedRun(logs_path, logs, config)
