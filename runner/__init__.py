"""From a validated RunConfig to finished runs (one Experiment per seed), and resuming a run.

Finding and reading a run's logs (runner/resumable.py) imports no Keras, so that MaskTrainer.py and Export.py learn a
run's backend before choosing it; the rest is imported when first asked for.
"""

from runner.resumable import ResumeError, find_logs, read_resumable, stored_settings

_FROM_RUNS = ("continue_configs", "continue_runs", "resume_run", "run_all")

__all__ = ["ResumeError", "continue_configs", "continue_runs", "find_logs", "read_resumable", "resume_run", "run_all",
           "stored_settings"]


def __getattr__(name):
    if name in _FROM_RUNS:
        from runner import runs
        return getattr(runs, name)
    raise AttributeError(f"module 'runner' has no attribute '{name}'")
