"""The Ray executor of Sweep.py: each run a Ray task (sweeps/ray_task.py) on a local Ray instance or on a
cluster joined with --address. Every run is its own MaskTrainer.py process started by its task, so no
TensorFlow or JAX state passes from one run to the next in a long-lived Ray worker.

GPUs: Ray gives each task the GPUs it reserves (--gpus-per-run) through CUDA_VISIBLE_DEVICES, and hides every GPU
from a task that reserves none. A fraction (0.25: four runs per GPU) is only bookkeeping for Ray, so the run's
process also gets that fraction as its memory share (devices/sharing.py); the variables are computed here and
passed to the task, since a process on another machine does not inherit the sweep's environment.

Which Ray: --address (or Ray's own RAY_ADDRESS, resolved in sweeps/backends.py) joins that cluster; without either,
the sweep starts a local instance of its own, whatever else runs on the machine. Ray's own default would not: a bare
ray.init() joins the cluster that `ray start --head` recorded in Ray's temp folder (ray_current_cluster), even a
head that was killed since (a stale record), and then refuses num_cpus, so address="local" is passed. A cluster
that runs on this machine is named in the sweep's opening line, with the --address that uses it.

Authentication (sweeps/ray_authentication.py): the local instance's token is in the sweep's environment only.
"""

import logging
import os
import socket
import sys
import time
import uuid

from devices.sharing import shared_gpu_environment, user_memory_settings
from sweeps import ray_task
from sweeps.execution import BAD_INPUT_CODE, TRAINER, Executor, ExecutorError, continue_command, uses_gpu
from sweeps.ray_authentication import TOKEN_SOURCES, check_authentication, local_instance_token

REPOSITORY = os.path.dirname(TRAINER)
CONNECT_TIMEOUT_S = 10
PROBE_TIMEOUT_S = 30
RETRIES_AFTER_KILL = 3  # a run's process killed: started again (it resumes) this many times at most
INSTALL = "pip install 'ray[default]'"


def ray_temp_folder(environ=None):
    """Ray's temp folder on this machine, found as Ray 2.x finds it (ray._common.utils.get_default_ray_temp_dir):
    RAY_TMPDIR, else TMPDIR on Linux, else /tmp; then ray/."""
    environ = os.environ if environ is None else environ
    base = environ.get("RAY_TMPDIR") or (environ.get("TMPDIR") if sys.platform.startswith("linux") else None)
    return os.path.join(base or "/tmp", "ray")


def cluster_record(environ=None):
    """Where `ray start --head` records its cluster's address on this machine (ray_current_cluster)."""
    return os.path.join(ray_temp_folder(environ), "ray_current_cluster")


def recorded_address(environ=None):
    """The address in the record, or None without one."""
    try:
        with open(cluster_record(environ), encoding="utf-8") as handle:
            return handle.read().strip() or None
    except (OSError, UnicodeDecodeError):
        return None


def answers(address, timeout):
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except (OSError, ValueError):
        return False
    return True


def running_local_cluster(environ=None, timeout=1.0):
    """HOST:PORT of the Ray cluster recorded on this machine when its head answers there; None without a record, or
    for a stale one (a head stopped or killed since)."""
    address = recorded_address(environ)
    return address if address and answers(address, timeout) else None


def is_loopback(address):
    return address is not None and address.rpartition(":")[0] in ("127.0.0.1", "localhost")


def import_ray(address=None):
    # The runs' output reaches the terminal line by line, uncoloured, each line once.
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    os.environ.setdefault("RAY_COLOR_PREFIX", "0")
    if is_loopback(address):
        # Ray replaces a loopback --address by this machine's network IP, where a head bound to 127.0.0.1 does
        # not listen; this (read when Ray is imported) makes the driver keep the loopback address.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    try:
        import ray
    except ImportError:
        raise ExecutorError(f"--executor ray needs Ray, which is not installed; install it with: {INSTALL} "
                           "(or use --executor local).") from None
    return ray


def check_reachable(address, source="--address"):
    """Fails within CONNECT_TIMEOUT_S when nothing listens at host:port (Ray itself would retry for minutes);
    source: where the address came from, --address or RAY_ADDRESS."""
    fix = ("correct RAY_ADDRESS (unset, a local Ray instance runs the grid)" if source == "RAY_ADDRESS"
           else "correct --address")
    if address == "auto":
        # Ray joins RAY_ADDRESS, else the recorded cluster, and waits for minutes on a stale record: checked here.
        # Without either, Ray looks for a cluster's processes on this machine itself, and fails at once.
        address = os.environ.get("RAY_ADDRESS", "").strip()
        source = "--address auto, from RAY_ADDRESS" if address else f"--address auto, from {cluster_record()}"
        fix = "correct RAY_ADDRESS" if address else "leave --address out for a local Ray instance"
        address = address or recorded_address()
        if address in (None, "auto", "local"):
            return
    host, _, port = address.rpartition(":")
    if "://" in address or not host or not port.isdigit():
        raise ExecutorError(f"The Ray address {address} ({source}) is not HOST:PORT (e.g. 127.0.0.1:6379), 'auto' or "
                           "'local' (Ray Client addresses, ray://, are not supported); give the address of the "
                           "cluster's head.")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as error:
        raise ExecutorError(f"No Ray cluster answers at {address} ({source}: {error.strerror or error}); start its "
                           f"head with `ray start --head --port PORT`, or {fix}.") from None


def first_line(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


# The variables a run's process reads that a user sets for a whole sweep (the caches of devices/, the pack form, the
# XLA flags, JAX's own compilation cache, Keras' data cache): a run on another node sees its Ray worker's
# environment, not the sweep's.
RUN_SETTINGS = ("MASKTRAINER_", "XLA_FLAGS", "KERAS_HOME", "JAX_COMPILATION_CACHE_", "JAX_ENABLE_COMPILATION_CACHE",
                "JAX_PERSISTENT_CACHE_")


def task_environment(config, gpus_per_run, environ):
    """What a run's process on Ray gets on top of its worker's environment: the user's run settings (RUN_SETTINGS)
    and GPU memory settings from `environ` (the sweep's), and for a run that reserves a fraction of a GPU, that
    fraction as its memory share."""
    environment = {name: value for name, value in environ.items() if name.startswith(RUN_SETTINGS)}
    environment.update(user_memory_settings(environ))
    if 0 < gpus_per_run < 1 and uses_gpu(config):
        environment.update(shared_gpu_environment(environ, gpus_per_run))
    return environment


def unreserved_gpus_problem(cluster_gpus, gpus_per_run, configs):
    """Why the runs `configs` cannot go as asked onto a cluster with `cluster_gpus` GPUs, in one sentence, or None:
    JAX runs that may use a GPU but reserve none would be hidden from every GPU (and train on the CPU, or refuse
    with device gpu)."""
    if cluster_gpus <= 0 or gpus_per_run > 0:
        return None
    if not any(config.backend == "jax" and uses_gpu(config) for config in configs):
        return None
    return (f"The Ray cluster has {cluster_gpus:g} GPU(s), but Ray hides them from runs that reserve none, so the "
            "JAX runs could not use them; pass --gpus-per-run 1 (or a fraction such as 0.25 to share one GPU "
            "between runs), or --device cpu.")


def unfit_reservation_problem(node_resources, cpus_per_run, gpus_per_run, own_instance):
    """Why no node of `node_resources` (each node's {"CPU": n, "GPU": n}) can ever take a run reserving cpus_per_run
    CPUs and gpus_per_run GPUs, in one sentence, or None. Ray would keep such tasks pending without a word: on the
    sweep's own instance for ever; on a joined cluster until a node that fits joins, so that case is only said."""
    wanted = {"CPU": cpus_per_run, "GPU": gpus_per_run}
    if any(all(resources.get(name, 0) >= amount for name, amount in wanted.items()) for resources in node_resources):
        return None
    largest = {name: max((resources.get(name, 0) for resources in node_resources), default=0) for name in wanted}
    short = [f"{largest[name]:g} {name}(s)" for name, amount in wanted.items() if largest[name] < amount]
    where = "this machine's Ray instance" if own_instance else "the Ray cluster"
    lacking = (f"{where} has {'only' if own_instance else 'at most'} {' and '.join(short)}"
               f"{'' if own_instance else ' on a node'}" if short else f"no node of {where} has both")
    return (f"Each run reserves {cpus_per_run:g} CPU(s) and {gpus_per_run:g} GPU(s) (--cpus-per-run, "
            f"--gpus-per-run), but {lacking}"
            + ("; pass smaller reservations, or run the grid on a cluster that has them (--address)."
               if own_instance else "; the runs wait until such a node joins (Ctrl-C stops the sweep)."))


class RayExecutor(Executor):
    def __init__(self, on_start, on_end, outputpath, address=None, cpus_per_run=1, gpus_per_run=0,
                 print_line=print, address_source="--address"):
        super().__init__(on_start, on_end, print_line)
        self.outputpath, self.address, self.address_source = outputpath, address, address_source
        self.cpus_per_run, self.gpus_per_run = cpus_per_run, gpus_per_run
        self.ray = import_ray(address)
        self.control = None
        self.forwarded = 0

    def connect(self):
        ray = self.ray
        ray.cloudpickle.register_pickle_by_value(ray_task)
        options = dict(logging_level=logging.WARNING, log_to_driver=True, include_dashboard=False)
        if self.address is None:
            local_instance_token()
            try:  # "local": a new instance, never the cluster in RAY_ADDRESS or in Ray's record (module docstring)
                ray.init(address="local", num_cpus=os.cpu_count(), **options)
            except (ConnectionError, RuntimeError, ValueError, OSError) as error:
                raise ExecutorError(f"Could not start a local Ray instance ({first_line(error)}); check that Ray's "
                                   f"temp folder {ray_temp_folder()} is writable (RAY_TMPDIR moves it).") from None
            return
        check_reachable(self.address, self.address_source)
        if self.address != "auto":  # with "auto", ray.init itself turns token mode on where a token exists
            check_authentication(self.address, self.address_source, CONNECT_TIMEOUT_S)
        options.pop("include_dashboard")
        try:
            ray.init(address=self.address, **options)
        except ray.exceptions.AuthenticationError as error:  # RAY_AUTH_MODE=token, and no token found
            raise ExecutorError(f"Ray could not join the cluster at {self.address} ({self.address_source}): "
                               f"{error.message}; {TOKEN_SOURCES}.") from None
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise ExecutorError(f"Could not join the Ray cluster at {self.address} ({first_line(error)}); check "
                               f"{self.address_source}, and for a cluster with token authentication: "
                               f"{TOKEN_SOURCES}.") from None

    def check_shared_paths(self):
        """Every alive node must see --outputpath and this repository at the same paths (a shared filesystem)."""
        ray = self.ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy
        os.makedirs(self.outputpath, exist_ok=True)
        marker = os.path.join(os.path.abspath(self.outputpath), f".ray-probe-{uuid.uuid4().hex}")
        open(marker, "w").close()
        try:
            probe = ray.remote(num_cpus=0)(ray_task.probe)
            checks = [probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False))
                      .remote([marker, TRAINER, sys.executable]) for node in ray.nodes() if node["Alive"]]
            answers = ray.get(checks, timeout=PROBE_TIMEOUT_S)
        finally:
            os.remove(marker)
        for host, missing in answers:
            if missing:
                raise ExecutorError(
                    f"The Ray node {host} cannot see {', '.join(missing)}; on a cluster of several machines, "
                    "--outputpath, this repository and its Python must be on a shared filesystem at the same "
                    "paths on every node.")

    def run(self, jobs):
        if not jobs:
            return
        ray = self.ray
        self.connect()
        try:
            nodes = [node["Resources"] for node in ray.nodes() if node["Alive"]]  # the cluster, node by node
            problem = unreserved_gpus_problem(sum(node.get("GPU", 0) for node in nodes), self.gpus_per_run,
                                              [job.config for job in jobs])
            if problem:
                raise ExecutorError(problem)
            problem = unfit_reservation_problem(nodes, self.cpus_per_run, self.gpus_per_run, self.address is None)
            if problem and self.address is None:
                raise ExecutorError(problem)
            if problem:
                self.print_line(problem)
            self.check_shared_paths()
            self.control = ray.remote(num_cpus=0)(ray_task.SweepControl).remote()
            task = ray.remote(num_cpus=self.cpus_per_run, num_gpus=self.gpus_per_run,
                              max_retries=RETRIES_AFTER_KILL)(ray_task.run_job)
            pending = {task.remote(job.number, continue_command(job.config, job.pack_file), REPOSITORY, self.control,
                                   RETRIES_AFTER_KILL, task_environment(job.config, self.gpus_per_run, os.environ)):
                       job for job in jobs}
            with self.stop_signals():
                self.follow(pending)
        finally:
            ray.shutdown()

    def follow(self, pending):
        ray, by_number, started = self.ray, {job.number: job for job in pending.values()}, {}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.2)
            with self.lock:
                if self.forwarded < self.stop_requests:
                    self.forwarded = self.stop_requests
                    self.control.request_stop.remote(self.forwarded)
            for number in ray.get(self.control.take_started.remote()):
                if number not in started:
                    started[number] = time.monotonic()
                    with self.lock:
                        self.on_start(by_number[number])
            for reference in ready:
                self.finish(pending.pop(reference), reference, started)

    def finish(self, job, reference, started):
        try:
            result = self.ray.get(reference)
        except self.ray.exceptions.RayError as error:
            result = {"started": True, "code": 1, "last_lines": [f"Ray could not run it: {first_line(error)}"],
                      "seconds": time.monotonic() - started.get(job.number, time.monotonic())}
        if not result["started"]:
            return  # the sweep was stopping: counted as not started
        with self.lock:
            if job.number not in started:
                self.on_start(job)
            if result["code"] == BAD_INPUT_CODE:
                self.refused_input(result["last_lines"])
                self.control.forbid_starting.remote()
            self.on_end(job, result["code"], result["seconds"], result["last_lines"])
