"""The cluster backends whatever the machine holds (issue 25): Ray's record of a cluster left by a head that was
killed (a stale ray_current_cluster), a RAY_ADDRESS where nothing answers, and Slurm installed but not configured
(no SLURM_CONF, no slurm.conf, no controller) or pointed at a configuration file that is not there. Each ends in a
local Ray instance of the sweep's own or in one sentence, exit 2, nothing written; never a traceback or a wait of
minutes. A running Ray head recorded on this machine: tests/test_sweep_ray.py.

Every test makes its situation itself, so none depends on what runs here: Ray's record lives in a Ray temp folder of
the test's own (RAY_TMPDIR), and Slurm's answers come from the real commands where this machine has them without a
configuration, and from stand-ins that answer as Slurm 22.05 does everywhere."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import types

import pytest

from conftest import REPOSITORY
from sweeps import backends, ray_executor
from sweeps.execution import ExecutorError
from test_sweep import sweep, write_grid

# What Slurm 22.05's commands print when they find no configuration (Debian 12's slurm-wlm, SLURM_CONF unset, no
# /etc/slurm/slurm.conf, no DNS SRV record of a controller), and their exit code.
UNCONFIGURED_SLURM = """resolve_ctls_from_dns_srv: res_nsearch error: Unknown host
fetch_config: DNS SRV lookup failed
_establish_config_source: failed to fetch config
"""
NOT_CONFIGURED = "Slurm is installed here but has no configuration: SLURM_CONF is not set"
POINT_AT_IT = "export SLURM_CONF=/path/to/slurm.conf, or run Sweep.py on the cluster's login node"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def one_sentence(result):
    lines = result.stderr.strip().splitlines()
    return result.returncode == 2 and len(lines) == 1 and "Traceback" not in result.stderr


# Ray ------------------------------------------------------------------------------------------------------------
@pytest.fixture
def stale_ray_record():
    """A Ray temp folder of the test's own whose record names a cluster that is gone (nothing listens there)."""
    temp_folder = tempfile.mkdtemp(prefix="ray-stale-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    os.makedirs(os.path.join(temp_folder, "ray"))
    address = f"127.0.0.1:{free_port()}"
    with open(os.path.join(temp_folder, "ray", "ray_current_cluster"), "w", encoding="utf-8") as handle:
        handle.write(address)
    yield types.SimpleNamespace(temp_folder=temp_folder, address=address)
    shutil.rmtree(temp_folder, ignore_errors=True)


def sweep_process(*arguments, timeout=300, **variables):
    """Sweep.py in its own process (Ray keeps per-process state), without the user's RAY_ADDRESS, plus variables."""
    environment = {key: value for key, value in os.environ.items() if key != "RAY_ADDRESS"}
    return subprocess.run([sys.executable, "Sweep.py", *map(str, arguments)], cwd=REPOSITORY, capture_output=True,
                          text=True, timeout=timeout, env={**environment, **variables}, check=False)


def test_a_stale_ray_record_is_ignored_without_address_and_named_in_one_sentence_with_address_auto(
        tmp_path, stale_ray_record):
    pytest.importorskip("ray", reason="the Ray backend's tests need Ray (pip install -r requirements-dev.txt)")
    grid = write_grid(tmp_path, seeds=[1], grid={}, rules=[])
    local = sweep_process(grid, "--outputpath", tmp_path / "local", "--executor", "ray",
                          RAY_TMPDIR=stale_ray_record.temp_folder)
    assert local.returncode == 0, local.stdout + local.stderr
    assert "on a local Ray instance of its own, 1 CPU(s) and 0 GPU(s) per run." in local.stdout
    assert "1 finished" in local.stdout
    started = time.monotonic()
    auto = sweep_process(grid, "--outputpath", tmp_path / "auto", "--executor", "ray", "--address", "auto",
                         RAY_TMPDIR=stale_ray_record.temp_folder)
    assert one_sentence(auto) and time.monotonic() - started < 60, auto.stderr  # Ray alone waits for minutes
    record = os.path.join(stale_ray_record.temp_folder, "ray", "ray_current_cluster")
    assert (f"No Ray cluster answers at {stale_ray_record.address} (--address auto, from {record}: Connection "
            "refused); start its head with `ray start --head --port PORT`, or leave --address out for a local Ray "
            "instance.") in auto.stderr
    assert not list((tmp_path / "auto").rglob("*_logs.json"))


def test_a_ray_address_where_nothing_answers_is_named_in_one_sentence(tmp_path):
    pytest.importorskip("ray", reason="the Ray backend's tests need Ray (pip install -r requirements-dev.txt)")
    address = f"127.0.0.1:{free_port()}"
    result = sweep_process(write_grid(tmp_path, seeds=[1]), "--outputpath", tmp_path / "Outputs", "--executor", "ray",
                           RAY_ADDRESS=address)
    assert one_sentence(result), result.stderr
    assert f"on the Ray cluster at {address} (RAY_ADDRESS)" in result.stdout
    assert (f"No Ray cluster answers at {address} (RAY_ADDRESS: Connection refused)" in result.stderr
            and "correct RAY_ADDRESS (unset, a local Ray instance runs the grid)" in result.stderr)
    assert not list((tmp_path / "Outputs").rglob("*_logs.json"))


@pytest.mark.parametrize("flag, variable, address, source", [
    (None, None, None, "--address"),
    (None, "10.0.0.1:6379", "10.0.0.1:6379", "RAY_ADDRESS"),
    ("10.0.0.2:6379", "10.0.0.1:6379", "10.0.0.2:6379", "--address"),  # the flag wins
    (None, "local", None, "RAY_ADDRESS"),
    ("local", None, None, "--address"),
    ("auto", None, "auto", "--address"),
])
def test_which_ray_the_sweep_uses(flag, variable, address, source):
    arguments = types.SimpleNamespace(address=flag)
    backends.resolve_ray_address(arguments, {} if variable is None else {"RAY_ADDRESS": variable})
    assert (arguments.address, arguments.address_source) == (address, source)


def test_a_ray_client_address_is_refused_in_one_sentence():
    with pytest.raises(ExecutorError, match=r"^The Ray address ray://10.0.0.1:10001 \(RAY_ADDRESS\) is not HOST:PORT"):
        ray_executor.check_reachable("ray://10.0.0.1:10001", "RAY_ADDRESS")


def test_rays_temp_folder_is_found_as_ray_finds_it():
    assert ray_executor.ray_temp_folder({"RAY_TMPDIR": "/a", "TMPDIR": "/b"}) == "/a/ray"
    assert ray_executor.ray_temp_folder({"TMPDIR": "/b"}) == ("/b/ray" if sys.platform.startswith("linux")
                                                             else "/tmp/ray")
    assert ray_executor.ray_temp_folder({}) == "/tmp/ray"
    ray = pytest.importorskip("ray", reason="compared with Ray's own answer where Ray is installed")
    from ray._common.utils import get_default_ray_temp_dir
    assert ray_executor.ray_temp_folder() == get_default_ray_temp_dir(), ray.__version__


# Slurm ----------------------------------------------------------------------------------------------------------
def slurm_stand_ins(folder, stderr, code=1):
    """Slurm's commands as a folder of scripts that print `stderr` as each command's own and exit with `code`."""
    folder.mkdir()
    for command in ("sbatch", "squeue", "scancel", "srun"):
        lines = "".join(f"{command}: error: {line}\n" for line in stderr.splitlines())
        script = folder / command
        script.write_text(f"#!/bin/sh\ncat >&2 <<'EOF'\n{lines}{command}: fatal: Could not establish a "
                          f"configuration source\nEOF\nexit {code}\n")
        script.chmod(0o755)
    return folder


def unconfigured_real_slurm():
    """Why this machine's own Slurm cannot show an unconfigured Slurm, or None when it can: its commands are
    installed and find no configuration without SLURM_CONF."""
    if shutil.which("sbatch") is None:
        return "Slurm's commands are not installed here"
    environment = {key: value for key, value in os.environ.items() if key != "SLURM_CONF"}
    probe = subprocess.run(["sbatch", "--version"], capture_output=True, text=True, env=environment, timeout=90,
                           check=False)
    if probe.returncode == 0:
        return "Slurm here finds a configuration without SLURM_CONF"
    return None


@pytest.mark.parametrize("slurm", ["this machine's", "stand-ins"])
def test_slurm_installed_but_not_configured_is_named_in_one_sentence_and_nothing_is_written(tmp_path, monkeypatch,
                                                                                             slurm):
    pytest.importorskip("submitit", reason="the Slurm backend's tests need submitit (pip install -r requirements.txt)")
    monkeypatch.delenv("SLURM_CONF", raising=False)
    if slurm == "stand-ins":
        folder = slurm_stand_ins(tmp_path / "bin", UNCONFIGURED_SLURM)
        monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    elif unconfigured_real_slurm():
        pytest.skip(unconfigured_real_slurm())
    output = tmp_path / "Outputs"
    result = sweep(write_grid(tmp_path, seeds=[1]), "--outputpath", output, "--executor", "slurm")
    assert one_sentence(result), result.stderr
    assert NOT_CONFIGURED in result.stderr and POINT_AT_IT in result.stderr and "res_nsearch" not in result.stderr
    assert not output.exists()
    dry = sweep(write_grid(tmp_path, seeds=[1]), "--outputpath", output, "--executor", "slurm", "--dry-run")
    assert dry.returncode == 0 and NOT_CONFIGURED in dry.stdout


@pytest.mark.parametrize("configuration", ["missing.conf", ""])
def test_a_slurm_conf_that_names_no_file_is_named_in_one_sentence_at_once(tmp_path, monkeypatch, configuration):
    """Slurm itself retries a missing SLURM_CONF for 60 s before it fails."""
    pytest.importorskip("submitit", reason="the Slurm backend's tests need submitit (pip install -r requirements.txt)")
    folder = slurm_stand_ins(tmp_path / "bin", "never run")
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    path = str(tmp_path / configuration) if configuration else ""
    monkeypatch.setenv("SLURM_CONF", path)
    started = time.monotonic()
    result = sweep(write_grid(tmp_path, seeds=[1]), "--outputpath", tmp_path / "Outputs", "--executor", "slurm")
    assert one_sentence(result) and time.monotonic() - started < 10, result.stderr
    assert f"SLURM_CONF is set to {path!r}, which is not a file; point the sweep at" in result.stderr
    assert POINT_AT_IT in result.stderr and not (tmp_path / "Outputs").exists()
