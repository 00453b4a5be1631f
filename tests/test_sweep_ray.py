"""Sweep.py --executor ray against a real Ray: a head started as a user starts one (`ray start --head`: 127.0.0.1,
a free port, no dashboard, 2 CPUs) that the sweep joins with --address, and the local instance the sweep starts
itself, of its own even while that head runs and is recorded as this machine's cluster. The tests do not depend on
what else runs here: the head keeps its files and its record in a Ray temp folder of its own, is stopped by killing
exactly its processes (`ray stop` would stop every Ray on the machine), and the sweeps run without the user's
RAY_ADDRESS or token settings. Each head takes free ports for every server of its own (Ray's defaults are fixed, 10001
and 52365), so that the Slurm modules' head may run beside this one. A head with token authentication, joined without
its token, gives one sentence that says where Ray looks for the token."""

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import pytest

from conftest import REPOSITORY
from test_sweep import LONG, TINY, all_logs, sweep, wait_for_epochs, write_grid

pytest.importorskip("ray", reason="the Ray backend's tests need Ray (pip install -r requirements-dev.txt)")

RAY = str(Path(sys.executable).with_name("ray"))
CURVES = ("trainLoss", "valLoss", "testLoss", "trainAccuracy", "valAccuracy", "testAccuracy", "remainingWeights")
USERS_RAY = ("RAY_ADDRESS", "RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")


def ray_environment(**variables):
    """This environment without a user's cluster and token (USERS_RAY: they would steer the sweeps), plus
    `variables`."""
    environment = {key: value for key, value in os.environ.items() if key not in USERS_RAY}
    return {**environment, **variables}


def sweep_process(*arguments, timeout=300, environment=None):
    """Sweep.py in its own process, as a user runs it (Ray keeps per-process state between ray.init calls)."""
    return subprocess.run([sys.executable, "Sweep.py", *map(str, arguments)], cwd=REPOSITORY, capture_output=True,
                          text=True, timeout=timeout, env=environment or ray_environment(), check=False)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def session_processes(session):
    """The live processes of a session (Linux /proc: "pid (name) state ppid pgrp session ...")."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _, _, sid = stat.read_text().rsplit(")", 1)[1].split()[:4]
        except (OSError, ValueError):
            continue
        if int(sid) == session and state != "Z":
            pids.append(int(stat.parent.name))
    return pids


def stop_session(session, grace_s=5):
    """SIGTERM to every process of the session, SIGKILL to those still there after grace_s."""
    for number, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5)):
        for pid in session_processes(session):
            try:
                os.kill(pid, number)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait_s
        while session_processes(session) and time.monotonic() < deadline:
            time.sleep(0.2)


@contextlib.contextmanager
def head_on_this_machine(**variables):
    """A Ray head on this machine, started as a user starts one with `variables` in its environment: .address
    (127.0.0.1:PORT), .temp_folder (its RAY_TMPDIR, which holds the record of this machine's cluster,
    ray_current_cluster), .recorded (the address recorded there) and .logs (its session's logs, where the output of
    the tasks it runs goes). Started in a session of its own, so that exactly its processes (its daemons and their
    workers) are stopped at the end."""
    temp_folder = tempfile.mkdtemp(prefix="ray-head-", dir="/tmp")  # short: Ray's socket paths must fit 107 bytes
    port = free_port()
    process = subprocess.Popen([RAY, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
                                "--ray-client-server-port", str(free_port()), "--dashboard-agent-listen-port",
                                str(free_port()), "--num-cpus", "2", "--include-dashboard", "false",
                                "--disable-usage-stats"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=ray_environment(RAY_TMPDIR=temp_folder, **variables), start_new_session=True)
    try:
        _, error = process.communicate(timeout=120)
        assert process.returncode == 0, error
        folder = Path(temp_folder, "ray")
        yield types.SimpleNamespace(address=f"127.0.0.1:{port}", temp_folder=temp_folder,
                                    recorded=(folder / "ray_current_cluster").read_text().strip(),
                                    logs=(folder / "session_latest").resolve() / "logs")
    finally:
        stop_session(process.pid)
        shutil.rmtree(temp_folder, ignore_errors=True)


@pytest.fixture(scope="module")
def ray_head():
    """A head without authentication: a test cluster on 127.0.0.1 (a real one would use its token)."""
    with head_on_this_machine(RAY_AUTH_MODE="disabled") as head:
        yield head


def logs_mention(folder, text):
    """Whether any file in folder holds text (the output path of a sweep whose tasks ran there)."""
    return any(text in path.read_text(errors="replace") for path in Path(folder).glob("*") if path.is_file())


def finished_runs(output):
    """{(traintype, seed): (logs, masks)} of the finished runs under output."""
    runs = {}
    for path, logs in all_logs(output).items():
        if logs["status"] == "finished":
            masks_path = path.with_name(path.name.replace("_logs.json", "_final_masks.npz"))
            with np.load(masks_path) as archive:
                runs[(logs["config"]["traintype"], logs["seed"])] = (logs, {key: archive[key] for key in archive.files})
    return runs


def assert_same_results(expected, actual):
    assert expected.keys() == actual.keys()
    for key, (logs, masks) in expected.items():
        other_logs, other_masks = actual[key]
        for curve in CURVES:
            assert other_logs[curve] == logs[curve], (key, curve)
        for name in masks:
            np.testing.assert_array_equal(other_masks[name], masks[name])


def test_a_local_ray_instance_of_its_own_gives_the_files_of_the_local_backend_while_a_cluster_runs_here(
        tmp_path, ray_head):
    """Without --address, the sweep starts its own Ray instance, although `ray start --head` recorded a running
    cluster on this machine (which a bare ray.init() would join, then refuse num_cpus: issue 25), and names that
    cluster in its opening line."""
    grid = write_grid(tmp_path, seeds=[3])
    local = sweep(grid, "--outputpath", tmp_path / "local", "--workers", "2")
    on_ray = sweep_process(grid, "--outputpath", tmp_path / "ray", "--executor", "ray",
                           environment=ray_environment(RAY_TMPDIR=ray_head.temp_folder))
    assert local.returncode == 0 and on_ray.returncode == 0, on_ray.stderr
    assert (f"on a local Ray instance of its own, 1 CPU(s) and 0 GPU(s) per run (not the Ray cluster running on this "
            f"machine at {ray_head.recorded}: --address {ray_head.recorded} runs the grid on it)") in on_ray.stdout
    assert "2 finished" in on_ray.stdout and not logs_mention(ray_head.logs, str(tmp_path / "ray"))
    assert_same_results(finished_runs(tmp_path / "local"), finished_runs(tmp_path / "ray"))


def test_a_grid_on_a_joined_cluster_finishes_and_a_second_call_skips_it(tmp_path, ray_head):
    grid, output = write_grid(tmp_path), tmp_path / "Outputs"
    first = sweep_process(grid, "--outputpath", output, "--executor", "ray", "--address", ray_head.address)
    assert first.returncode == 0, first.stderr
    assert f"on the Ray cluster at {ray_head.address}" in first.stdout and "4 finished" in first.stdout
    assert len(finished_runs(output)) == 4 and logs_mention(ray_head.logs, str(output))  # its tasks ran there
    # RAY_ADDRESS, Ray's own variable, names the cluster as --address does (and the opening line says so)
    second = sweep_process(grid, "--outputpath", output, "--executor", "ray",
                           environment=ray_environment(RAY_ADDRESS=ray_head.address))
    assert second.returncode == 0 and "4 finished already (skipped)" in second.stdout
    assert f"on the Ray cluster at {ray_head.address} (RAY_ADDRESS)" in second.stdout
    assert len(all_logs(output)) == 4


def trainer_process(output):
    """(pid, parent pid) of the MaskTrainer.py process writing under output."""
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            command = (status.parent / "cmdline").read_bytes().split(b"\0")
            if any(b"MaskTrainer.py" in part for part in command) and str(output).encode() in command:
                parent = next(line for line in status.read_text().splitlines() if line.startswith("PPid:"))
                return int(status.parent.name), int(parent.split()[1])
        except (OSError, StopIteration):
            continue
    return None


@pytest.fixture(scope="module")
def long_grid_whole(tmp_path_factory):
    """A grid of one run long enough (several seconds after epoch 1) that a kill always lands mid-run, and that
    run finished uninterrupted on the local backend."""
    folder = tmp_path_factory.mktemp("long_grid")
    grid = write_grid(folder, base={**LONG, "limit": 2000, "maxepochs": 30}, grid={}, rules=[], seeds=[4])
    assert sweep(grid, "--outputpath", folder / "whole", "--workers", "1").returncode == 0
    return grid, finished_runs(folder / "whole")


@pytest.mark.parametrize("victim", ["worker", "run"])
def test_a_killed_ray_worker_or_run_is_retried_and_resumes_to_identical_results(tmp_path, ray_head, victim,
                                                                                 long_grid_whole):
    grid, whole = long_grid_whole
    output = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, "Sweep.py", str(grid), "--outputpath", str(output), "--executor",
                                "ray", "--address", ray_head.address], cwd=REPOSITORY, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    wait_for_epochs(output, 2, process)
    run_pid, worker_pid = trainer_process(output)
    os.kill(worker_pid if victim == "worker" else run_pid, signal.SIGKILL)
    out, error = process.communicate(timeout=300)
    assert process.returncode == 0, out + error
    assert "1 finished" in out
    assert_same_results(whole, finished_runs(output))
    assert len(all_logs(output)) == 1  # the killed run was resumed, not started again


def test_ctrl_c_stops_the_grid_on_ray_and_the_same_command_finishes_it(tmp_path, ray_head):
    grid = write_grid(tmp_path, base={**LONG, "limit": 2000, "maxepochs": 60}, grid={}, rules=[], seeds=[7])
    output = tmp_path / "Outputs"
    command = [sys.executable, "Sweep.py", str(grid), "--outputpath", str(output), "--executor", "ray",
               "--address", ray_head.address]
    process = subprocess.Popen(command, cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    logs_path = wait_for_epochs(output, 2, process)
    process.send_signal(signal.SIGINT)
    out, error = process.communicate(timeout=120)
    assert process.returncode == 130, out + error
    assert "run the same command again" in error.strip().splitlines()[-1]
    assert "1 interrupted" in out
    assert json.loads(logs_path.read_text())["status"] == "interrupted"
    again = subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "1 finished" in again.stdout
    assert json.loads(logs_path.read_text())["status"] == "finished" and len(all_logs(output)) == 1


def test_an_unreachable_address_ends_in_one_sentence_within_30_seconds(tmp_path):
    started = time.monotonic()
    result = sweep_process(write_grid(tmp_path), "--outputpath", tmp_path / "Outputs", "--executor", "ray",
                           "--address", f"127.0.0.1:{free_port()}")
    assert result.returncode == 2 and time.monotonic() - started < 30
    assert len(result.stderr.strip().splitlines()) == 1 and "No Ray cluster answers at" in result.stderr
    assert not list((tmp_path / "Outputs").rglob("*_logs.json"))


def test_without_ray_the_backend_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    result = sweep(write_grid(tmp_path, base=TINY), "--outputpath", tmp_path / "Outputs", "--executor", "ray")
    assert result.returncode == 2 and "pip install 'ray[default]'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cluster_flags_without_the_ray_backend_are_refused(tmp_path):
    result = sweep(write_grid(tmp_path), "--outputpath", tmp_path / "Outputs", "--address", "127.0.0.1:6379")
    assert result.returncode == 2 and "--executor ray" in result.stderr


def test_a_driver_killed_with_sigkill_loses_nothing_and_the_same_command_finishes(tmp_path, ray_head,
                                                                                  long_grid_whole):
    grid, whole = long_grid_whole
    output = tmp_path / "killed"
    command = [sys.executable, "Sweep.py", str(grid), "--outputpath", str(output), "--executor", "ray",
               "--address", ray_head.address]
    process = subprocess.Popen(command, cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_epochs(output, 3, process)
    process.kill()
    process.communicate(timeout=60)
    deadline = time.monotonic() + 60
    while trainer_process(output) and time.monotonic() < deadline:  # the run dies with its Ray job
        time.sleep(0.2)
    assert trainer_process(output) is None
    again = subprocess.run(command, cwd=REPOSITORY, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "1 to resume" in again.stdout, again.stdout + again.stderr
    assert_same_results(whole, finished_runs(output))
    assert len(all_logs(output)) == 1


def test_a_cluster_with_token_authentication_joined_without_its_token_says_where_ray_looks_for_it(tmp_path):
    """The head takes its token from its environment, as the sweep's own instances do: no file in the home folder."""
    token, output = secrets.token_hex(16), tmp_path / "Outputs"
    grid = write_grid(tmp_path, seeds=[1], grid={}, rules=[])
    with head_on_this_machine(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token) as head:
        refused = sweep_process(grid, "--outputpath", output, "--executor", "ray", "--address", head.address)
        joined = sweep_process(grid, "--outputpath", output, "--executor", "ray", "--address", head.address,
                               environment=ray_environment(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token))
    assert refused.returncode == 2 and refused.stderr.strip().splitlines() == [
        f"Sweep.py: error: The Ray cluster at {head.address} (--address) requires an authentication token, which the "
        "sweep did not send; Ray sends a token only with RAY_AUTH_MODE=token, and reads it from the variable "
        "RAY_AUTH_TOKEN, else from the file that RAY_AUTH_TOKEN_PATH names, else from ~/.ray/auth_token: export "
        "RAY_AUTH_MODE=token and the cluster's token in one of these (on the head, `ray get-auth-token` prints it), "
        "then run the same command again."]
    assert joined.returncode == 0 and "1 finished" in joined.stdout, joined.stdout + joined.stderr  # as it says
