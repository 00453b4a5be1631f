"""From a validated RunConfig to finished runs (one Experiment per seed), and resuming a run."""

from runner.runs import ResumeError, find_logs, resume_run, run_all

__all__ = ["ResumeError", "find_logs", "resume_run", "run_all"]
