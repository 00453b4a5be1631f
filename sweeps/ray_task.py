"""What runs on the Ray cluster: one task per run, and one small actor through which the sweep says stop.

Sent to the cluster by value (sweeps/ray_executor.py registers this module with Ray's cloudpickle), so a
node needs this repository only where the run itself starts it (`MaskTrainer.py`, same path everywhere).
Only the standard library and Ray are imported here, inside the functions.

A task starts `MaskTrainer.py --continue ...` in its own process group; the process dies with the task's
worker (die_with_parent). If the process is killed (a signal, not an exit), the task starts it again, and
--continue resumes the run from its checkpoint; if the worker itself is killed, Ray retries the task, with
the same effect. A stop request from the sweep is passed on as SIGINT (the run saves its state, exit 130),
a second one as a second SIGINT. The run's process gets the task worker's environment (where Ray has set
CUDA_VISIBLE_DEVICES to the task's GPUs) plus `environment`, which the sweep computed on its own machine: the
GPU memory settings of a run that shares a GPU (devices/sharing.py), and the user's own.
"""


class SweepControl:
    """The sweep's shared state: how many stop requests, whether new runs may start, which runs started."""

    def __init__(self):
        self.stop_level = 0
        self.starting_allowed = True
        self.started = []

    def request_stop(self, level):
        self.stop_level = max(self.stop_level, level)
        self.starting_allowed = False

    def forbid_starting(self):
        self.starting_allowed = False

    def start(self, number):
        """Whether run `number` may start (False once the sweep is stopping); records that it started."""
        if self.starting_allowed:
            self.started.append(number)
        return self.starting_allowed

    def current_stop_level(self):
        return self.stop_level

    def take_started(self):
        started, self.started = self.started, []
        return started


def run_job(number, command, cwd, control, retries, environment=None):
    """Runs one job to its end; returns {"started", "code", "seconds", "last_lines", "attempts"}."""
    import time

    import ray
    if not ray.get(control.start.remote(number)):
        return {"started": False}
    # The run's claim names this task, which Ray keeps when it retries the task after its worker died, so that the
    # retry takes over the claim at once, on whichever node (results/claims.py, JOB_VARIABLE).
    environment = {**(environment or {}), "MASKTRAINER_JOB": f"ray:{ray.get_runtime_context().get_task_id()}"}
    began, attempts = time.monotonic(), 1
    while True:
        code, last_lines, stopped = run_process(command, cwd, control, environment)
        if code >= 0 or stopped or attempts > retries:
            break
        attempts += 1
        print(f"MaskTrainer.py was killed (signal {-code}); starting it again, it resumes from its checkpoint "
              f"(attempt {attempts} of {retries + 1}).", flush=True)
    return {"started": True, "code": code, "seconds": time.monotonic() - began, "last_lines": last_lines,
            "attempts": attempts}


def process_environment(environ, environment):
    """The environment of the run's process: the task worker's `environ` plus the sweep's `environment`."""
    return {**environ, "PYTHONUNBUFFERED": "1", **(environment or {})}


def run_process(command, cwd, control, environment=None):
    """(exit code, last lines of output, whether a stop was passed on) of one MaskTrainer.py process."""
    import collections
    import ctypes
    import os
    import signal
    import subprocess
    import threading
    import time

    import ray

    def die_with_parent():
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        # Ray's worker blocks and ignores SIGINT; a run must receive it (it saves its state and exits 130).
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT, signal.SIGTERM])
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               bufsize=1, process_group=0, preexec_fn=die_with_parent,
                               env=process_environment(os.environ, environment))
    last_lines = collections.deque(maxlen=5)

    def relay():  # Ray forwards the worker's output to the sweep's terminal
        for line in process.stdout:
            last_lines.append(line.rstrip("\n"))
            print(line, end="", flush=True)

    reader = threading.Thread(target=relay, daemon=True)
    reader.start()
    signalled = 0
    while process.poll() is None:
        level = ray.get(control.current_stop_level.remote())
        while signalled < level:
            signalled += 1
            try:
                os.killpg(process.pid, signal.SIGINT)
            except ProcessLookupError:
                break
        time.sleep(0.1)
    reader.join(5)
    return process.returncode, list(last_lines), signalled > 0


def probe(paths):
    """Which of `paths` this node cannot see (for the shared-filesystem check), and the node's host name."""
    import os
    import socket
    return socket.gethostname(), [path for path in paths if not os.path.exists(path)]
