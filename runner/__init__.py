"""From a validated RunConfig to finished runs (one Experiment per seed), and resuming a run."""

from runner.resumable import ResumeError, find_logs
from runner.runs import continue_configs, continue_runs, resume_run, run_all

__all__ = ["ResumeError", "continue_configs", "continue_runs", "find_logs", "resume_run", "run_all"]
