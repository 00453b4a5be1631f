"""Runs that share GPUs (devices/sharing.py): the environment each backend gives its runs' processes, and the
--gpus-per-run refusals. No GPU needed: the NVIDIA driver's folder of GPUs is a temporary folder with N entries,
and the runs' command is a Python one-liner that writes its environment to a file."""

import json
import os
import subprocess
import sys
import types

import pytest

import devices.selection
import Sweep
from config import RunConfig
from conftest import REPOSITORY
from devices.sharing import memory_fraction, shared_gpu_environment, user_memory_settings, worker_gpu
from runner.existing_runs import Action
from sweeps import backends, execution, ray_executor, ray_task
from sweeps.execution import Job, LocalExecutor, continue_command, trainer_command
from sweeps.grid import load_grid
from sweeps.slurm_task import SlurmTask
from test_sweep import TINY, TINY_WITHOUT_BACKEND, sweep, write_grid

MEMORY_VARIABLES = ("XLA_PYTHON_CLIENT_PREALLOCATE", "XLA_PYTHON_CLIENT_MEM_FRACTION", "TF_FORCE_GPU_ALLOW_GROWTH")
# A run's process: writes its environment to FOLDER/NUMBER.json, then waits until COUNT of them have (so that
# every worker thread runs exactly one run, and each slot is seen once).
DUMP_ENVIRONMENT = """
import json, os, sys, time
folder, number, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(os.path.join(folder, number + ".tmp"), "w") as handle:
    json.dump(dict(os.environ), handle)
os.replace(os.path.join(folder, number + ".tmp"), os.path.join(folder, number + ".json"))
deadline = time.monotonic() + 60
while sum(name.endswith(".json") for name in os.listdir(folder)) < count and time.monotonic() < deadline:
    time.sleep(0.01)
"""


@pytest.fixture
def sweep_environment(monkeypatch):
    """The sweep's own environment without the variables under test."""
    for name in (*MEMORY_VARIABLES, "CUDA_VISIBLE_DEVICES", "XLA_PYTHON_CLIENT_ALLOCATOR"):
        monkeypatch.delenv(name, raising=False)


def fake_gpus(monkeypatch, folder, count):
    """Makes the driver show `count` GPUs (devices.visible_gpus reads one entry per GPU)."""
    folder.mkdir()
    for index in range(count):
        (folder / f"0000:0{index + 1}:00.0").mkdir()
    monkeypatch.setattr(devices.selection, "NVIDIA_GPUS_FOLDER", str(folder))


def jobs_of(count, **settings):
    return [Job(number, RunConfig(backend="jax", **settings), Action("run"), f"run {number}")
            for number in range(1, count + 1)]


def run_locally(tmp_path, monkeypatch, workers, jobs):
    """The environments of the runs' processes when the real LocalExecutor runs `jobs` with `workers` workers."""
    folder = tmp_path / "environments"
    folder.mkdir()
    at_once = min(workers, len(jobs))
    numbers = iter(range(1, len(jobs) + 1))
    monkeypatch.setattr(execution, "trainer_command", lambda config, action, pack_file=None: [
        sys.executable, "-c", DUMP_ENVIRONMENT, str(folder), str(next(numbers)), str(at_once)])
    ends = []
    LocalExecutor(workers, lambda job: None, lambda job, code, *rest: ends.append(code),
                  print_line=lambda line: None).run(jobs)
    assert ends == [0] * len(jobs)
    return [json.loads((folder / f"{number}.json").read_text()) for number in range(1, len(jobs) + 1)]


# The policy ----------------------------------------------------------------------------------------------------
def test_a_shared_gpu_gets_a_bounded_fraction_without_preallocation_and_a_whole_one_the_defaults():
    assert shared_gpu_environment({}, 0.5, gpu="1") == {
        "CUDA_VISIBLE_DEVICES": "1", "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
        "XLA_PYTHON_CLIENT_MEM_FRACTION": "0.45", "TF_FORCE_GPU_ALLOW_GROWTH": "true"}
    assert shared_gpu_environment({}, 0.25)["XLA_PYTHON_CLIENT_MEM_FRACTION"] == "0.225"
    assert [memory_fraction(share) for share in (1 / 3, 1 / 7, 1e-6)] == [0.3, 0.128, 0.001]
    assert shared_gpu_environment({}, 1, gpu="0") == {"CUDA_VISIBLE_DEVICES": "0"}
    assert shared_gpu_environment({}, 1) == {}
    with pytest.raises(ValueError):
        shared_gpu_environment({}, 0)


def test_the_users_own_memory_settings_win():
    own = {"XLA_PYTHON_CLIENT_ALLOCATOR": "platform", "TF_FORCE_GPU_ALLOW_GROWTH": "false", "HOME": "/root"}
    assert shared_gpu_environment(own, 0.5, gpu="0") == {"CUDA_VISIBLE_DEVICES": "0"}
    assert user_memory_settings(own) == {"XLA_PYTHON_CLIENT_ALLOCATOR": "platform",
                                         "TF_FORCE_GPU_ALLOW_GROWTH": "false"}


def test_local_workers_go_round_the_gpus_and_share_each_equally():
    assert [worker_gpu(slot, 4, ["0", "1"]) for slot in range(4)] == [("0", 0.5), ("1", 0.5)] * 2
    assert [worker_gpu(slot, 3, ["0", "1"]) for slot in range(3)] == [("0", 0.5), ("1", 0.5), ("0", 0.5)]
    assert [worker_gpu(slot, 2, ["2", "5", "7"]) for slot in range(2)] == [("2", 1), ("5", 1)]
    assert worker_gpu(0, 1, ["0"]) == ("0", 1)


# Local backend ---------------------------------------------------------------------------------------------------
def test_four_local_workers_on_two_gpus_are_pinned_round_them_with_a_bounded_share(tmp_path, monkeypatch,
                                                                                  sweep_environment):
    fake_gpus(monkeypatch, tmp_path / "gpus", 2)
    environments = run_locally(tmp_path, monkeypatch, 4, jobs_of(4))
    assert sorted(environment["CUDA_VISIBLE_DEVICES"] for environment in environments) == ["0", "0", "1", "1"]
    for environment in environments:
        assert environment["XLA_PYTHON_CLIENT_MEM_FRACTION"] == "0.45"
        assert environment["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
        assert environment["TF_FORCE_GPU_ALLOW_GROWTH"] == "true" and environment["PYTHONUNBUFFERED"] == "1"


def test_the_users_mem_fraction_is_left_alone_and_the_gpus_that_cuda_visible_devices_allows_are_used(
        tmp_path, monkeypatch, sweep_environment):
    fake_gpus(monkeypatch, tmp_path / "gpus", 4)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,3")
    monkeypatch.setenv("XLA_PYTHON_CLIENT_MEM_FRACTION", "0.2")
    environments = run_locally(tmp_path, monkeypatch, 4, jobs_of(4))
    assert sorted(environment["CUDA_VISIBLE_DEVICES"] for environment in environments) == ["2", "2", "3", "3"]
    assert {environment["XLA_PYTHON_CLIENT_MEM_FRACTION"] for environment in environments} == {"0.2"}
    assert not any("XLA_PYTHON_CLIENT_PREALLOCATE" in environment for environment in environments)


@pytest.mark.parametrize("gpus, device", [(2, "cpu"), (0, "auto")])
def test_runs_on_the_cpu_or_a_machine_without_gpus_get_the_sweeps_environment(tmp_path, monkeypatch,
                                                                              sweep_environment, gpus, device):
    fake_gpus(monkeypatch, tmp_path / "gpus", gpus)
    environments = run_locally(tmp_path, monkeypatch, 2, jobs_of(2, device=device))
    for environment in environments:
        assert not {"CUDA_VISIBLE_DEVICES", *MEMORY_VARIABLES} & set(environment)


def test_a_single_worker_on_a_single_gpu_keeps_the_backends_defaults(tmp_path, monkeypatch, sweep_environment):
    fake_gpus(monkeypatch, tmp_path / "gpus", 1)
    (environment,) = run_locally(tmp_path, monkeypatch, 1, jobs_of(1))
    assert environment["CUDA_VISIBLE_DEVICES"] == "0" and not set(MEMORY_VARIABLES) & set(environment)


def test_the_opening_line_says_how_the_workers_share_the_gpus(tmp_path, monkeypatch, sweep_environment):
    fake_gpus(monkeypatch, tmp_path / "gpus", 2)
    monkeypatch.setenv("CUDA_MPS_PIPE_DIRECTORY", str(tmp_path / "mps"))  # no MPS daemon runs here
    arguments = types.SimpleNamespace(backend="local", workers=4)
    assert backends.describe(arguments, jobs_of(4)) == (
        "4 worker(s) on GPU(s) 0, 1 (2 runs per GPU, JAX memory fraction 0.45 each; time-sliced: no MPS control "
        "daemon runs; `nvidia-cuda-mps-control -d` lets the runs share the GPU at once (docs/GPUS.md))")
    (tmp_path / "mps").mkdir()
    os.mkfifo(tmp_path / "mps" / "control")  # what the daemon keeps while it runs
    assert backends.describe(arguments, jobs_of(4)) == (
        f"4 worker(s) on GPU(s) 0, 1 (2 runs per GPU, JAX memory fraction 0.45 each; MPS active (control pipe "
        f"{tmp_path / 'mps' / 'control'}))")
    assert backends.describe(arguments, jobs_of(2)) == "4 worker(s) on GPU(s) 0, 1 (one run per GPU)"
    assert backends.describe(arguments, jobs_of(4, device="cpu")) == "4 worker(s)"


def test_mps_counts_as_active_when_its_daemon_runs_or_its_control_pipe_is_there(tmp_path):
    from devices.mps import mps_status
    proc = tmp_path / "proc"
    for pid, name in ((12, "python3"), (40, "nvidia-cuda-mps"), (41, "nvidia-smi")):
        (proc / str(pid)).mkdir(parents=True)
        (proc / str(pid) / "comm").write_text(name + "\n")
    (proc / "self").mkdir()
    empty = {"CUDA_MPS_PIPE_DIRECTORY": str(tmp_path / "none")}
    assert mps_status(empty, proc_root=proc) == (True, "MPS active (its daemon is process 40)")
    (proc / "40" / "comm").write_text("nvidia-smi\n")
    assert mps_status(empty, proc_root=proc)[0] is False
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "control").write_text("")  # a plain file is not the daemon's pipe
    assert mps_status(empty, proc_root=proc)[0] is False


# Ray -------------------------------------------------------------------------------------------------------------
def test_a_ray_task_gets_its_fraction_of_a_gpu_as_its_memory_share_and_the_users_run_settings():
    jax = RunConfig(backend="jax")
    assert ray_executor.task_environment(jax, 0.25, {}) == {
        "XLA_PYTHON_CLIENT_PREALLOCATE": "false", "XLA_PYTHON_CLIENT_MEM_FRACTION": "0.225",
        "TF_FORCE_GPU_ALLOW_GROWTH": "true"}
    assert ray_executor.task_environment(jax, 1, {}) == {}  # a whole GPU: the defaults; Ray sets the GPU
    assert ray_executor.task_environment(jax, 0, {}) == {}
    assert ray_executor.task_environment(jax.replace(device="cpu"), 0.25, {}) == {}
    own = {"XLA_PYTHON_CLIENT_MEM_FRACTION": "0.1", "PATH": "/bin"}
    assert ray_executor.task_environment(jax, 0.25, own) == {"XLA_PYTHON_CLIENT_MEM_FRACTION": "0.1",
                                                            "TF_FORCE_GPU_ALLOW_GROWTH": "true"}
    # what the user set for the sweep's runs reaches those on other nodes, which do not inherit the sweep's environment
    settings = {"MASKTRAINER_JAX_CACHE": "on", "MASKTRAINER_XLA_AUTOTUNE_CACHE": "/shared/autotune",
                "XLA_FLAGS": "--xla_gpu_deterministic_ops=false", "JAX_COMPILATION_CACHE_DIR": "/shared/jax",
                "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "2", "JAX_COMPILATION_CACHE_MAX_SIZE": "1000000",
                "KERAS_HOME": "/shared/keras"}
    assert ray_executor.task_environment(jax, 1, {**settings, "PATH": "/bin", "HOME": "/home/me"}) == settings
    worker = {"CUDA_VISIBLE_DEVICES": "3", "PATH": "/bin"}  # what Ray gives the task's worker
    assert ray_task.process_environment(worker, {"XLA_PYTHON_CLIENT_MEM_FRACTION": "0.225"}) == {
        **worker, "PYTHONUNBUFFERED": "1", "XLA_PYTHON_CLIENT_MEM_FRACTION": "0.225"}


def test_ray_refuses_jax_runs_that_reserve_no_gpu_on_a_cluster_with_gpus():
    jax, tensorflow = RunConfig(backend="jax"), RunConfig(backend="tensorflow")
    problem = ray_executor.unreserved_gpus_problem(4, 0, [tensorflow, jax])
    assert problem.startswith("The Ray cluster has 4 GPU(s), but Ray hides them from runs that reserve none")
    assert "--gpus-per-run 1" in problem and "--device cpu" in problem and problem.count(". ") == 0
    assert ray_executor.unreserved_gpus_problem(0, 0, [jax]) is None
    assert ray_executor.unreserved_gpus_problem(4, 0.25, [jax]) is None
    assert ray_executor.unreserved_gpus_problem(4, 0, [tensorflow, jax.replace(device="cpu")]) is None


def test_ray_says_when_no_node_can_take_a_run_as_reserved():
    fits = ray_executor.unfit_reservation_problem
    assert fits([{"CPU": 2, "GPU": 1}], 1, 1, own_instance=True) is None
    assert fits([{"CPU": 2}], 1, 0.25, own_instance=True) == (
        "Each run reserves 1 CPU(s) and 0.25 GPU(s) (--cpus-per-run, --gpus-per-run), but this machine's Ray "
        "instance has only 0 GPU(s); pass smaller reservations, or run the grid on a cluster that has them "
        "(--address).")
    assert fits([{"CPU": 8}, {"CPU": 1, "GPU": 1}], 2, 1, own_instance=False) == (
        "Each run reserves 2 CPU(s) and 1 GPU(s) (--cpus-per-run, --gpus-per-run), but no node of the Ray cluster "
        "has both; the runs wait until such a node joins (Ctrl-C stops the sweep).")
    assert "the Ray cluster has at most 2 CPU(s) on a node;" in fits([{"CPU": 2}, {"CPU": 1}], 4, 0, False)


# Slurm -----------------------------------------------------------------------------------------------------------
def test_a_slurm_task_runs_its_run_with_slurms_gpus_and_no_sharing(tmp_path, monkeypatch, sweep_environment):
    config = RunConfig(backend="jax", device="gpu", outputpath=str(tmp_path))
    command = continue_command(config)
    assert command[2] == "--continue" and command[command.index("--device") + 1] == "gpu"
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "3")  # what Slurm sets for a task's reserved GPU
    (tmp_path / "environments").mkdir()
    dump = [sys.executable, "-c", DUMP_ENVIRONMENT, str(tmp_path / "environments"), "1", "1"]
    SlurmTask(dump, str(REPOSITORY), str(tmp_path / "record.json"))()
    environment = json.loads((tmp_path / "environments" / "1.json").read_text())
    assert environment["CUDA_VISIBLE_DEVICES"] == "3" and not set(MEMORY_VARIABLES) & set(environment)


# The flags -------------------------------------------------------------------------------------------------------
def test_a_resumed_run_keeps_the_device_its_grid_asks_for():
    resume = Action("resume", logs_path="Outputs/run_logs.json")
    command = trainer_command(RunConfig(backend="jax", device="cpu"), resume)
    assert command[-2:] == ["--device", "cpu"]
    assert "--device" not in trainer_command(RunConfig(backend="jax"), resume)


def test_device_flag_sets_the_device_of_runs_whose_grid_sets_none(tmp_path):
    result = sweep(write_grid(tmp_path, seeds=(1,)), "--outputpath", tmp_path / "Outputs", "--device", "cpu",
                   "--keras-backend", "jax", "--dry-run")
    assert result.returncode == 0, result.stderr
    pinned = write_grid(tmp_path, name="pinned.json", seeds=(1,), base={**TINY, "device": "gpu"})
    assert {config.device for config in load_grid(pinned, defaults={"device": "cpu"}).runs} == {"gpu"}
    assert "--device {auto,cpu,gpu}" in " ".join(Sweep.build_parser().format_help().split())


@pytest.mark.parametrize("flags, message", [
    (["--executor", "ray", "--gpus-per-run", "1"],
     ('--gpus-per-run 1 reserves GPUs for runs that train on tensorflow, which this project installs without GPU '
      'support (e.g. #1 traintype=Baseline masktype=mask seed=1); pass --keras-backend jax (or set "backend": "jax" '
      'in the grid), or leave --gpus-per-run out.')),
    (["--executor", "slurm", "--gpus-per-run", "1", "--keras-backend", "jax", "--device", "cpu"],
     "--gpus-per-run 1 reserves GPUs for runs that train on the CPU (device cpu, e.g. #1"),
    (["--executor", "ray", "--gpus-per-run", "0.25", "--keras-backend", "tensorflow"], "--keras-backend jax"),
])
def test_gpus_reserved_for_runs_that_cannot_use_them_are_refused_in_one_sentence(tmp_path, flags, message):
    result = sweep(write_grid(tmp_path, seeds=(1,), base=TINY_WITHOUT_BACKEND), "--outputpath", tmp_path / "Outputs",
                   *flags)
    assert result.returncode == 2 and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr, result.stderr


def test_a_reservation_that_the_sweeps_own_ray_instance_cannot_take_is_refused_in_one_sentence(tmp_path):
    """Ray would keep the tasks pending for ever, and the sweep would wait without a word. (Sweep.py in a process of
    its own: Ray keeps per-process state between ray.init calls.)"""
    output = tmp_path / "Outputs"
    result = subprocess.run([sys.executable, "Sweep.py", str(write_grid(tmp_path, seeds=(1,))), "--outputpath",
                             str(output), "--executor", "ray", "--gpus-per-run", "64"], cwd=REPOSITORY,
                            capture_output=True, text=True, timeout=300, check=False,
                            env={key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"})
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert ("Each run reserves 1 CPU(s) and 64 GPU(s) (--cpus-per-run, --gpus-per-run), but this machine's Ray "
            "instance has only ") in result.stderr
    assert not list(output.rglob("*_logs.json"))


def test_gpus_reserved_for_jax_runs_pass(tmp_path):
    result = sweep(write_grid(tmp_path, seeds=(1,)), "--outputpath", tmp_path / "Outputs", "--executor", "ray",
                   "--gpus-per-run", "0.5", "--keras-backend", "jax", "--dry-run")
    assert result.returncode == 0, result.stderr


@pytest.fixture
def environment_restored():
    """This process's environment as it was, afterwards: ray.init writes RAY_* variables into it, which the Ray
    processes of later tests would inherit (RAY_AUTH_MODE=token, against tests/test_sweep_ray.py's head)."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_a_real_ray_task_gets_rays_gpu_and_its_memory_share(tmp_path, monkeypatch, sweep_environment,
                                                           environment_restored):
    """One local Ray instance that declares a GPU (Ray schedules by declared resources): two runs of half a GPU
    each run on it at once, Ray sets their CUDA_VISIBLE_DEVICES and the sweep their memory share."""
    ray = pytest.importorskip("ray", reason="needs Ray (pip install -r requirements-dev.txt)")
    os.environ["RAY_AUTH_MODE"] = "disabled"  # a test instance on this machine, as in test_sweep_ray.py
    folder = tmp_path / "environments"
    folder.mkdir()
    commands = iter([[sys.executable, "-c", DUMP_ENVIRONMENT, str(folder), str(number), "2"] for number in (1, 2)])
    monkeypatch.setattr(ray_executor, "continue_command", lambda config, pack_file=None: next(commands))
    initialise = ray.init
    monkeypatch.setattr(ray, "init", lambda **options: initialise(num_gpus=1, **options))
    ends = []
    executor = ray_executor.RayExecutor(lambda job: None, lambda job, code, *rest: ends.append(code),
                                        str(tmp_path / "Outputs"), gpus_per_run=0.5, print_line=lambda line: None)
    executor.run(jobs_of(2))
    assert ends == [0, 0]
    for number in (1, 2):
        environment = json.loads((folder / f"{number}.json").read_text())
        assert environment["CUDA_VISIBLE_DEVICES"] == "0" and environment["XLA_PYTHON_CLIENT_MEM_FRACTION"] == "0.45"
