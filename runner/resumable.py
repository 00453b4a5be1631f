"""Finding a run's logs file and reading what resuming it needs."""

import json
import os

from config import ConfigError, RunConfig
from results import paths


class ResumeError(RuntimeError):
    """The run to resume cannot be found or continued; one sentence."""


def find_logs(target, outputpath):
    """A run's logs file from its path or from its run ID under outputpath."""
    if os.path.isfile(target):
        return target
    if paths.is_run_id(target):
        matches = paths.find_run(target, outputpath)
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise ResumeError(f"Run ID {target} appears {len(matches)} times under {outputpath}; "
                              "pass the path of its _logs.json file to --resume.")
    raise ResumeError(f"No run {target} found (looked for a _logs.json file, or a run ID under {outputpath}); "
                      "pass the path of the run's _logs.json file to --resume.")


def stored_settings(target, outputpath):
    """The settings stored in the logs of a run (its _logs.json file, or its run ID under outputpath); ResumeError
    (one sentence) when there is no such run or its logs cannot be read."""
    path = find_logs(target, outputpath)
    try:
        with open(path, encoding="utf-8") as handle:
            settings = json.load(handle)["config"]
        if isinstance(settings, dict):
            return settings
    except (OSError, ValueError, KeyError, TypeError):
        pass
    raise ResumeError(f"{path} is not a readable run log; pass the _logs.json file of a run.")


def read_resumable(path, data_dir=None, device=None):
    """(logs, config to resume it with) of a run's logs file; config None when the run finished already."""
    try:
        with open(path, encoding="utf-8") as handle:
            logs = json.load(handle)
        run_id, status, stored = logs["runId"], logs["status"], logs["config"]
    except (OSError, ValueError, KeyError, TypeError):
        raise ResumeError(f"{path} is not a readable run log; pass the _logs.json file of a run.") from None
    if status == "finished":
        return logs, None
    if status == "failed":
        raise ResumeError(f"Run {run_id} failed ({logs.get('failureReason')}); start a new run instead.")
    try:
        config = RunConfig.from_settings(stored, strict=False)
    except (ConfigError, TypeError):
        raise ResumeError(f"{path} holds settings this version cannot run; start a new run instead.") from None
    # The outputs stay where they are, even if the folder was moved since the run started.
    return logs, config.replace(outputpath=paths.output_root(path), data_dir=data_dir or config.data_dir,
                                device=device or config.device)
