"""The Slurm executor of Sweep.py: the grid's pending runs as one Slurm job array submitted through submitit
(sweeps/slurm_queue.py), each task one `MaskTrainer.py --continue` process (sweeps/slurm_task.py), so that a
requeued task, or the next sweep, resumes its run.

The submission record (submitted.json in the Slurm folder, changed under a lock) names each run's task by its
job name and array index, written before sbatch runs: a later call, or one after a sweep killed mid-submission,
finds the runs still in Slurm and follows them instead of submitting them again, so a run never has two tasks
at once. Each task writes its own record (started, requeued, ended with the exit code and last lines), from
which the sweep prints the usual lines.
"""

import contextlib
import dataclasses
import fcntl
import hashlib
import json
import os
import signal
import time
import uuid

from sweeps.execution import BAD_INPUT_CODE, INTERRUPTED_CODES, Executor, ExecutorError, continue_command
from sweeps.slurm_queue import REPOSITORY
from sweeps.slurm_task import SlurmTask, read_record

POLL_S = 0.5
QUEUE_CHECK_S = 5  # how often squeue is asked; a task absent twice in a row (and without its end recorded) is gone
SETTLE_CHECK_S = 1  # how often, while a task stopped by Slurm has not left it yet (requeued, or gone)
REQUEUED_STATES = ("PENDING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD")


def run_key(config):
    """A run's key in the submission record: its identity and where it writes."""
    identity = repr((os.path.abspath(config.outputpath), config.identity_key()))
    return hashlib.sha256(identity.encode()).hexdigest()[:24]


def job_key(job):
    """A job's key in the submission record: its run's, or for a pack (one task) its runs' together."""
    if not job.members:
        return run_key(job.config)
    keys = " ".join(run_key(member.config) for member in job.members)
    return "pack-" + hashlib.sha256(keys.encode()).hexdigest()[:24]


class SubmissionRecord:
    """{run key: {"job_name", "index", "task_record", "label"}}: the runs submitted from one Slurm folder that may
    still be in Slurm. Read and changed only inside locked(), so two sweeps never submit the same run twice."""

    def __init__(self, folder):
        self.folder = folder
        self.path = os.path.join(folder, "submitted.json")
        self.runs = {}

    @contextlib.contextmanager
    def locked(self):
        os.makedirs(self.folder, exist_ok=True)
        with open(self.path + ".lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.runs = self.read()
            yield self

    def read(self):
        try:
            with open(self.path, encoding="utf-8") as handle:
                return json.load(handle)["runs"]
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError):
            raise ExecutorError(f"{self.path} is not a readable submission record; if no task of this grid is in "
                               "Slurm (squeue --me), delete it and run the same command again.") from None

    def save(self):
        temporary = os.path.join(self.folder, f".submitted.json.{os.getpid()}.tmp")
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump({"runs": self.runs}, handle, indent=1)
        os.replace(temporary, self.path)

    def in_slurm(self, queued):
        """{run key: task id} of the recorded runs whose tasks are in Slurm (`queued`: {(job name, index): (task
        id, state)}), but for a task completing after its run ended (it holds the run no more)."""
        tasks = {}
        for key, entry in self.runs.items():
            task_id, state = queued.get((entry["job_name"], entry["index"]), (None, None))
            ended = state == "COMPLETING" and (read_record(entry["task_record"]) or {}).get("state") == "ended"
            if task_id and not ended:
                tasks[key] = task_id
        return tasks


class SlurmExecutor(Executor):
    def __init__(self, on_start, on_end, folder, queue, wait=True, grid_name="sweep", run_command=continue_command,
                 print_line=print):
        super().__init__(on_start, on_end, print_line)
        self.folder, self.queue, self.wait, self.grid_name = os.path.abspath(folder), queue, wait, grid_name
        self.run_command = run_command  # a run's command line from its RunConfig
        self.record = SubmissionRecord(self.folder)
        self.detached = False  # --no-wait, or the terminal closed: the tasks go on in Slurm, not followed
        self.forwarded = 0
        self.started, self.requeued = set(), set()  # job numbers

    def command_of(self, job):
        return continue_command(job.config, job.pack_file) if job.pack_file else self.run_command(job.config)

    def in_slurm(self, jobs):
        """{job number: task id} of the jobs whose runs are queued or running in Slurm already (for --dry-run)."""
        self.record.runs = self.record.read()
        tasks = self.record.in_slurm(self.queue.queued())
        return {job.number: tasks[job_key(job)] for job in jobs if job_key(job) in tasks}

    def run(self, jobs):
        if not jobs:
            return
        with self.stop_signals():
            followed = self.submit(jobs)
            if not self.wait:
                self.detached = True
                self.print_line("Not waiting (--no-wait): run the same command again to see how they did; it follows "
                                "the runs still in Slurm and submits only the missing ones.")
                return
            self.follow(followed)

    def submit(self, jobs):
        """{task id: (job, entry)} to follow: the runs in Slurm already, and the others, submitted now."""
        with self.record.locked() as record:
            tasks = record.in_slurm(self.queue.queued())
            record.runs = {key: entry for key, entry in record.runs.items() if key in tasks}
            followed, missing = {}, []
            for job in jobs:
                key = job_key(job)
                if key in tasks:
                    followed[tasks[key]] = (job, record.runs[key])
                else:
                    missing.append(job)
            if followed:
                arrays = sorted({task_id.split("_")[0] for task_id in followed})
                self.print_line(f"{len(followed)} of them are queued or running in Slurm already (job "
                                f"{', '.join(arrays)}): not submitted again.")
            if missing and not self.stop_requests:
                followed.update(self.submit_missing(record, missing))
            record.save()
        return followed

    def submit_missing(self, record, jobs):
        job_name = f"{self.grid_name}-{uuid.uuid4().hex[:8]}"
        os.makedirs(os.path.join(self.folder, "tasks"), exist_ok=True)
        entries = {job_key(job): {"job_name": job_name, "index": index, "label": job.label,
                                         "task_record": os.path.join(self.folder, "tasks", f"{job_name}_{index}.json")}
                   for index, job in enumerate(jobs)}
        record.runs.update(entries)
        record.save()  # before sbatch: a sweep killed while submitting leaves no task the next call cannot find
        try:
            task_ids = self.queue.submit([SlurmTask(self.command_of(job), REPOSITORY, entry["task_record"])
                                          for job, entry in zip(jobs, entries.values())], job_name)
        except ExecutorError:
            for key in entries:
                del record.runs[key]
            record.save()
            raise
        array = task_ids[0].split("_")[0]
        runs = sum(len(job.members) or 1 for job in jobs)
        packs = f" in {len(jobs)} task(s)" if runs != len(jobs) else ""
        self.print_line(f"Submitted {runs} run(s){packs} to Slurm as job {array} (name {job_name}); their Slurm logs: "
                        f"{self.queue.log_path(task_ids[0])} and the like.")
        return {task_id: (job, entry) for task_id, job, entry in zip(task_ids, jobs, entries.values())}

    def follow(self, followed):
        pending, absences, requeues, settling, handled = dict(followed), {}, {}, set(), {}
        next_check = time.monotonic() + QUEUE_CHECK_S
        while pending and not self.detached:
            self.pass_on_stops(pending)
            for task_id, (job, entry) in list(pending.items()):
                record = read_record(entry["task_record"])
                if record is None or handled.get(task_id) == record["time"]:
                    continue
                self.start(job)
                self.announce_requeue(job, task_id, record, requeues)
                if record["state"] == "ended" and record["code"] in INTERRUPTED_CODES and not self.stop_requests:
                    settling.add(task_id)  # stopped by Slurm, which may requeue it (preemption)
                    handled[task_id] = record["time"]
                    next_check = min(next_check, time.monotonic() + SETTLE_CHECK_S)
                elif record["state"] == "ended":
                    del pending[task_id]
                    self.finish(job, task_id, record, pending)
            if pending and time.monotonic() >= next_check:
                next_check = time.monotonic() + (SETTLE_CHECK_S if settling else QUEUE_CHECK_S)
                self.check_queue(pending, absences, settling)
            time.sleep(POLL_S)

    def announce_requeue(self, job, task_id, record, requeues):
        """One line when submitit requeued the task (its record is "requeued", or started again)."""
        next_attempt = record["attempt"] + (record["state"] == "requeued")
        if next_attempt > requeues.get(task_id, 1):
            requeues[task_id] = next_attempt
            self.requeued.add(job.number)
            self.print_line(f"#{job.number} requeued by Slurm (time limit or preemption): {job.label}; the run "
                            "saved its state and resumes when the task starts again.")

    def check_queue(self, pending, absences, settling):
        """Asks squeue which pending tasks are left: a task stopped by Slurm that is queued again was requeued by
        Slurm and is followed on, one that left is reported as its record says; one that vanished without a
        record of its end, missed twice in a row (records on a shared filesystem may show late), is reported."""
        try:
            states = dict(self.queue.queued().values())
        except ExecutorError as error:
            self.print_line(f"Could not ask Slurm which tasks are left ({error}); asking again.")
            return
        for task_id in list(pending):
            job, entry = pending[task_id]
            absences[task_id] = 0 if task_id in states else absences.get(task_id, 0) + 1
            if task_id in settling and states.get(task_id) in REQUEUED_STATES:
                settling.discard(task_id)
                self.requeued.add(job.number)
                self.print_line(f"#{job.number} requeued by Slurm (preemption): {job.label}; the run saved its state "
                                "and resumes when the task starts again.")
            elif task_id in settling and task_id not in states:
                del pending[task_id]
                settling.discard(task_id)
                self.finish(job, task_id, read_record(entry["task_record"]), pending)
            elif absences[task_id] >= 2 and task_id not in settling:
                del pending[task_id]
                self.vanished(job, task_id, read_record(entry["task_record"]))

    def start(self, job):
        with self.lock:
            if job.number not in self.started:
                self.started.add(job.number)
                self.on_start(job)

    def end(self, job, code, seconds, last_lines):
        self.start(job)
        with self.lock:
            self.on_end(job, code, seconds, last_lines)

    def finish(self, job, task_id, record, pending):
        code, last_lines = record["code"], list(record.get("last_lines") or [])
        if code != 0 and code not in INTERRUPTED_CODES:
            last_lines[-1:] = [f"{(last_lines or ['The run failed.'])[-1]} Slurm log: {self.queue.log_path(task_id)}"]
        if job.number in self.requeued and job.action.kind == "run":  # finished after a resume
            job = dataclasses.replace(job, action=dataclasses.replace(job.action, kind="resume"))
        if code == BAD_INPUT_CODE:
            with self.lock:
                self.refused_input(record.get("last_lines") or [])
            self.cancel(list(pending), pending_only=True)  # nothing more starts: the others would refuse it too
        self.end(job, code, record.get("seconds", 0.0), last_lines)

    def vanished(self, job, task_id, record):
        """A task that left Slurm without recording its end: cancelled before it started, killed, or failed early."""
        log = self.queue.log_path(task_id)
        state = record and record["state"]
        if state == "requeued":
            code, line = 130, "Its requeued task was cancelled or ran out of requeues; the run saved its state."
        elif state == "started":
            code, line = -9, f"The Slurm task ended before the run did (killed, or its node lost). Slurm log: {log}"
        elif os.path.exists(log):
            code, line = 1, f"The Slurm task failed before the run started. Slurm log: {log}"
        elif self.stop_requests or self.bad_input:
            return  # cancelled by this sweep before it started: not started
        else:
            code, line = 130, "The Slurm task was cancelled before it started."
        self.end(job, code, 0.0, [line])

    def request_stop(self, signum, frame):
        if signum == signal.SIGHUP:  # the login session ended: the tasks go on, the same command reports later
            self.detached = True
        else:
            super().request_stop(signum, frame)

    def pass_on_stops(self, pending):
        """Ctrl-C: the tasks are cancelled (the running runs get SIGTERM and save); again: killed at once."""
        with self.lock:
            if self.forwarded >= self.stop_requests:
                return
            self.forwarded = self.stop_requests
        self.cancel(list(pending), signal_name="KILL" if self.forwarded > 1 else None)

    def cancel(self, task_ids, **how):
        try:
            self.queue.cancel(task_ids, **how)
        except ExecutorError as error:
            self.print_line(f"Could not cancel the tasks: {error}")
