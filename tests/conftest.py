"""Makes the repository importable and TensorFlow quiet for every test."""

import os
import sys
from importlib.util import find_spec
from pathlib import Path

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
    "test_backend_jax", "test_combinations", "test_end_to_end", "test_export", "test_gpu_check", "test_lottery",
    "test_machine_independence", "test_pack", "test_partial_batch", "test_plotter", "test_pruning_at_init_runs",
    "test_reporting_figure_data", "test_reporting_figures", "test_reporting_paper_table", "test_reporting_runs",
    "test_pruning_at_init_report", "test_resume", "test_slurm", "test_slurm_local", "test_sweep", "test_sweep_gpu",
    "test_sweep_pack", "test_sweep_ray", "test_tensorboard",
}


# The modules that start a Ray head or a Slurm: under pytest-xdist (`make test` runs two workers) they share one
# worker, one after another, so that no two clusters compete for the same ports, daemons and state.
CLUSTER_MODULES = {"test_machine_independence", "test_slurm", "test_slurm_local", "test_sweep_gpu", "test_sweep_pack",
                   "test_sweep_ray"}


def pytest_collection_modifyitems(config, items):
    import pytest
    for item in items:
        if item.module.__name__.rsplit(".", 1)[-1] in SLOW_MODULES or "both_backends" in item.name:
            item.add_marker(pytest.mark.slow)


def module_scope(nodeid):
    """A test's unit of scheduling under pytest-xdist: its module, so that module-scoped runs are made once, or
    'clusters' for the modules that start clusters."""
    path = nodeid.split("::", 1)[0]
    name = path.rsplit("/", 1)[-1].removesuffix(".py")
    return "clusters" if name in CLUSTER_MODULES else path


def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return module_scope(nodeid)

    return ModuleScheduling(config, log)


if find_spec("xdist") is None:  # only pytest-xdist declares the hook; a plain pytest would refuse it
    del pytest_xdist_make_scheduler
