"""Merge the runs (seeds) of one configuration into (epochs x runs) arrays.

Runs of one configuration may differ in length (a shorter run, a run cut off): the merged arrays
keep the epochs common to all of them, and a note names the shorter runs.
"""

import json
import os
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from masking.declarations import flips
from reporting.frames import sort_value, varying_settings
from reporting.runs_table import CURVE_COLUMNS, display_path
from results import paths
from results.atomic import write_npz

FRACTION_KEYS = ("remainingFraction", "flippedFraction", "changedFraction")


@dataclass
class Configuration:
    """All finished runs of one configuration, merged over their common epochs."""

    key: tuple
    runs: list  # RunRecords, by seed and run ID
    epochs: int
    arrays: dict  # name -> float array (epochs, runs)
    per_layer: object = None  # (epochs, runs, layers, 6) counts, or None
    notes: list = field(default_factory=list)

    @property
    def fields(self):
        return dict(self.key)

    def get(self, name, default=None):
        if name == "runCount":
            return len(self.runs)
        if name == "configuration":
            return self.key
        return self.fields.get(name, default)

    @property
    def first(self):
        return self.runs[0]

    @property
    def is_flip(self):
        return flips(self.get("masktype"))

    @property
    def layer_names(self):
        return self.first.layer_names

    @property
    def layer_sizes(self):
        return self.first.layer_sizes

    @property
    def folders(self):
        return sorted({run.folder for run in self.runs})

    def changed_per_layer(self):
        """(epochs, runs, layers) flipped (neg/size) or pruned (zero/size) fraction per layer."""
        if self.per_layer is None:
            return None
        counts = self.per_layer[..., 0] if self.is_flip else self.per_layer[..., 1]
        return counts / np.asarray(self.layer_sizes, dtype=float)

    def remaining_per_layer(self):
        """(epochs, runs, layers) fraction of nonzero mask values per layer."""
        if self.per_layer is None:
            return None
        return 1.0 - self.per_layer[..., 1] / np.asarray(self.layer_sizes, dtype=float)


def merge_runs(runs):
    """Merges RunRecords of one configuration into a Configuration."""
    runs = sorted(runs, key=lambda run: (sort_value(run.seed), run.run_id))
    if not runs:
        raise ValueError("merge_runs needs at least one run")
    lengths = [run.length for run in runs]
    epochs = min(lengths)
    notes = []
    key = runs[0].configuration
    if len(set(lengths)) > 1:
        shorter = ", ".join(f"{run.run_id} ({run.length} entries, {display_path(run.path)})"
                            for run in runs if run.length < max(lengths))
        label = " ".join(f"{k}={v}" for k, v in key if k in ("traintype", "nettype", "initializer", "p1"))
        notes.append(f"Runs of {label} differ in length (longest {max(lengths)} entries); using the "
                     f"{epochs} epochs common to all (0 to {epochs - 1}). Shorter: {shorter}.")
    arrays = {}
    for name in CURVE_COLUMNS:
        arrays[name] = np.stack([run.curves[name][:epochs] for run in runs], axis=1)
    arrays["remainingFraction"] = np.stack([run.remaining_fraction()[:epochs] for run in runs], axis=1)
    arrays["flippedFraction"] = np.stack([run.flipped_fraction()[:epochs] for run in runs], axis=1)
    arrays["changedFraction"] = np.stack([run.changed_fraction()[:epochs] for run in runs], axis=1)
    per_layer = None
    shapes = {None if run.per_layer is None else run.per_layer.shape[1:] for run in runs}
    if len(shapes) == 1 and None not in shapes:
        per_layer = np.stack([run.per_layer[:epochs] for run in runs], axis=1)
    return Configuration(key=key, runs=runs, epochs=epochs, arrays=arrays, per_layer=per_layer,
                         notes=notes)


def merge_table(runs):
    """The runs table (reporting.load_runs) merged into one row per configuration: its settings,
    `configuration` (the key), `runCount` and `merged` (the Configuration), in the runs table's order."""
    rows = []
    for key, group in runs.groupby("configuration", sort=False):
        configuration = merge_runs(group["record"].tolist())
        rows.append({**configuration.fields, "configuration": key, "runCount": len(configuration.runs),
                     "merged": configuration})
    settings = sorted({name for row in rows for name in row} - {"configuration", "runCount", "merged"})
    return pd.DataFrame(rows, columns=[*settings, "configuration", "runCount", "merged"])


def setting_columns(frame, leaving_out=()):
    """The columns of a configurations frame that hold settings, but those named."""
    return [name for name in frame.columns
            if name not in ("configuration", "runCount", "merged", *leaving_out)]


def configurations_of(frame):
    """The Configuration objects of a configurations frame (merge_table), in its order."""
    return frame["merged"].tolist()


def merged_arrays(configuration):
    """The arrays written to merged.npz (plain numeric or unicode arrays; no pickles needed)."""
    c = configuration
    out = {name: c.arrays[name] for name in CURVE_COLUMNS + FRACTION_KEYS}
    out["epochs"] = np.arange(c.epochs)
    out["seeds"] = np.array([-1 if run.seed is None else int(run.seed) for run in c.runs], dtype=np.int64)
    out["runIds"] = np.array([run.run_id for run in c.runs], dtype=str)
    out["totalWeights"] = np.array([run.total_weights for run in c.runs], dtype=np.int64)
    out["layerNames"] = np.array(c.layer_names, dtype=str)
    out["layerSizes"] = np.array(c.layer_sizes, dtype=np.int64)
    if c.per_layer is not None:
        out["remainingWeightsPerLayer"] = c.per_layer
    out["config"] = np.array(json.dumps({k: v for k, v in c.key}, sort_keys=True, default=str))
    return out


def _name_part(text):
    return re.sub(r"[^A-Za-z0-9.+-]+", "-", str(text)).strip("-")


def folder_outputs(configurations):
    """(configuration, folder, stem) for every folder holding runs of each configuration.

    The stem is 'merged' when the folder holds one configuration; when it holds several (say two
    batch sizes), it is 'merged_' plus the fields in which they differ, so no file is overwritten.
    """
    by_folder = {}
    for configuration in configurations:
        for folder in configuration.folders:
            by_folder.setdefault(folder, []).append(configuration)
    outputs = []
    for folder in sorted(by_folder):
        residents = by_folder[folder]
        if len(residents) == 1:
            outputs.append((residents[0], folder, paths.MERGED_STEM))
            continue
        names = sorted({k for c in residents for k, _ in c.key}, key=sort_value)
        varying = varying_settings([c.fields for c in residents], names)
        for configuration in residents:
            suffix = "_".join(f"{_name_part(k)}-{_name_part(configuration.fields.get(k))}" for k in varying)
            outputs.append((configuration, folder, f"{paths.MERGED_STEM}_{suffix}"))
    return outputs


def write_merged(configuration, path):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    write_npz(path, merged_arrays(configuration))
    return path
