"""Sweep.py's --executor (local, ray or slurm): which flags go with which, the choice in words, and its executor."""

import os

RAY_AND_SLURM = ("cpus_per_run", "gpus_per_run")
SLURM_ONLY = ("partition", "time_min", "array_parallelism", "slurm_folder", "no_wait")
DEFAULTS = {"cpus_per_run": 1, "gpus_per_run": 0, "time_min": 60}


def given(arguments, names):
    return any(getattr(arguments, name) not in (None, False) for name in names)


def check_flags(arguments):
    """What is wrong with the backend's flags, in one sentence, or None; fills in the defaults of the flags
    whose default depends on the backend."""
    if arguments.workers < 1:
        return f"--workers must be at least 1, got {arguments.workers}."
    if arguments.backend != "ray" and arguments.address is not None:
        return "--address is for --executor ray."
    if arguments.backend == "ray":
        resolve_ray_address(arguments, os.environ)
    if arguments.backend == "local" and given(arguments, RAY_AND_SLURM):
        return "--cpus-per-run and --gpus-per-run are for --executor ray or slurm."
    if arguments.backend != "slurm" and given(arguments, SLURM_ONLY):
        return "--partition, --time-min, --array-parallelism, --slurm-folder and --no-wait are for --executor slurm."
    for name, default in DEFAULTS.items():
        if getattr(arguments, name) is None:
            setattr(arguments, name, default)
    if arguments.cpus_per_run < 0 or arguments.gpus_per_run < 0:
        return "--cpus-per-run and --gpus-per-run cannot be negative."
    if arguments.backend == "slurm":
        return check_slurm_flags(arguments)
    return None


def resolve_ray_address(arguments, environ):
    """Which Ray the sweep uses: --address; else RAY_ADDRESS, Ray's own variable for the cluster a driver joins
    (what `ray job submit` sets for a driver it starts on a cluster), so a user's setting is honoured and named in
    the opening line; else (or "local" in either) None: a local instance of the sweep's own, whatever else runs on
    the machine (sweeps/ray_executor.py)."""
    arguments.address_source = "--address"
    if arguments.address is None and environ.get("RAY_ADDRESS"):
        arguments.address, arguments.address_source = environ["RAY_ADDRESS"].strip(), "RAY_ADDRESS"
    if arguments.address == "local":
        arguments.address = None


def check_slurm_flags(arguments):
    if arguments.cpus_per_run < 1 or arguments.cpus_per_run % 1 or arguments.gpus_per_run % 1:
        return "On Slurm, --cpus-per-run is a whole number of at least 1, and --gpus-per-run a whole number."
    arguments.cpus_per_run, arguments.gpus_per_run = int(arguments.cpus_per_run), int(arguments.gpus_per_run)
    if arguments.time_min < 3:
        return (f"--time-min must be at least 3 minutes (a run saves its state 90 s before it), got "
                f"{arguments.time_min}.")
    if arguments.array_parallelism is not None and arguments.array_parallelism < 1:
        return f"--array-parallelism must be at least 1, got {arguments.array_parallelism}."
    arguments.slurm_folder = arguments.slurm_folder or os.path.join(arguments.outputpath, "slurm")
    return None


def check_gpu_reservation(arguments, jobs):
    """What is wrong with reserving --gpus-per-run for the runs to run or resume, in one sentence, or None: a GPU
    reserved for a run that cannot use it is held idle while the run trains on the CPU."""
    if not arguments.gpus_per_run:
        return None
    running = [job for job in jobs if job.action.executes]
    reserved = f"--gpus-per-run {arguments.gpus_per_run:g} reserves GPUs for runs that"
    on_tensorflow = [job for job in running if job.config.backend == "tensorflow"]
    if on_tensorflow:
        return (f"{reserved} train on tensorflow, which this project installs without GPU support (e.g. "
                f"#{on_tensorflow[0].number} {on_tensorflow[0].label}); pass --keras-backend jax (or set \"backend\": "
                "\"jax\" in the grid), or leave --gpus-per-run out.")
    on_cpu = [job for job in running if job.config.device == "cpu"]
    if on_cpu:
        return (f"{reserved} train on the CPU (device cpu, e.g. #{on_cpu[0].number} {on_cpu[0].label}); pass "
                "--device auto (or remove \"device\": \"cpu\" from the grid), or leave --gpus-per-run out.")
    return None


def describe(arguments, jobs=()):
    """The backend and its resources, for the sweep's opening line."""
    if arguments.backend == "local":
        return f"{arguments.workers} worker(s)" + local_gpus(arguments.workers, jobs)
    if arguments.backend == "ray":
        return ray_where(arguments)
    return f"on Slurm ({slurm_details(arguments)})"


def ray_where(arguments):
    """Which Ray runs the grid, and a cluster running on this machine that the sweep leaves alone."""
    if arguments.address:
        source = " (RAY_ADDRESS)" if getattr(arguments, "address_source", None) == "RAY_ADDRESS" else ""
        where = ("the Ray cluster that --address auto finds" if arguments.address == "auto"
                 else f"the Ray cluster at {arguments.address}{source}")
        return f"on {where}, {resources(arguments)}"
    from sweeps.ray_executor import running_local_cluster
    running = running_local_cluster()
    other = (f" (not the Ray cluster running on this machine at {running}: --address {running} runs the grid on "
             "it)") if running else ""
    return f"on a local Ray instance of its own, {resources(arguments)}{other}"


def local_gpus(workers, jobs):
    """How the local workers share this machine's GPUs (as LocalExecutor does), for the opening line."""
    import devices
    from devices.sharing import shared_gpu_environment, worker_gpu
    from sweeps.execution import uses_gpu
    running = [job for job in jobs if job.action.executes]
    gpus = devices.visible_gpus() if any(uses_gpu(job.config) for job in running) else []
    if not gpus or not running:
        return ""
    at_once = min(workers, len(running))
    _, share = worker_gpu(0, at_once, gpus)
    fraction = shared_gpu_environment(os.environ, share).get("XLA_PYTHON_CLIENT_MEM_FRACTION")
    memory = f"JAX memory fraction {fraction} each" if fraction else "memory as your XLA_PYTHON_CLIENT_* say"
    if share < 1:
        from devices.mps import mps_status
        sharing = f"{round(1 / share)} runs per GPU, {memory}; {mps_status()[1]}"
    else:
        sharing = "one run per GPU"
    return f" on GPU(s) {', '.join(gpus[:at_once])} ({sharing})"


def resources(arguments):
    return f"{arguments.cpus_per_run:g} CPU(s) and {arguments.gpus_per_run:g} GPU(s) per run"


def slurm_details(arguments):
    partition = f"partition {arguments.partition}" if arguments.partition else "the default partition"
    at_once = f", at most {arguments.array_parallelism} at a time" if arguments.array_parallelism else ""
    return (f"{partition}, {resources(arguments)}, {arguments.time_min} min each{at_once}; Slurm logs under "
            f"{arguments.slurm_folder}")


def make_executor(arguments, on_start, on_end):
    """The executor that --executor names; an ExecutorError (one sentence) when it cannot be used."""
    from sweeps.execution import LocalExecutor
    if arguments.backend == "local":
        return LocalExecutor(arguments.workers, on_start, on_end)
    if arguments.backend == "ray":
        from sweeps.ray_executor import RayExecutor
        return RayExecutor(on_start, on_end, arguments.outputpath, address=arguments.address,
                           cpus_per_run=arguments.cpus_per_run, gpus_per_run=arguments.gpus_per_run,
                           address_source=getattr(arguments, "address_source", "--address"))
    from sweeps.slurm_executor import SlurmExecutor
    from sweeps.slurm_queue import SlurmQueue
    queue = SlurmQueue(arguments.slurm_folder, partition=arguments.partition, time_min=arguments.time_min,
                       cpus_per_run=arguments.cpus_per_run, gpus_per_run=arguments.gpus_per_run,
                       array_parallelism=arguments.array_parallelism)
    grid_name = os.path.splitext(os.path.basename(arguments.grid))[0]
    return SlurmExecutor(on_start, on_end, arguments.slurm_folder, queue, wait=not arguments.no_wait,
                         grid_name=grid_name)


def dry_run_notes(arguments, jobs):
    """{job number: note} for --dry-run (on Slurm: the runs in Slurm already), and a closing line or None."""
    if arguments.backend != "slurm":
        return {}, None
    from sweeps.execution import ExecutorError
    opening = f"On Slurm ({slurm_details(arguments)}): "
    try:
        in_slurm = make_executor(arguments, None, None).in_slurm(jobs)
    except ExecutorError as error:
        return {}, f"{opening}the runs to run or resume would be submitted as one job array ({error})"
    notes = {number: f"in Slurm already as task {task_id}: followed, not submitted again"
             for number, task_id in in_slurm.items()}
    submitted = sum(job.action.executes and job.number not in in_slurm for job in jobs)
    return notes, f"{opening}{submitted} run(s) would be submitted as one job array, {len(in_slurm)} followed."
