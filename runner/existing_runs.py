"""Runs already on disk: which planned run of a sweep finished, can be resumed, or must start afresh.

Two runs are the same when their RunConfig identities match (config/run_config.py), the seed actually
used included. Settings missing from older logs take their defaults. A `running` run with a checkpoint is one
that was killed, and is resumed, unless another live process holds its claim (results/claims.py): then it is
being trained, and left to that process.
"""

import dataclasses
import json
import os
import shutil

from config import ConfigError, RunConfig
from results import paths


@dataclasses.dataclass(frozen=True)
class ExistingRun:
    logs_path: str
    status: str
    completed_epochs: int
    has_checkpoint: bool
    failure_reason: str = None


@dataclasses.dataclass(frozen=True)
class Action:
    kind: str  # "run", "resume", "skip" (finished already) or "busy" (another process is training it)
    logs_path: str = None  # the finished run (skip) or the run to continue (resume)
    note: str = ""

    @property
    def executes(self):
        """Whether the sweep runs it (starts or resumes it)."""
        return self.kind in ("run", "resume")


def stored_key(logs):
    """The identity key of a run's logs, or None when they do not describe a run RunConfig can read."""
    stored = logs.get("config")
    if not isinstance(stored, dict) or not isinstance(logs.get("seed"), int):
        return None
    try:
        return RunConfig.from_settings(stored, strict=False).replace(seed=logs["seed"]).identity_key()
    except (ConfigError, KeyError, TypeError, ValueError):
        return None


def scan(outputpath):
    """{identity key: [ExistingRun, ...]} for every readable logs file under outputpath."""
    found = {}
    for path in paths.find_logs_files(outputpath):
        try:
            with open(path, encoding="utf-8") as handle:
                logs = json.load(handle)
            key = stored_key(logs) if isinstance(logs, dict) else None
            epochs = len(logs.get("testLoss") or []) - 1 if key else 0
        except (OSError, ValueError, TypeError):
            continue  # e.g. the empty file of a run that died right after claiming its ID
        if key is not None:
            found.setdefault(key, []).append(ExistingRun(
                path, logs.get("status"), max(epochs, 0), paths.has_checkpoint(path), logs.get("failureReason")))
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


def stale_attempts(previous):
    """The earlier attempts that stopped before their first checkpoint (killed, or interrupted in their first
    epoch): nothing of theirs can be resumed, and their logs would count as runs left running in every report."""
    return [run for run in previous if run.status in ("interrupted", "running") and not run.has_checkpoint]


def remove_attempt(logs_path):
    """Every file of the attempt whose logs are at logs_path (its logs, initial weights, TensorBoard folder)."""
    folder, run_id = paths.split_logs_path(logs_path)
    for name in os.listdir(folder):
        if name.startswith(f"{run_id}_"):
            path = os.path.join(folder, name)
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)


def find_latest(outputpath, config):
    """The logs path of the newest run matching config (its seed included), or None."""
    runs = scan(outputpath).get(config.identity_key(), [])
    return max((run.logs_path for run in runs), key=os.path.getmtime, default=None)


def status_of(logs_path):
    """(status, failure reason) of a run's logs file; (None, None) when it cannot be read."""
    if not logs_path:
        return None, None
    try:
        with open(logs_path, encoding="utf-8") as handle:
            logs = json.load(handle)
        return logs.get("status"), logs.get("failureReason")
    except (OSError, ValueError, AttributeError):
        return None, None
