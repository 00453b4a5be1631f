"""Makes the repository importable and TensorFlow quiet for every test; schedules the modules on pytest-xdist's
workers; keeps the tests' Ray state in a temporary folder and checks that the cluster modules leave nothing behind."""

import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from importlib.util import find_spec
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPOSITORY.parent / "shared" / "data" / "mnist"

sys.path.insert(0, str(REPOSITORY))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MASKTRAINER_NO_DOWNLOAD", "1")

from quiet_tensorflow import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()

# The quick tier (`make test-quick`, pytest -m "not slow"): every module but these, which train many runs, start
# clusters or subprocesses, or compare backends step by step. The whole suite (`make test`) runs them all.
SLOW_MODULES = {
    "test_backend_jax", "test_claims", "test_combinations", "test_combinations_jax", "test_end_to_end", "test_export",
    "test_gpu_check", "test_learned_mask_checks", "test_lottery", "test_machine_independence", "test_pack",
    "test_pack_methods", "test_partial_batch", "test_plotter", "test_pruning_at_init_report",
    "test_pruning_at_init_runs", "test_reporting_figure_data", "test_reporting_figures", "test_reporting_paper_table",
    "test_reporting_runs", "test_reporting_published", "test_reporting_sanity", "test_reporting_tradeoff",
    "test_resume", "test_resume_damaged", "test_slurm", "test_slurm_local", "test_sweep", "test_sweep_gpu",
    "test_sweep_pack", "test_sweep_ray", "test_tensorboard",
}

# The modules that start a Ray or a Slurm (or Slurm's tasks), and their group: under pytest-xdist (`make test` runs
# two workers) the modules of a group run one after another on one worker. Two Slurm modules at once would share the
# one local Slurm, which each stops at its end; test_machine_independence reads this machine's Slurm commands, which
# the Slurm fixture installs where they are missing, so it runs before that, in the same group. The Ray heads the
# tests start take free ports, so the Ray group and the Slurm group (whose test_sweep_pack starts one) may run at once.
CLUSTER_MODULES = {"test_machine_independence": "slurm", "test_slurm": "slurm", "test_sweep_pack": "slurm",
                   "test_sweep_gpu": "ray", "test_sweep_ray": "ray", "test_slurm_local": "slurm-local"}
# The modules that read the session's trained runs (tests/fixtures_trained.py): one worker trains them once for all.
TRAINED_RUNS_MODULES = {"test_plotter", "test_pruning_at_init_report", "test_reporting_figure_data",
                        "test_reporting_figures", "test_reporting_paper_table", "test_reporting_runs",
                        "test_reporting_published", "test_reporting_sanity", "test_reporting_tradeoff"}
# What the longest units of scheduling took (seconds of one worker, two workers on the quiet 2-core machine,
# 2026-12-07): the longest start first, so that none starts late and runs on alone at the end. Only their
# order matters; a unit not named here comes after them, in pytest-xdist's order (the most tests first).
EXPECTED_S = {
    "tests/test_combinations.py": 300, "ray": 300, "tests/test_pack.py": 210, "tests/test_backend_jax.py": 190,
    "slurm": 150, "tests/test_combinations_jax.py": 90, "tests/test_resume.py": 130, "tests/test_sweep.py": 95,
    "tests/test_claims.py": 90, "tests/test_pack_methods.py": 85, "trained-runs": 80, "tests/test_export.py": 65,
    "tests/test_mask_trainer.py": 40, "tests/test_devices.py": 40, "tests/test_lottery.py": 30,
    "tests/test_gpu_check.py": 30, "tests/test_resnet.py": 27, "tests/test_pruning_at_init_runs.py": 28,
}

# Every process a test process starts carries this variable, with a value of that test process's own, so that the
# processes a module leaves running are found whoever became their parent.
PROCESS_MARK = "MASKTRAINER_TEST_PROCESS"
# The state folder of scripts/local_slurm.sh, the tests' Slurm.
LOCAL_SLURM_FOLDER = os.environ.get("LOCAL_SLURM_DIR") or "/tmp/local-slurm"


def module_name(nodeid_or_path):
    return str(nodeid_or_path).split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # this process runs the session (pytest-xdist's workers inherit from it)
        # JAX compiles the same programs in many of the tests' processes (runs of one network and method on tiny
        # data); each is compiled once a session, and its executable read from this folder after that. Tracing, and
        # everything the tests check, runs in every process.
        config.jax_cache = tempfile.mkdtemp(prefix="jax-cache-tests-")
        os.environ.update(JAX_COMPILATION_CACHE_DIR=config.jax_cache, JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
                          JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="-1")
        # The tests check behaviour, and agreement between computations made the same way, not XLA's fastest CPU
        # code: without LLVM's optimisations XLA (JAX's, and TensorFlow's under --xla) compiles a quarter faster
        # (measured: tests/packed_steps.py, 114 against 85 s, its packed and solo steps as close as before).
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_backend_optimization_level" not in flags:
            os.environ["XLA_FLAGS"] = f"{flags} --xla_backend_optimization_level=0".strip()
        if getattr(config.option, "numprocesses", None):
            return  # pytest-xdist's controller: it runs no test; each worker takes a Ray folder and a mark of its own
    from sweeps.ray_executor import ray_temp_folder
    config.users_ray_folder = ray_temp_folder()
    config.slurm_folder_was_there = os.path.exists(LOCAL_SLURM_FOLDER)
    # Ray keeps each instance's sessions, sockets and logs and the record of the cluster a head started in its temp
    # folder: the tests' Ray instances keep them in a folder of this process's own (short: Ray's socket paths must fit
    # 107 bytes), removed at the end, never in the user's.
    config.ray_temp_folder = tempfile.mkdtemp(prefix="ray-tests-", dir="/tmp")
    os.environ["RAY_TMPDIR"] = config.ray_temp_folder
    os.environ[PROCESS_MARK] = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"


def pytest_unconfigure(config):
    for folder in (getattr(config, "ray_temp_folder", None), getattr(config, "jax_cache", None)):
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if module_name(item.nodeid) in SLOW_MODULES or "both_backends" in item.name:
            item.add_marker(pytest.mark.slow)


def module_scope(nodeid):
    """A test's unit of scheduling under pytest-xdist: its module, so that module-scoped runs are made once, or the
    group its module belongs to (CLUSTER_MODULES, TRAINED_RUNS_MODULES)."""
    name = module_name(nodeid)
    if name in CLUSTER_MODULES:
        return CLUSTER_MODULES[name]
    return "trained-runs" if name in TRAINED_RUNS_MODULES else nodeid.split("::", 1)[0]


def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return module_scope(nodeid)

        def _assign_work_unit(self, node):
            longest = max(self.workqueue, key=lambda scope: EXPECTED_S.get(scope, 0))  # the first of equals
            self.workqueue.move_to_end(longest, last=False)
            super()._assign_work_unit(node)

    return ModuleScheduling(config, log)


if find_spec("xdist") is None:  # only pytest-xdist declares the hook; a plain pytest would refuse it
    del pytest_xdist_make_scheduler


# What the cluster modules leave behind ---------------------------------------------------------------------------
def paths_under(roots):
    """The folders `roots` that exist, and every file and folder under them."""
    return {root for root in roots if os.path.lexists(root)} | {
        os.path.join(folder, name) for root in roots for folder, folders, files in os.walk(root)
        for name in (*folders, *files)}


def marked_processes(mark):
    """{pid: command line} of the live processes other than this one whose environment holds PROCESS_MARK=mark."""
    wanted, found = f"{PROCESS_MARK}={mark}".encode(), {}
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if int(entry.name) == os.getpid() or wanted not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, ValueError, IndexError):
            continue
    return found


def processes_left(running_before, grace_s=15):
    """The processes this test process started since running_before was taken that still run after grace_s (Ray and
    Slurm stop theirs in the background), each then killed; {pid: command line}."""
    deadline = time.monotonic() + grace_s
    while True:
        left = {pid: command for pid, command in marked_processes(os.environ[PROCESS_MARK]).items()
                if pid not in running_before}
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    return left


def remove_slurm_state(config):
    """The local Slurm's folder, where the tests made it and no daemon runs from it (scripts/local_slurm.sh stop keeps
    it, for a user's look at the logs). Daemons still running are the check's of processes when the tests started
    them, and else belong to someone else's Slurm, started since."""
    folder = LOCAL_SLURM_FOLDER
    if config.slurm_folder_was_there or any(os.path.lexists(os.path.join(folder, name))
                                            for name in ("slurmctld.pid", "slurmd.pid", "munged.pid")):
        return
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def files_outside_the_tests(request):
    """Ray's folder in the home folder (~/.ray: its token file), and the temp folder of the user's own Ray, as they
    were before the first cluster module; and the files already reported. Not the whole home folder: on a fresh
    machine Keras and matplotlib write their settings and caches there on first use, from whichever test comes first.
    (The Slurm folder is not watched: a Slurm someone starts meanwhile writes there.)"""
    roots = [str(Path.home() / ".ray"), request.config.users_ray_folder]
    return roots, paths_under(roots)


@pytest.fixture(scope="module", autouse=True)
def cluster_modules_leave_nothing(request):
    """After each cluster module: no process it started runs on, and no file appeared in ~/.ray or in the
    user's Ray temp folder; otherwise the module's last test fails, naming them."""
    if module_name(request.node.nodeid) not in CLUSTER_MODULES:
        yield
        return
    roots, known = request.getfixturevalue("files_outside_the_tests")
    running_before = marked_processes(os.environ[PROCESS_MARK])
    yield
    module = request.node.nodeid
    left = processes_left(running_before)
    if CLUSTER_MODULES[module_name(module)] == "slurm":  # elsewhere, it may be the Slurm group's, starting
        remove_slurm_state(request.config)
    files = sorted(paths_under(roots) - known)
    known.update(files)  # reported once
    problems = []
    if left:
        problems.append(f"{module} left {len(left)} process(es) running, now killed: "
                        + "; ".join(f"{pid} {command[:100].strip()}" for pid, command in sorted(left.items())))
    if files:
        problems.append(f"files appeared outside the tests' temporary folders while {module} ran (written by it, by "
                        f"tests beside it or by another program): {', '.join(sorted(files))}")
    if problems:
        pytest.fail("; ".join(problems) + ".", pytrace=False)
