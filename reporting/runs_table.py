"""Walk result folders into one table of runs (configuration, seed, data set, per-epoch curves).

Only ``{runid}_logs.json`` files are read (see docs/OUTPUTS.md); pickles never are. A run whose log
cannot be parsed, lacks the curves, or has not finished is left out with a one-line note.
"""

import json
import os
from dataclasses import dataclass, field

import numpy as np

from reporting.table import Table

LOG_SUFFIX = "_logs.json"
CURVE_KEYS = ("trainLoss", "valLoss", "testLoss", "trainAccuracy", "valAccuracy", "testAccuracy",
              "remainingWeights", "epochSeconds")
# Config fields that say where or how a run was started rather than what was trained: the seed,
# where results go, how many seeds one command ran, where the data files were read from.
NOT_CONFIGURATION = frozenset({"seed", "outputpath", "nruns", "data_dir", "datadir", "resume", "runid", "runId",
                               "run_id", "verbose", "quiet", "xla"})


def display_path(path):
    """A path relative to the working directory when it lies below it, else absolute."""
    absolute = os.path.abspath(path)
    relative = os.path.relpath(absolute)
    return absolute if relative.startswith("..") else relative


def freeze(value):
    """A hashable copy of a JSON value (lists become tuples, objects sorted tuples of pairs)."""
    if isinstance(value, dict):
        return tuple(sorted((str(k), freeze(v)) for k, v in value.items()))
    if isinstance(value, list):
        return tuple(freeze(v) for v in value)
    return value


@dataclass
class RunRecord:
    """One finished run: where it is, its configuration, and its per-epoch curves."""

    path: str
    run_id: str
    status: str
    seed: object
    config: dict
    dataset: str
    curves: dict
    total_weights: int
    layer_names: list
    layer_sizes: list
    per_layer: object = None  # array (epochs, layers, 6) of mask/effective-weight counts, or None
    fields: dict = field(default_factory=dict)

    def __post_init__(self):
        self.fields = {key: freeze(value) for key, value in self.config.items()}
        self.fields["dataset"] = self.dataset
        self.fields["seed"] = self.seed

    @property
    def folder(self):
        return os.path.dirname(self.path)

    @property
    def length(self):
        return len(self.curves["testAccuracy"])

    @property
    def configuration(self):
        """The configuration key: every config field but the seed and where it was written."""
        return tuple(sorted((k, v) for k, v in self.fields.items() if k not in NOT_CONFIGURATION))

    def get(self, name, default=None):
        special = {"runId": self.run_id, "status": self.status, "path": self.path,
                   "folder": self.folder, "length": self.length, "configuration": self.configuration}
        if name in special:
            return special[name]
        return self.fields.get(name, default)

    # Derived per-epoch fractions ------------------------------------------------------------
    @property
    def is_flip(self):
        return self.fields.get("masktype") == "flip"

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


def parse_run(path, logs):
    """Builds a RunRecord from a parsed logs object, or raises RunLogError saying what is wrong."""
    if not isinstance(logs, dict):
        raise RunLogError("not a JSON object")
    for key in ("config", "testAccuracy", "remainingWeights"):
        if key not in logs:
            raise RunLogError(f"missing '{key}'")
    config = logs["config"]
    if not isinstance(config, dict):
        raise RunLogError("'config' is not an object")
    if not isinstance(logs["testAccuracy"], list) or not logs["testAccuracy"]:
        raise RunLogError("'testAccuracy' is empty")
    curves = {key: _curve(logs, key, len(logs["testAccuracy"])) for key in CURVE_KEYS}
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
    dataset = logs.get("dataset")
    dataset = dataset.get("name") if isinstance(dataset, dict) else dataset
    dataset = dataset or config.get("dataset") or "unknown"
    if isinstance(dataset, dict):
        dataset = dataset.get("name", "unknown")
    run_id = str(logs.get("runId") or os.path.basename(path)[: -len(LOG_SUFFIX)])
    seed = logs.get("seed", config.get("seed"))
    return RunRecord(path=path, run_id=run_id, status=str(logs.get("status", "finished")), seed=seed,
                     config=config, dataset=str(dataset), curves=curves, total_weights=int(total),
                     layer_names=[str(n) for n in layer_names], layer_sizes=list(layer_sizes or []),
                     per_layer=per_layer)


def find_log_files(root):
    """Every ``*_logs.json`` below root (or root itself), skipping hidden and temporary files."""
    if os.path.isfile(root):
        return [root] if os.path.basename(root).endswith(LOG_SUFFIX) else []
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
        for name in sorted(files):
            if name.endswith(LOG_SUFFIX) and not name.startswith("."):
                found.append(os.path.join(folder, name))
    return found


@dataclass
class LoadResult:
    runs: Table
    notes: list  # one line per run or file left out
    left_out: dict  # reason -> count


def load_runs(roots):
    """Reads every run log under the given folders into a Table of finished runs."""
    records, notes, left_out, seen = [], [], {}, set()
    for root in roots:
        for path in find_log_files(root):
            real = os.path.realpath(path)
            if real in seen:
                continue
            seen.add(real)
            shown = display_path(path)
            try:
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
                if not text.strip():
                    # MaskTrainer reserves a run ID by creating its empty logs file first.
                    notes.append(f"Left out {shown}: empty logs file (a run that is just starting).")
                    left_out["running"] = left_out.get("running", 0) + 1
                    continue
                logs = json.loads(text)
                run = parse_run(path, logs)
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
                notes.append(f"Skipped {shown}: cannot parse it ({type(error).__name__}: {error}).")
                left_out["unreadable"] = left_out.get("unreadable", 0) + 1
                continue
            except (RunLogError, TypeError, ValueError) as error:
                notes.append(f"Skipped {shown}: not a usable run log ({error}).")
                left_out["unreadable"] = left_out.get("unreadable", 0) + 1
                continue
            if run.status != "finished":
                reason = logs.get("failureReason") if run.status == "failed" else None
                detail = f": {reason}" if reason else ""
                notes.append(f"Left out run {run.run_id} ({shown}): status '{run.status}'{detail}.")
                left_out[run.status] = left_out.get(run.status, 0) + 1
                continue
            records.append(run)
    table = Table(records).sort_by("configuration", "seed", "runId")
    return LoadResult(runs=table, notes=notes, left_out=left_out)
