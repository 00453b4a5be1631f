"""Frankle & Carbin's control for lottery tickets (`--reset control`): the masks that the original-init run
of the same settings and seed found at each level, trained from fresh random weights.

The control run is paired with that finished `--reset original` run: round r of the control uses the
original run's round-r mask (`{runid}_round{r}_masks.npz`), and every round, round 0 included, starts from
weights drawn afresh from the control's seed, the round and the layer (as `--reset random` draws them). So
the two runs differ only in the initial values of the surviving weights.
"""

import dataclasses
import json
import os

import numpy as np

from results.paths import find_logs_files, round_masks_file, run_id_of


class PairedRunMissing(RuntimeError):
    """No finished original-init run to take the masks from; one sentence."""


def paired_original_run(config):
    """(folder, run ID) of the finished `--reset original` run with config's other settings and seed."""
    original = dataclasses.replace(config, method_settings=dataclasses.replace(config.method_settings,
                                                                               reset="original"))
    wanted = {name: value for name, value in original.identity().items() if name != "seed"}
    folder = original.folder()
    for path in reversed(find_logs_files(folder) if os.path.isdir(folder) else []):
        try:
            with open(path, encoding="utf-8") as handle:
                logs = json.load(handle)
        except (OSError, ValueError):
            continue
        stored = logs.get("config") if isinstance(logs, dict) else None
        if not (isinstance(stored, dict) and logs.get("status") == "finished" and logs.get("seed") == config.seed):
            continue
        try:  # read as a RunConfig (config's own class), so that settings older logs lack take their defaults
            identity = type(config).from_settings(stored, strict=False).identity()
        except (ValueError, TypeError, KeyError):
            continue
        if {name: value for name, value in identity.items() if name != "seed"} == wanted:
            return folder, run_id_of(path)
    raise PairedRunMissing(
        f"--reset control takes its masks from the finished --reset original run with the same settings and seed "
        f"{config.seed}, and there is none under {folder}; run that one first (same flags, --reset original).")


def paired_mask(folder, run_id, round_index, layer_name):
    with np.load(round_masks_file(folder, run_id, round_index), allow_pickle=False) as masks:
        return np.array(masks[layer_name])
