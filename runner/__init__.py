"""From a validated RunConfig to finished runs (one Experiment per seed), and resuming a run."""

from runner.runs import ResumeError, continue_configs, continue_runs, find_logs, resume_run, run_all

__all__ = ["ResumeError", "continue_configs", "continue_runs", "find_logs", "resume_run", "run_all"]
