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


# The flags that still do something beside --resume and --pack-file, whose runs keep the settings they stored: where
# the run is found, where its data is, and where it trains now (a backend other than its own is refused elsewhere).
KEPT_BESIDE = {"--resume": ("outputpath", "data_dir", "device", "backend"), "--pack-file": ("device", "backend")}


def refuse_ignored_flags(resume, pack_file, continue_, given):
    """ConfigError (one sentence) for a flag that --resume or --pack-file would ignore, or for two of --resume,
    --pack-file and --continue, which each say which runs to train; given: {name: value} of the settings given."""
    chosen = [flag for flag, present in (("--resume", resume), ("--pack-file", pack_file), ("--continue", continue_))
              if present]
    if len(chosen) > 1:
        raise ConfigError(f"{chosen[0]} and {chosen[1]} each say which runs to train; pass one of them.")
    if not chosen or chosen[0] == "--continue":
        return
    from config import setting_fields
    from methods.base import flag_of
    ignored = [name for name in given if name not in KEPT_BESIDE[chosen[0]]]
    if ignored:
        flag = flag_of(setting_fields()[ignored[0]])
        raise ConfigError(f"{flag} does nothing with {chosen[0]}, whose runs keep the settings they stored; leave it "
                          f"out (or leave {chosen[0]} out to start a run with other settings).")
