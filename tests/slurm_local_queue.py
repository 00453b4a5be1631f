"""SlurmQueue's interface on submitit's LocalExecutor, for the tests that run without Slurm: each task is a local
process (a controller and the task) that submitit's own machinery runs, requeues and logs as on a cluster."""

import os
import signal

import submitit
from submitit.core.utils import JobPaths


class LocalQueue:
    def __init__(self, folder):
        self.folder = os.path.abspath(folder)
        self.jobs = {}  # (job name, index) -> submitit LocalJob

    def submit(self, tasks, job_name):
        executor = submitit.LocalExecutor(self.folder)  # one folder: with %j, its controller may not find its own
        executor.update_parameters(timeout_min=10, stderr_to_stdout=True)
        jobs = [executor.submit(task) for task in tasks]
        self.jobs.update({(job_name, index): job for index, job in enumerate(jobs)})
        return [job.job_id for job in jobs]

    def queued(self):
        return {key: (job.job_id, "RUNNING") for key, job in self.jobs.items() if not job.done()}

    def log_path(self, task_id):
        return str(JobPaths(self.folder, job_id=task_id).stdout)

    def cancel(self, task_ids, signal_name=None, pending_only=False):
        """As scancel: SIGTERM (the controller passes it on to the task), or the signal named."""
        for job in self.jobs.values():
            if job.job_id in task_ids and not job.done() and not pending_only:
                job._process.send_signal(getattr(signal, f"SIG{signal_name or 'TERM'}"))

    def wait(self, timeout=60):
        for job in self.jobs.values():
            job._process.wait(timeout)
