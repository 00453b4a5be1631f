"""Runs of the real trainer on tiny data, for the reporting tests, and what the tests read back from them.

`train_runs(root)` runs MaskTrainer in-process (about a second a run): the five connectivity methods,
a FreePruning p1 sweep, IMP with both resets and RandomPruning at two sparsities, two seeds each.
The reporting tests compare what reporting/ makes of these runs with values they compute here,
straight from the `_logs.json` files (json.load), without going through reporting/.
"""

import contextlib
import io
import json
import shutil
from pathlib import Path

import numpy as np

TINY = ["--nettype", "LeNet", "--dataset", "mnist-subset", "--limit", "60", "--batchsize", "20",
        "--maxepochs", "3", "--lr", "0.01", "--xla", "off", "--seed", "1", "--nruns", "2"]
CONNECTIVITY = ("Baseline", "FreePruning", "MinPruning", "FreeFlipping", "MinFlipping")
RECIPES = (
    *[["--traintype", method, "--initializer", "heconstant"] for method in CONNECTIVITY],
    *[["--traintype", "FreePruning", "--initializer", "heconstant", "--p1", p1] for p1 in ("0.3", "0.7")],
    *[["--traintype", "IMP", "--rounds", "1", "--reset", reset] for reset in ("original", "random")],
    *[["--traintype", "RandomPruning", "--initializer", "heconstant", "--sparsity", s] for s in ("0.5", "0.9")],
)
# Settings that do not make a run what it is (config/run_config.py's NOT_IDENTITY, and the seed).
NOT_IDENTITY = ("seed", "outputpath", "nruns", "data_dir", "xla", "tensorboard", "device", "pack", "recipe")
TIE = 1e-12


def train_runs(root):
    """Writes every recipe's runs under root with the real trainer; returns root as a Path."""
    import MaskTrainer
    for recipe in RECIPES:
        with contextlib.redirect_stdout(io.StringIO()):
            code = MaskTrainer.main([*TINY, *recipe, "--outputpath", str(root)])
        if code != 0:
            raise RuntimeError(f"MaskTrainer {' '.join(recipe)} ended with exit code {code}")
    return Path(root)


def read_logs(root, **wanted):
    """The parsed `_logs.json` files under root (each with its '_path'), by path; only those whose config has
    the wanted values (a list or tuple: any of them)."""
    found = []
    for path in sorted(Path(root).rglob("*_logs.json")):
        with open(path, encoding="utf-8") as handle:
            logs = json.load(handle)
        config = logs["config"]
        if all(config.get(k) in (v if isinstance(v, (list, tuple)) else [v]) for k, v in wanted.items()):
            found.append({**logs, "_path": str(path)})
    return found


def copy_runs(root, destination, **wanted):
    """Copies the logs files of the wanted runs under destination, keeping their folders; returns the copies."""
    copies = []
    for logs in read_logs(root, **wanted):
        target = Path(destination) / Path(logs["_path"]).relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(logs["_path"], target)
        copies.append(target)
    return copies


def write_edited_copy(logs, destination, run_id, epochs=None, config=None, **fields):
    """A copy of a real run's logs under destination's same-named folder, as run run_id, with its per-epoch
    lists cut to `epochs` entries, config values and top-level fields replaced; returns its path."""
    edited = {key: value for key, value in logs.items() if key != "_path"}
    if epochs is not None:
        edited = {key: value[:epochs] if isinstance(value, list) and len(value) == len(logs["testAccuracy"])
                  else value for key, value in edited.items()}
    edited.update(runId=run_id, **fields)
    edited["config"] = {**logs["config"], **(config or {})}
    edited["config"]["seed"] = edited["seed"]
    folder = Path(destination) / Path(logs["_path"]).parent.relative_to(Path(logs["config"]["outputpath"]))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_id}_logs.json"
    path.write_text(json.dumps(edited))
    return path


def identity(logs):
    """The run's settings without the seed, as reporting should see them (dataset: the one actually loaded)."""
    settings = {k: v for k, v in logs["config"].items() if k not in NOT_IDENTITY}
    settings["dataset"] = logs["dataset"]["name"]
    return settings


def configurations(root, **wanted):
    """{identity as sorted tuple: that configuration's logs by seed}."""
    grouped = {}
    for logs in read_logs(root, **wanted):
        grouped.setdefault(tuple(sorted(identity(logs).items())), []).append(logs)
    return {key: sorted(runs, key=lambda logs: logs["seed"]) for key, runs in grouped.items()}


def curve(runs, key):
    """(epochs, runs) array of one per-epoch list, over the epochs common to all runs."""
    epochs = min(len(logs[key]) for logs in runs)
    return np.array([logs[key][:epochs] for logs in runs], dtype=float).T


def changed_fraction(logs):
    """Per epoch: flipped (negative mask entries) over all weights for masktype flip, else pruned."""
    if logs["config"]["masktype"] == "flip":
        negatives = np.array(logs["remainingWeightsPerLayer"])[:, :, 0].sum(axis=1)
        return negatives / logs["totalWeights"]
    return 1 - np.array(logs["remainingWeights"], dtype=float) / logs["totalWeights"]


def expected_peak(runs):
    """The authors' rule, computed from the logs: the earliest epoch where the mean test accuracy over the runs
    is highest, and the mean, min and max there (accuracy, changed and remaining fraction)."""
    accuracy = curve(runs, "testAccuracy")
    mean = accuracy.mean(axis=1)
    epoch = int(np.flatnonzero(mean >= mean.max() - TIE)[0])
    changed = np.array([changed_fraction(logs)[epoch] for logs in runs])
    remaining = np.array([logs["remainingWeights"][epoch] / logs["totalWeights"] for logs in runs])
    return {"epoch": epoch, "mean": accuracy[epoch].mean(), "min": accuracy[epoch].min(),
            "max": accuracy[epoch].max(), "changed": changed.mean(), "changed_min": changed.min(),
            "changed_max": changed.max(), "remaining": remaining.mean(), "runs": len(runs)}
