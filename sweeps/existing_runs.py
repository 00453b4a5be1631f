"""Runs already on disk: which planned run of a sweep finished, can be resumed, or must start afresh.

Two runs are the same when every RunConfig setting that defines the run matches (all but the folder,
--nruns and --data-dir) and so does the seed actually used. Settings missing from older logs take
RunConfig's defaults. The sweep assumes nothing else is writing under the output path while it runs:
a `running` run with a checkpoint is taken for one that was killed, and resumed.
"""

import dataclasses
import glob
import json
import os

from config import RunConfig

IGNORED_FIELDS = ("outputpath", "nruns", "data_dir", "xla")
FIELD_NAMES = tuple(field.name for field in dataclasses.fields(RunConfig))


@dataclasses.dataclass(frozen=True)
class ExistingRun:
    logs_path: str
    status: str
    completed_epochs: int
    has_checkpoint: bool
    failure_reason: str = None


@dataclasses.dataclass(frozen=True)
class Action:
    kind: str  # "run", "skip" or "resume"
    logs_path: str = None  # the finished run (skip) or the run to continue (resume)
    note: str = ""


def run_key(config):
    """What makes two runs the same, from a RunConfig (its seed included)."""
    settings = config.to_dict()
    return tuple((name, settings[name]) for name in FIELD_NAMES if name not in IGNORED_FIELDS)


def stored_key(logs):
    """run_key of a run's logs, or None when they do not describe a run this RunConfig can read."""
    stored = logs.get("config")
    if not isinstance(stored, dict) or not isinstance(logs.get("seed"), int):
        return None
    try:
        config = RunConfig(**{name: value for name, value in stored.items() if name in FIELD_NAMES})
        return run_key(dataclasses.replace(config, seed=logs["seed"]))
    except (KeyError, TypeError, ValueError):
        return None


def has_checkpoint(logs_path):
    stem = logs_path[: -len("_logs.json")]
    return any(os.path.isfile(stem + suffix) for suffix in ("_checkpoint.npz", "_checkpoint.previous.npz"))


def scan(outputpath):
    """{run_key: [ExistingRun, ...]} for every readable *_logs.json under outputpath."""
    found = {}
    for path in sorted(glob.glob(os.path.join(glob.escape(outputpath), "**", "*_logs.json"), recursive=True)):
        try:
            with open(path, encoding="utf-8") as handle:
                logs = json.load(handle)
            key = stored_key(logs) if isinstance(logs, dict) else None
            epochs = len(logs.get("testLoss") or []) - 1 if key else 0
        except (OSError, ValueError, TypeError):
            continue  # e.g. the empty file of a run that died right after claiming its ID
        if key is not None:
            found.setdefault(key, []).append(ExistingRun(
                path, logs.get("status"), max(epochs, 0), has_checkpoint(path), logs.get("failureReason")))
    return found


def decide(previous):
    """What to do with a planned run, given its earlier attempts (ExistingRun list, possibly empty)."""
    finished = [run for run in previous if run.status == "finished"]
    if finished:
        return Action("skip", finished[0].logs_path, "finished already")
    resumable = [run for run in previous if run.status in ("interrupted", "running") and run.has_checkpoint]
    if resumable:
        best = max(resumable, key=lambda run: (run.completed_epochs, os.path.getmtime(run.logs_path)))
        return Action("resume", best.logs_path, f"{best.status} after epoch {best.completed_epochs}")
    if any(run.status == "failed" for run in previous):
        reason = next(run.failure_reason for run in previous if run.status == "failed")
        return Action("run", note=f"an earlier attempt failed: {reason}")
    if previous:
        return Action("run", note="an earlier attempt stopped before its first checkpoint")
    return Action("run")


def find_latest(outputpath, config):
    """The logs path of the newest run matching config (its seed included), or None."""
    runs = scan(outputpath).get(run_key(config), [])
    return max((run.logs_path for run in runs), key=os.path.getmtime, default=None)
