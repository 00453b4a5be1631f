"""The single-node Slurm of scripts/local_slurm.sh for the tests: started once (installing Slurm where it is
missing), stopped at the end when these tests started it; without root or the packages, the tests skip."""

import os
import subprocess
import warnings

import pytest

from conftest import REPOSITORY

SCRIPT = REPOSITORY / "scripts" / "local_slurm.sh"
START_TIMEOUT_S = 600  # the first start may install slurm-wlm and munge


def skip(reason):
    """Skips the real-Slurm tests; the reason also goes to pytest's warnings summary, which -q shows."""
    warnings.warn(f"tests/test_slurm.py skipped: {reason}", pytest.PytestWarning, stacklevel=2)
    pytest.skip(reason)


def last_line(text):
    lines = text.strip().splitlines()
    return lines[-1].removeprefix("local_slurm.sh: error: ") if lines else "no reason given"


@pytest.fixture(scope="module")
def quick_polls():
    """The sweep asks for its tasks' records and squeue more often than on a cluster (tests' time)."""
    from sweeps import slurm_executor
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(slurm_executor, "POLL_S", 0.1)
        patch.setattr(slurm_executor, "SETTLE_CHECK_S", 0.3)
        patch.setattr(slurm_executor, "QUEUE_CHECK_S", 1)
        yield


@pytest.fixture(scope="module")
def slurm_cluster():
    """Starts the cluster (or finds it running) and points SLURM_CONF at it for this process and its children."""
    if os.geteuid() != 0:
        skip("no real Slurm: starting the single-node Slurm (scripts/local_slurm.sh) needs root")
    try:
        started = subprocess.run(["bash", str(SCRIPT), "start"], capture_output=True, text=True,
                                 timeout=START_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        skip(f"no real Slurm: scripts/local_slurm.sh start took over {START_TIMEOUT_S} s")
    if started.returncode != 0:
        skip(f"no real Slurm: scripts/local_slurm.sh start failed ({last_line(started.stderr)})")
    conf = started.stdout.strip().rsplit("SLURM_CONF=", 1)[-1]
    previous = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = conf
    yield conf
    if previous is None:
        del os.environ["SLURM_CONF"]
    else:
        os.environ["SLURM_CONF"] = previous
    if "already running" not in started.stdout:
        subprocess.run(["bash", str(SCRIPT), "stop"], capture_output=True, timeout=120, check=False)
