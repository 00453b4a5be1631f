"""What one Slurm array task runs (through submitit): one `MaskTrainer.py --continue` process, and a small JSON
record of how it went that the sweep reads. Only the standard library and submitit are imported here: this
module is imported on the compute node (the job's PYTHONPATH holds this repository).

Slurm signals every process of a task, the run's included. So the run ignores SIGTERM and SIGUSR2 (set before
it starts), and this task turns them into what the run understands, one SIGINT, after which it saves its state
and exits 130:
- SIGTERM (scancel, the time limit reached, preemption): passed on; the task ends, and a requeued task or the
  next sweep resumes the run.
- SIGUSR2 (submitit's `--signal=USR2@90`: 90 s before the time limit; or `scancel --signal=USR2`): submitit calls
  checkpoint(), which waits for the run to save; submitit then requeues the task, and it resumes the run.
- SIGINT (`scancel --signal=INT`) reaches the run directly; passing it on would stop the run at once.
"""

import collections
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from submitit.helpers import Checkpointable, DelayedSubmission

IGNORED_BY_THE_RUN = (signal.SIGTERM, signal.SIGUSR2)
LAST_LINES = 5


def write_record(path, **record):
    """Replaces the task's record at once (a reader never sees half of it)."""
    folder, name = os.path.split(path)
    temporary = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump({**record, "host": socket.gethostname(), "time": time.time()}, handle)
    os.replace(temporary, path)


def read_record(path):
    """The task's record, or None before it wrote one."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def exit_status(code):
    """A process exit status for the run's return code (a run killed by signal N: 128 + N, as a shell says)."""
    return code if code >= 0 else 128 - code


def run_environment():
    """The run's start: it dies with the task (PR_SET_PDEATHSIG), and only the task reacts to Slurm's SIGTERM
    and SIGUSR2."""
    import ctypes
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    for number in IGNORED_BY_THE_RUN:
        signal.signal(number, signal.SIG_IGN)


class SlurmTask(Checkpointable):
    """One run's task; Checkpointable, so that submitit calls checkpoint() on SIGUSR2 and then requeues it."""

    def __init__(self, command, cwd, record_path, attempt=1):
        self.command, self.cwd, self.record_path, self.attempt = command, cwd, record_path, attempt
        self.process = self.reader = None
        self.began = time.monotonic()
        self.last_lines = collections.deque(maxlen=LAST_LINES)
        self.stop_requested = self.stop_sent = False
        self.recorded = False

    def __getstate__(self):  # what submitit pickles: the task as submitted, without a running process
        return {"command": self.command, "cwd": self.cwd, "record_path": self.record_path, "attempt": self.attempt}

    def __setstate__(self, state):
        self.__init__(**state)

    def __call__(self):
        self.began = time.monotonic()
        previous = {signal.SIGTERM: signal.signal(signal.SIGTERM, self.stop_run),
                    signal.SIGINT: signal.signal(signal.SIGINT, lambda *_: None)}
        try:
            self.process = subprocess.Popen(
                self.command, cwd=self.cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
                preexec_fn=run_environment, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        except OSError as error:
            self.end(1, [(f"Could not start MaskTrainer.py on {socket.gethostname()} ({error}); the repository and "
                          "its Python must be at the same paths on every node.")])
        write_record(self.record_path, state="started", attempt=self.attempt, pid=os.getpid(), run_pid=self.process.pid)
        self.reader = threading.Thread(target=self.relay, daemon=True)
        self.reader.start()
        if self.stop_requested:  # Slurm's signal came while the run was starting
            self.send_stop()
        try:
            while self.process.poll() is None:
                time.sleep(0.1)
            self.reader.join(5)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
        self.end(self.process.returncode)

    def relay(self):
        for line in self.process.stdout:
            self.last_lines.append(line.rstrip("\n"))
            print(line, end="", flush=True)

    def stop_run(self, signum=None, frame=None):
        """Passes a stop on to the run once, as SIGINT: it saves its state and exits 130."""
        if not self.stop_requested:
            self.stop_requested = True
            print(f"Slurm asked the task to stop ({signal.Signals(signum).name if signum else 'SIGUSR2'}); "
                  "the run saves its state.", flush=True)
        self.send_stop()

    def send_stop(self):
        if self.process is not None and not self.stop_sent:
            self.stop_sent = True
            try:
                self.process.send_signal(signal.SIGINT)
            except ProcessLookupError:
                pass

    def end(self, code, last_lines=None):
        """Records the run's end and ends the task with the run's exit status (a failed run: a failed task)."""
        if not self.recorded:
            self.recorded = True
            write_record(self.record_path, state="ended", code=code, attempt=self.attempt,
                         seconds=time.monotonic() - self.began, last_lines=last_lines or list(self.last_lines))
        if code:
            sys.exit(exit_status(code))

    def checkpoint(self, *args, **kwargs):
        """Called by submitit on SIGUSR2: the run saves its state, then submitit requeues this task, which resumes it.
        A run that ended meanwhile (finished or failed) ends the task instead."""
        if self.process is None:
            return DelayedSubmission(SlurmTask(self.command, self.cwd, self.record_path, self.attempt + 1))
        self.stop_run()
        code = self.process.wait()
        if self.reader is not None:
            self.reader.join(5)
        if code in (0, 1, 2):
            self.end(code)
            raise SystemExit(0)
        self.recorded = True
        write_record(self.record_path, state="requeued", code=code, attempt=self.attempt,
                     seconds=time.monotonic() - self.began, last_lines=list(self.last_lines))
        return DelayedSubmission(SlurmTask(self.command, self.cwd, self.record_path, self.attempt + 1))
