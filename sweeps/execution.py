"""The executor interface of a sweep, and the local executor: MaskTrainer.py processes in worker threads.

An executor's run(jobs) runs every job, calls on_start(job) when one starts and on_end(job, code, seconds,
last_lines) when it ends, and leaves `stop_requests` (Ctrl-C, SIGTERM, SIGHUP received) and `bad_input`
(the message of a run that refused its input, after which nothing more starts) for Sweep.py's summary.
Executors: LocalExecutor below, RayExecutor (sweeps/ray_executor.py), SlurmExecutor (sweeps/slurm_executor.py).

Locally, each run is its own process group, so a Ctrl-C at the terminal reaches only the sweep, which passes
exactly one SIGINT to every running MaskTrainer.py: they save their state and exit 130. A second
Ctrl-C is passed on too, and stops them at once (they then resume from their last finished epoch).
SIGTERM and SIGHUP are treated like Ctrl-C.

On a machine with GPUs, each worker thread is one slot: slot i runs its runs on GPU i mod G (CUDA_VISIBLE_DEVICES),
and when more workers than GPUs run at once, the workers of a GPU share it through the memory settings of
devices/sharing.py. Runs with device cpu, or a machine without GPUs, get the sweep's environment unchanged.
"""

import collections
import contextlib
import ctypes
import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time

import devices
from config import RunConfig, command_line_arguments
from devices.sharing import shared_gpu_environment, worker_gpu

TRAINER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "MaskTrainer.py")
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
INTERRUPTED_CODES = (130, -signal.SIGINT)
BAD_INPUT_CODE = 2


@dataclasses.dataclass(frozen=True)
class Job:
    number: int
    config: RunConfig
    action: object  # existing_runs.Action
    label: str
    members: tuple = ()  # a pack (Sweep.py --pack, sweeps/packing.py): its runs' Jobs; config is the first's
    pack_file: str = None  # the pack's MaskTrainer.py --pack-file


class ExecutorError(RuntimeError):
    """The executor (--executor local, ray or slurm) cannot be used as asked: Ray or Slurm missing, unreachable or
    refusing (one sentence; Sweep.py exits 2). Not cli.keras_backend.BackendError, which is about Keras' backend."""


def trainer_command(config, action, pack_file=None):
    """The MaskTrainer.py command line of a job: --resume LOGS, or --continue and the flags that differ from the
    defaults (--continue: the run is claimed, then looked for again, so that a run another sweep finished meanwhile
    is not trained twice); a pack's: --pack-file FILE, which starts, resumes or skips each of its runs."""
    command = [sys.executable, TRAINER]
    if pack_file:
        return command + ["--pack-file", os.path.abspath(pack_file)]
    if action.kind == "resume":
        command += ["--resume", action.logs_path]
        command += ["--data-dir", config.data_dir] if config.data_dir else []
        # The device is not part of a run's identity: the grid's (or --device's) choice holds for the resume too.
        return command + (["--device", config.device] if config.device != devices.DEFAULT_DEVICE else [])
    return command + ["--continue", *command_line_arguments(config)]


def continue_command(config, pack_file=None):
    """What a cluster task runs: `MaskTrainer.py --continue`, which starts the run or resumes an earlier attempt,
    so that a retried or requeued task resumes (a pack's: --pack-file, which does the same for each of its runs).
    Paths are absolute: the task runs in this repository."""
    if pack_file:
        return trainer_command(config, None, pack_file)
    absolute = config.replace(outputpath=os.path.abspath(config.outputpath),
                              data_dir=config.data_dir and os.path.abspath(config.data_dir))
    return [sys.executable, TRAINER, "--continue", *command_line_arguments(absolute)]


def uses_gpu(config):
    """Whether a run may train on a GPU (its device is auto or gpu)."""
    return config.device != "cpu"


STOPPING = ("Stopping: the runs in progress save their state and no new run starts "
            "(Ctrl-C again stops them at once, from their last finished epoch).")


def die_with_parent():
    """preexec_fn of a run's process: Linux kills it when the process that started it dies (a sweep or a Ray
    worker killed with SIGKILL), so no orphaned run goes on writing while the same run is resumed elsewhere."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux, no PR_SET_PDEATHSIG: a run outlives a sweep killed with SIGKILL


class Executor:
    """What every executor shares: the callbacks, the stop and bad-input state, and the stop signals."""

    def __init__(self, on_start, on_end, print_line=print):
        self.on_start, self.on_end, self.print_line = on_start, on_end, print_line
        self.lock = threading.RLock()
        self.stop_requests = 0
        self.bad_input = None  # the message of a run that exited 2: the sweep starts nothing more

    def run(self, jobs):
        raise NotImplementedError

    @contextlib.contextmanager
    def stop_signals(self):
        """Ctrl-C, SIGTERM and SIGHUP call request_stop while the block runs (in the main thread only)."""
        previous = {}
        if threading.current_thread() is threading.main_thread():
            previous = {number: signal.signal(number, self.request_stop) for number in STOP_SIGNALS}
        try:
            yield
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    def request_stop(self, signum, frame):
        with self.lock:
            self.stop_requests += 1
            self.forward_stop()
            if self.stop_requests == 1:
                self.print_line(STOPPING)

    def forward_stop(self):
        """Passes the latest stop request on to the runs in progress."""

    def refused_input(self, last_lines):
        if not self.bad_input:
            message = last_lines[-1] if last_lines else "MaskTrainer.py refused its input."
            self.bad_input = message.removeprefix("MaskTrainer.py: error: ")


class LocalExecutor(Executor):
    """Up to `workers` MaskTrainer.py processes at a time on this machine; on_start, on_end and print_line
    (for the runs' output) are called under one lock."""

    def __init__(self, workers, on_start, on_end, print_line=print):
        super().__init__(on_start, on_end, print_line)
        self.workers = workers
        self.active = set()
        self.gpus, self.running = [], 0  # the GPUs the runs may use; worker threads at once

    def run(self, jobs):
        queue = collections.deque(jobs)
        self.running = min(self.workers, len(jobs))
        self.gpus = devices.visible_gpus(os.environ) if any(uses_gpu(job.config) for job in jobs) else []
        threads = [threading.Thread(target=self.work, args=(queue, slot), daemon=True)
                   for slot in range(self.running)]
        with self.stop_signals():
            for thread in threads:
                thread.start()
            while any(thread.is_alive() for thread in threads):
                for thread in threads:
                    thread.join(0.2)  # short waits, so that the signal handler runs promptly

    def forward_stop(self):
        for process in list(self.active):
            try:
                os.killpg(process.pid, signal.SIGINT)
            except (ProcessLookupError, PermissionError):
                pass

    def run_environment(self, slot, config):
        """The environment of a run in worker `slot`: the sweep's, plus its GPU and share of it (devices/sharing.py)."""
        environment = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if self.gpus and uses_gpu(config):
            gpu, share = worker_gpu(slot, self.running, self.gpus)
            environment.update(shared_gpu_environment(os.environ, share, gpu=gpu))
        return environment

    def work(self, queue, slot):
        while True:
            with self.lock:
                if self.stop_requests or self.bad_input or not queue:
                    return
                job = queue.popleft()
                self.on_start(job)
                started = time.monotonic()
                try:
                    process = subprocess.Popen(
                        trainer_command(job.config, job.action, job.pack_file), stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, text=True, bufsize=1, process_group=0, preexec_fn=die_with_parent,
                        env=self.run_environment(slot, job.config))
                except OSError as error:
                    self.on_end(job, 1, 0.0, [f"Could not start MaskTrainer.py ({error})."])
                    continue
                self.active.add(process)
            self.follow(job, process, started)

    def follow(self, job, process, started):
        last_lines = collections.deque(maxlen=5)
        prefix = f"  #{job.number} | " if self.workers > 1 else "  "
        for line in process.stdout:
            line = line.rstrip("\n")
            last_lines.append(line)
            with self.lock:
                self.print_line(prefix + line)
        code = process.wait()
        with self.lock:
            self.active.discard(process)
            if code == BAD_INPUT_CODE:
                self.refused_input(list(last_lines))
            self.on_end(job, code, time.monotonic() - started, list(last_lines))
