"""Walk result folders into one pandas DataFrame of runs: `load_runs("Outputs")`.

One row per run: its configuration (the settings of the run's identity, see config/run_config.py;
`dataset` is the data set the run actually loaded), seed, status, run ID and path, number of logged
epochs, final and peak test accuracy, final changed fraction (pruned, or flipped for masktype flip),
the costs (weights kept, compression, FLOPs, speed-up, training steps and seconds: reporting/costs.py),
and the per-epoch curves in the `curves` column (a dict of numpy arrays) and the `record` column (a
RunRecord, with the per-layer counts). Only `{runid}_logs.json` files are read; pickles never are.
"""

import json
import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from config import ConfigError, RunConfig
from masking.declarations import flips
from reporting.costs import COST_COLUMNS, run_costs
from reporting.frames import sort_value
from results import paths

CURVE_COLUMNS = ("trainLoss", "valLoss", "testLoss", "trainAccuracy", "valAccuracy", "testAccuracy",
                 "remainingWeights", "epochSeconds")
RESULT_COLUMNS = ("runId", "status", "seed", "epochs", "finalTestAccuracy", "peakTestAccuracy", "changedFraction",
                  *COST_COLUMNS, "path", "folder", "configuration", "curves", "record")


def display_path(path):
    """A path relative to the working directory when it lies below it, else absolute."""
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute)
    return absolute if relative.startswith("..") else relative


@dataclass
class RunRecord:
    """One run: where it is, its configuration, and its per-epoch curves."""

    path: str
    run_id: str
    status: str
    seed: object
    settings: dict  # the run's identity without the seed, `dataset` being the data set actually used
    curves: dict
    total_weights: int
    layer_names: list
    layer_sizes: list
    per_layer: object = None  # array (epochs, layers, 6) of mask/effective-weight counts, or None
    failure_reason: str = None
    rounds: list = field(default_factory=list)  # IMP: the logs' per-round summaries
    costs: dict = field(default_factory=dict)  # reporting/costs.py's COST_COLUMNS
    fields: dict = field(default_factory=dict)

    def __post_init__(self):
        self.fields = {**self.settings, "seed": self.seed}

    @property
    def folder(self):
        return os.path.dirname(self.path)

    @property
    def length(self):
        return len(self.curves["testAccuracy"])

    @property
    def configuration(self):
        """The configuration key: every identity setting but the seed, as sorted (name, value) pairs."""
        return tuple(sorted((k, v) for k, v in self.fields.items() if k != "seed"))

    def get(self, name, default=None):
        return self.fields.get(name, default)

    @property
    def is_flip(self):
        return flips(self.fields.get("masktype"))

    def remaining_fraction(self):
        return self.curves["remainingWeights"] / self.total_weights

    def flipped_fraction(self):
        """Negative mask values over all weights, per epoch (NaN without per-layer counts)."""
        if self.per_layer is None:
            return np.full(self.length, np.nan)
        return self.per_layer[:, :, 0].sum(axis=1) / self.total_weights

    def changed_fraction(self):
        """Flipped fraction for masktype 'flip', else pruned fraction 1 - remaining / total."""
        return self.flipped_fraction() if self.is_flip else 1.0 - self.remaining_fraction()


class RunLogError(ValueError):
    """A logs file that is not a usable run log."""


def _curve(logs, key, length):
    values = logs.get(key)
    if not isinstance(values, list):
        return np.full(length, np.nan)
    array = np.array([np.nan if v is None else v for v in values], dtype=float)
    if array.ndim != 1:
        raise RunLogError(f"'{key}' is not a list of numbers")
    return array


def run_settings(logs):
    """The identity settings of a run's logs without the seed, with the data set actually used."""
    try:
        settings = RunConfig.from_settings(logs["config"], strict=False).identity()
    except (ConfigError, TypeError, ValueError) as error:
        raise RunLogError(f"its settings are not those of a run ({error})") from None
    settings.pop("seed")
    dataset = logs.get("dataset")
    dataset = dataset.get("name") if isinstance(dataset, dict) else dataset
    settings["dataset"] = str(dataset or settings["dataset"])
    return settings


def parse_run(path, logs):
    """Builds a RunRecord from a parsed logs object, or raises RunLogError saying what is wrong."""
    if not isinstance(logs, dict):
        raise RunLogError("not a JSON object")
    for key in ("config", "testAccuracy", "remainingWeights"):
        if key not in logs:
            raise RunLogError(f"missing '{key}'")
    if not isinstance(logs["config"], dict):
        raise RunLogError("'config' is not an object")
    if not isinstance(logs["testAccuracy"], list) or not logs["testAccuracy"]:
        raise RunLogError("'testAccuracy' is empty")
    curves = {key: _curve(logs, key, len(logs["testAccuracy"])) for key in CURVE_COLUMNS}
    length = min(len(curves["testAccuracy"]), len(curves["remainingWeights"]))
    if length == 0:
        raise RunLogError("'remainingWeights' is empty")
    per_layer = logs.get("remainingWeightsPerLayer")
    if per_layer is not None:
        per_layer = np.array(per_layer, dtype=float)
        if per_layer.ndim != 3 or per_layer.shape[2] != 6 or per_layer.shape[0] == 0:
            per_layer = None
        else:
            length = min(length, per_layer.shape[0])
            per_layer = per_layer[:length]
    # Trim every curve to the run's own length (NaN-pad curves that are shorter or absent).
    for key, values in curves.items():
        padded = np.full(length, np.nan)
        padded[: min(length, len(values))] = values[:length]
        curves[key] = padded
    layer_sizes = logs.get("layerSizes")
    if not layer_sizes and per_layer is not None:
        layer_sizes = [int(v) for v in per_layer[0, :, :3].sum(axis=1)]
    total = logs.get("totalWeights") or (sum(layer_sizes) if layer_sizes else None)
    if not total:
        raise RunLogError("missing 'totalWeights'")
    layer_names = logs.get("layerNames") or [f"layer{i}" for i in range(len(layer_sizes or []))]
    if per_layer is not None and (not layer_sizes or len(layer_sizes) != per_layer.shape[1]):
        per_layer = None
    run_id = str(logs.get("runId") or paths.split_logs_path(path)[1])
    status, settings = str(logs.get("status", "finished")), run_settings(logs)
    layer_names, layer_sizes = [str(n) for n in layer_names], list(layer_sizes or [])
    costs = run_costs(logs, settings, status, layer_names, layer_sizes, int(total), curves["remainingWeights"],
                      per_layer)
    return RunRecord(path=path, run_id=run_id, status=status, seed=logs.get("seed", logs["config"].get("seed")),
                     settings=settings, curves=curves, total_weights=int(total), layer_names=layer_names,
                     layer_sizes=layer_sizes, per_layer=per_layer,
                     failure_reason=logs.get("failureReason") if logs.get("status") == "failed" else None,
                     rounds=logs.get("rounds") if isinstance(logs.get("rounds"), list) else [], costs=costs)


def read_run(path):
    """(RunRecord or None, note or None, reason left out or None) for one logs file."""
    shown = display_path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        if not text.strip():
            # MaskTrainer reserves a run ID by creating its empty logs file first.
            return None, f"Left out {shown}: empty logs file (a run that is just starting).", "running"
        logs = json.loads(text)
        if isinstance(logs, dict) and logs.get("status") == "running" and logs.get("testAccuracy") == []:
            return None, f"Left out {shown}: a run that is just starting (no epoch recorded yet).", "running"
        if isinstance(logs, dict) and logs.get("status") == "failed" and logs.get("testAccuracy") == []:
            # E.g. a mask that leaves no path from the input to the output, refused before epoch 0.
            return None, f"Left out {shown}: it failed before its first epoch: {logs.get('failureReason')}", "failed"
        return parse_run(path, logs), None, None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, f"Skipped {shown}: cannot parse it ({type(error).__name__}: {error}).", "unreadable"
    except (RunLogError, TypeError, ValueError) as error:
        return None, f"Skipped {shown}: not a usable run log ({error}).", "unreadable"


def run_row(run):
    accuracy = run.curves["testAccuracy"]
    changed = run.changed_fraction()
    return {**run.settings, "runId": run.run_id, "status": run.status, "seed": run.seed, "epochs": run.length - 1,
            "finalTestAccuracy": float(accuracy[-1]),
            "peakTestAccuracy": float(np.nanmax(accuracy)) if np.isfinite(accuracy).any() else float("nan"),
            "changedFraction": float(changed[-1]), **run.costs, "path": run.path, "folder": run.folder,
            "configuration": run.configuration, "curves": run.curves, "record": run}


def newest_first(run):
    try:
        modified = os.path.getmtime(run.path)
    except OSError:
        modified = 0.0
    return (run.status != "finished", -modified, run.run_id)


def count_once(records):
    """(the records with one per identity and seed, [(kept path, [paths left out]), ...]): the same run trained
    twice (two sweeps, a sweep and a hand-started run, a copied folder) counts once: the finished one, the newest
    (by its logs file) if several."""
    groups = {}
    for run in records:
        groups.setdefault((run.configuration, repr(run.seed)), []).append(run)
    kept, duplicates = [], []
    for group in groups.values():
        group.sort(key=newest_first)
        kept.append(group[0])
        if len(group) > 1:
            duplicates.append((group[0].path, [run.path for run in group[1:]]))
    return kept, duplicates


def duplicates_note(duplicates):
    left_out = [display_path(path) for _, paths_left_out in duplicates for path in paths_left_out]
    return (f"Counted once: {len(left_out)} run(s) repeat the settings and seed of another run, which is counted "
            f"instead (the finished, newest one; load_runs(...).attrs['duplicates'] pairs them): "
            f"{', '.join(left_out)}.")


def load_runs(*roots, include_unfinished=False, keep_duplicates=False):
    """A DataFrame with one row per run under the given folders (or logs files), finished runs only unless
    include_unfinished. `frame.attrs["notes"]` says what was left out and why, one line each, and
    `frame.attrs["left_out"]` counts them by reason. A run found twice (same settings and seed) counts once unless
    keep_duplicates; `frame.attrs["duplicates"]` lists them as (path kept, [paths left out]) pairs."""
    roots = [root for group in roots for root in ([group] if isinstance(group, (str, os.PathLike)) else group)]
    records, notes, left_out, seen = [], [], {}, set()
    for root in roots:
        for path in paths.find_logs_files(os.fspath(root)):
            real = os.path.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            run, note, reason = read_run(path)
            if run is not None and run.status != "finished" and not include_unfinished:
                failure = run.failure_reason
                note = (f"Left out run {run.run_id} ({display_path(path)}): status '{run.status}'"
                        f"{f': {failure}' if failure else ''}.")
                run, reason = None, run.status
            if run is None:
                notes.append(note)
                left_out[reason] = left_out.get(reason, 0) + 1
                continue
            records.append(run)
    duplicates = []
    if not keep_duplicates:
        records, duplicates = count_once(records)
    if duplicates:
        notes.append(duplicates_note(duplicates))
        left_out["duplicate"] = sum(len(paths_left_out) for _, paths_left_out in duplicates)
    records.sort(key=lambda run: (str(run.configuration), sort_value(run.seed), run.run_id))
    settings = sorted({name for run in records for name in run.settings})
    frame = pd.DataFrame([run_row(run) for run in records], columns=[*settings, *RESULT_COLUMNS])
    frame.attrs.update(notes=notes, left_out=left_out, duplicates=duplicates)
    return frame
