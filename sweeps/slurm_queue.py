"""Slurm as the sweep uses it: tasks submitted as one job array through submitit, which of them are still in
Slurm (squeue), and cancelling them (scancel). Every failure to reach Slurm is an ExecutorError in one sentence.

Slurm's commands find their cluster through a configuration: SLURM_CONF, else slurm.conf at the path compiled into
Slurm (/etc/slurm/slurm.conf in Debian's slurm-wlm and most packages; /etc/slurm-llnl/ in old Debian releases), else
the copy a configless slurmd keeps (/run/slurm/conf/slurm.conf), else a controller announced by a DNS SRV record
(configless Slurm). Slurm installed but not configured ends in raw errors about that DNS lookup, and a SLURM_CONF
that names no file makes every command retry for 60 s: both become one sentence here, before anything is written.
"""

import contextlib
import io
import os
import pwd
import re
import shlex
import shutil
import subprocess

from sweeps.execution import TRAINER, ExecutorError

REPOSITORY = os.path.dirname(TRAINER)
COMMAND_TIMEOUT_S = 60
SIGNAL_BEFORE_TIME_LIMIT_S = 90  # submitit's SIGUSR2 this long before the time limit: the run saves, the task requeues
REQUEUES_AFTER_TIME_LIMIT = 20  # submitit's countdown of time limits reached; preemptions do not count
NO_SLURM = ("--executor slurm needs Slurm's {command}, which is not on PATH here; run Sweep.py on the cluster's "
            "login node (or a machine with Slurm's client commands), or use --executor local "
            "(scripts/local_slurm.sh start makes a single-node Slurm on this machine).")
POINT_AT_CONFIGURATION = ("point the sweep at the cluster's configuration with export SLURM_CONF=/path/to/slurm.conf, "
                          "or run Sweep.py on the cluster's login node (scripts/local_slurm.sh start makes a "
                          "single-node Slurm on this machine)")
NOT_CONFIGURED = ("Slurm is installed here but has no configuration: SLURM_CONF is not set, there is no slurm.conf at "
                  "Slurm's default path (/etc/slurm/slurm.conf on Debian), and no controller answered the DNS lookup "
                  f"of configless Slurm; {POINT_AT_CONFIGURATION}.")
NO_CONFIGURATION_SOURCE = "Could not establish a configuration source"  # Slurm's words (20.02 and later)


def configuration_problem(environ):
    """One sentence when SLURM_CONF is set but names no file (Slurm would retry it for 60 s), else None."""
    path = environ.get("SLURM_CONF")
    if path is None or os.path.isfile(path):
        return None
    return f"SLURM_CONF is set to {path!r}, which is not a file; {POINT_AT_CONFIGURATION}."


def slurm_reason(text):
    """Slurm's own words from a command's error output, on one line ('sbatch: error: ' and the like removed)."""
    reasons = []
    for line in str(text).splitlines():
        line = re.sub(r"^(\w+: )?(error|fatal): ", "", line.strip())
        if line and line not in reasons:
            reasons.append(line)
    return "; ".join(reasons).rstrip(".") or "no reason given"


def run_slurm_command(command):
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S, check=False)
    except OSError as error:
        raise ExecutorError(NO_SLURM.format(command=command[0]) if isinstance(error, FileNotFoundError)
                           else f"Could not run {command[0]} ({error}).") from None
    except subprocess.TimeoutExpired:
        raise ExecutorError(f"Slurm did not answer `{shlex.join(command)}` within {COMMAND_TIMEOUT_S} s; "
                           "check that its controller is up (sinfo).") from None
    if result.returncode != 0:
        output = result.stderr or result.stdout
        raise ExecutorError(NOT_CONFIGURED if NO_CONFIGURATION_SOURCE in output
                           else f"`{command[0]}` failed: {slurm_reason(output)}.")
    return result.stdout


class SlurmQueue:
    """One grid's submissions: `folder` holds submitit's files and the tasks' logs, one folder per task."""

    def __init__(self, folder, partition=None, time_min=60, cpus_per_run=1, gpus_per_run=0, array_parallelism=None):
        for command in ("sbatch", "squeue", "scancel", "srun"):
            if shutil.which(command) is None:
                raise ExecutorError(NO_SLURM.format(command=command))
        problem = configuration_problem(os.environ)
        if problem:
            raise ExecutorError(problem)
        # Finds the configuration as every Slurm command does, without asking the controller: a Slurm without one
        # is reported here, before the sweep writes anything.
        run_slurm_command(["sbatch", "--version"])
        try:
            import submitit  # noqa: F401
        except ImportError:
            raise ExecutorError("--executor slurm submits through submitit, which is not installed; install it with: "
                               "pip install submitit (it comes with requirements.txt).") from None
        self.folder = os.path.abspath(folder)
        parameters = {"time": time_min, "cpus_per_task": cpus_per_run, "stderr_to_stdout": True,
                      "signal_delay_s": SIGNAL_BEFORE_TIME_LIMIT_S, "additional_parameters": {"requeue": True},
                      "setup": [f"export PYTHONPATH={shlex.quote(REPOSITORY)}${{PYTHONPATH:+:$PYTHONPATH}}"]}
        if partition:
            parameters["partition"] = partition
        if gpus_per_run:
            # Whole GPUs, one run per task: Slurm sets the task's CUDA_VISIBLE_DEVICES, and a run alone on its GPUs
            # keeps JAX's own memory defaults (sharing one GPU between runs is for the Ray and local executors).
            parameters["gpus_per_node"] = gpus_per_run
        if array_parallelism:
            parameters["array_parallelism"] = array_parallelism
        self.parameters = parameters

    def log_path(self, task_id):
        """The task's Slurm log (its output and errors), as submitit names it."""
        from submitit.core.utils import JobPaths
        return str(JobPaths(os.path.join(self.folder, "%j"), job_id=task_id).stdout)

    def submit(self, tasks, job_name):
        """Submits the callables `tasks` as one job array named job_name; their task ids, or ExecutorError with
        Slurm's reason (then nothing was submitted, and submitit's files for it are removed)."""
        import submitit
        from submitit.core.utils import FailedJobError
        executor = submitit.SlurmExecutor(os.path.join(self.folder, "%j"), max_num_timeout=REQUEUES_AFTER_TIME_LIMIT)
        executor.update_parameters(job_name=job_name, **self.parameters)
        os.makedirs(self.folder, exist_ok=True)
        before = set(os.listdir(self.folder))
        try:  # submitit also prints sbatch's complaint to stderr: it reaches the user once, in one sentence, below
            with contextlib.redirect_stderr(io.StringIO()), executor.batch():
                jobs = [executor.submit(task) for task in tasks]
        except FailedJobError as error:
            for name in set(os.listdir(self.folder)) - before:
                path = os.path.join(self.folder, name)
                if os.path.islink(path) or os.path.isfile(path):
                    os.remove(path)
            if NO_CONFIGURATION_SOURCE in str(error):
                raise ExecutorError(NOT_CONFIGURED) from None
            raise ExecutorError(f"Slurm refused the submission: {slurm_reason(error)}; nothing was submitted.") \
                from None
        return [job.job_id for job in jobs]

    def queued(self):
        """{(job name, index in its array): (task id, state)} of this user's tasks still in Slurm (pending,
        running, requeued, completing...); a job of one task is not an array, its index is 0."""
        user = pwd.getpwuid(os.getuid()).pw_name  # (squeue --me is newer than some clusters' Slurm)
        output = run_slurm_command(["squeue", f"--user={user}", "--array", "--noheader", "--format=%i|%K|%T|%j"])
        tasks = {}
        for line in output.splitlines():
            task_id, index, state, name = line.strip().split("|", 3)
            tasks[(name, int(index) if index.isdigit() else 0)] = (task_id, state)
        return tasks

    def cancel(self, task_ids, signal_name=None, pending_only=False):
        if task_ids:
            run_slurm_command(["scancel", *([f"--signal={signal_name}"] if signal_name else []),
                               *(["--state=PENDING"] if pending_only else []), *sorted(task_ids)])
