"""One writer per run (results/claims.py): claims are taken over only from owners that are verifiably gone, with
real processes; two sweeps on one output path, and a sweep beside MaskTrainer.py --continue, give one set of logs
per run; a run killed with SIGKILL is taken over by the next sweep."""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conftest import REPOSITORY
from results import claims
from test_sweep import all_logs, write_grid

HOLDER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {repository!r})
    from results import claims
    claims.REGISTRY.acquire({path!r}, "The test run")
    print("claimed", flush=True)
    time.sleep(600)
""")


def hold_in_another_process(path, **environment):
    """A process that claims `path` and sleeps; returns once it holds the claim."""
    process = subprocess.Popen([sys.executable, "-c", HOLDER.format(repository=str(REPOSITORY), path=str(path))],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, **environment})
    assert process.stdout.readline().strip() == "claimed", process.stderr.read()
    return process


def write_claim(path, **changes):
    """A claim file as another owner would have written it."""
    owner = {"host": "another-host", "pid": 4242, "process_start": "1", "job": "", "claimed_at": "earlier",
             "token": "0123456789abcdef", **changes}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(owner))


def test_a_live_owner_keeps_its_claim_and_a_killed_one_loses_it(tmp_path):
    path = claims.claim_path(str(tmp_path), {"seed": 3, "nettype": "LeNet"})
    owner = hold_in_another_process(path)
    try:
        with pytest.raises(claims.RunClaimed) as refusal:
            claims.REGISTRY.acquire(path, "The test run")
        message = str(refusal.value)
        assert f"process {owner.pid} on {socket.gethostname()}" in message and path in message
        assert claims.holder(path).pid == owner.pid
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    assert claims.read_owner(path).pid == owner.pid  # left behind by the killed owner
    assert claims.holder(path) is None
    with claims.claimed(path, "The test run"):
        assert claims.read_owner(path).pid == os.getpid()
        with claims.claimed(path, "The test run"):  # re-entrant within a process
            pass
        assert os.path.exists(path)
    assert not os.path.exists(path)  # released


def test_another_hosts_claim_is_taken_over_only_once_stale_by_the_filesystems_clock(tmp_path):
    path = claims.claim_path(str(tmp_path), {"seed": 1})
    write_claim(path)
    with pytest.raises(claims.RunClaimed, match="process 4242 on another-host"):
        claims.REGISTRY.acquire(path, "The test run")
    old = os.stat(path).st_mtime - claims.STALE_SECONDS - 5
    os.utime(path, (old, old))
    assert claims.holder(path) is None
    with claims.claimed(path, "The test run"):
        assert claims.read_owner(path).token == claims.TOKEN


def test_a_requeued_or_retried_job_takes_over_its_own_claim_at_once(tmp_path, monkeypatch):
    path = claims.claim_path(str(tmp_path), {"seed": 1})
    write_claim(path, job="slurm:77_3")
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "77")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "4")
    assert claims.holder(path) is not None  # another task of the array
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "3")
    assert claims.current_job() == "slurm:77_3" and claims.holder(path) is None
    monkeypatch.setenv(claims.JOB_VARIABLE, "ray:task-9")  # a Ray task's, set by sweeps/ray_task.py
    assert claims.holder(path) is not None
    write_claim(path, job="ray:task-9")
    with claims.claimed(path, "The test run"):
        assert claims.read_owner(path).job == "ray:task-9" and claims.read_owner(path).token == claims.TOKEN


def test_a_reused_process_id_is_not_taken_for_the_owner(tmp_path):
    path = claims.claim_path(str(tmp_path), {"seed": 1})
    me = claims.this_owner()
    write_claim(path, host=me.host, pid=os.getpid(), process_start=me.process_start)
    assert claims.holder(path) is not None  # alive: this very process, under another token
    write_claim(path, host=me.host, pid=os.getpid(), process_start="1")
    assert claims.holder(path) is None


def test_an_owner_whose_claim_was_taken_over_stops_at_once(tmp_path):
    path = claims.claim_path(str(tmp_path), {"seed": 1})
    owner = hold_in_another_process(path, MASKTRAINER_CLAIM_STALE_S="1")
    write_claim(path)
    _, error = owner.communicate(timeout=30)
    assert owner.returncode == claims.CLAIMED_CODE
    assert f"The claim {path} was taken over by process 4242 on another-host" in error
    assert len(error.strip().splitlines()) == 1


TRAINER = ["--dataset", "mnist-subset", "--limit", "60", "--batchsize", "20", "--maxepochs", "1", "--seed", "5"]


def test_maskTrainer_leaves_a_claimed_run_to_its_owner_and_writes_nothing(tmp_path, capsys):
    import MaskTrainer
    from config import parse_args
    from runner.claims import claim_file
    config, _ = parse_args([*TRAINER, "--outputpath", str(tmp_path)])
    owner = hold_in_another_process(claim_file(config))
    try:
        for mode in ([], ["--continue"]):
            assert MaskTrainer.main([*TRAINER, "--outputpath", str(tmp_path), *mode]) == claims.CLAIMED_CODE
            error = capsys.readouterr().err
            assert error.count("\n") == 1 and f"being trained by process {owner.pid}" in error
            assert not list(tmp_path.rglob("*_logs.json"))
    finally:
        owner.kill()
        owner.wait()


def start(*command):
    return subprocess.Popen([sys.executable, *map(str, command)], cwd=REPOSITORY, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def wait_for(output, pattern, process, timeout=300):
    deadline = time.time() + timeout
    while not list(Path(output).rglob(pattern)):
        assert process.poll() is None and time.time() < deadline, process.communicate()[0]
        time.sleep(0.05)


def one_finished_run_per_identity(output, expected):
    from runner import existing_runs
    found = existing_runs.scan(str(output))
    assert len(found) == expected
    assert all(len(runs) == 1 and runs[0].status == "finished" for runs in found.values()), found
    assert not list(Path(output).rglob("*.claim"))  # every claim released


GRID = {"dataset": "mnist-subset", "limit": 400, "maxepochs": 6, "batchsize": 20, "traintype": "Baseline"}


def test_two_sweeps_on_one_output_path_train_each_run_once(tmp_path):
    grid, output = write_grid(tmp_path, base=GRID, grid={}, rules=[]), tmp_path / "Outputs"
    first = start("Sweep.py", grid, "--outputpath", output)
    wait_for(output, "*.claim", first)  # the first sweep is training its first run
    second = start("Sweep.py", grid, "--outputpath", output)
    outputs = [process.communicate(timeout=600)[0] for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    one_finished_run_per_identity(output, 2)


def test_a_sweep_beside_maskTrainer_continue_of_one_of_its_runs(tmp_path):
    grid, output = write_grid(tmp_path, base=GRID, grid={}, rules=[]), tmp_path / "Outputs"
    single = start("MaskTrainer.py", *[f"--{name}={value}" for name, value in GRID.items()], "--seed", 1,
                   "--continue", "--outputpath", output)
    wait_for(output, "*.claim", single)
    swept = start("Sweep.py", grid, "--outputpath", output)
    outputs = [process.communicate(timeout=600)[0] for process in (single, swept)]
    assert [single.returncode, swept.returncode] == [0, 0], outputs
    one_finished_run_per_identity(output, 2)


def test_a_sweep_says_which_runs_it_leaves_to_the_processes_training_them(tmp_path):
    from runner.claims import claim_file
    from sweeps.grid import load_grid
    grid, output = write_grid(tmp_path, base={**GRID, "limit": 60, "maxepochs": 1}, grid={}, rules=[]), \
        tmp_path / "Outputs"
    owner = hold_in_another_process(claim_file(load_grid(grid, str(output)).runs[0]))
    try:
        result = start("Sweep.py", grid, "--outputpath", output)
        out, _ = result.communicate(timeout=600)
    finally:
        owner.kill()
        owner.wait()
    assert result.returncode == 0, out
    assert "2 runs: 1 to run, 0 to resume, 0 finished already (skipped), 1 being trained by other processes" in out
    assert "#2/2 start: seed=2" in out and "seed=1" not in out.split("Sweep summary")[0].split("runs here")[1]
    summary = out[out.index("Sweep summary"):]
    assert "1 finished (0 of them resumed), 0 skipped (finished already), 1 skipped (being trained by other " \
           "processes)" in summary
    assert f"seed=1: being trained by process {owner.pid}" in summary
    assert len(all_logs(output)) == 1


def test_a_run_killed_with_sigkill_is_taken_over_by_the_next_sweep(tmp_path):
    grid, output = write_grid(tmp_path, base={**GRID, "maxepochs": 10}, seeds=(1,), grid={}, rules=[]), \
        tmp_path / "Outputs"
    first = start("Sweep.py", grid, "--outputpath", output)
    wait_for(output, "*_checkpoint.npz", first)
    os.killpg(first.pid, signal.SIGKILL)  # the sweep; its run dies with it (PR_SET_PDEATHSIG)
    first.wait()
    (claim,) = output.rglob("*.claim")
    run, deadline = claims.read_owner(claim).pid, time.time() + 60
    while claims.process_start(run) is not None and time.time() < deadline:
        time.sleep(0.05)
    (logs,) = all_logs(output).values()
    assert logs["status"] == "running" and len(logs["testLoss"]) < 11
    second = start("Sweep.py", grid, "--outputpath", output)
    out, _ = second.communicate(timeout=600)
    assert second.returncode == 0, out
    assert "resume (running after epoch" in out and "finished (resumed)" in out
    one_finished_run_per_identity(output, 1)


def test_a_pack_claims_what_it_can_and_leaves_the_rest_to_their_owners(tmp_path):
    import contextlib

    from config import RunConfig
    from runner.claims import claim_available, claim_file
    configs = [RunConfig(seed=seed, outputpath=str(tmp_path)) for seed in (1, 2)]
    owner = hold_in_another_process(claim_file(configs[0]))
    lines = []
    try:
        with contextlib.ExitStack() as held:
            assert claim_available(held, configs, lines.append) == [configs[1]]
            assert claims.read_owner(claim_file(configs[1])).token == claims.TOKEN
        assert not os.path.exists(claim_file(configs[1]))
        [line] = lines
        assert line.startswith("The run FreePruning LeNet seed 1 ") and f"process {owner.pid}" in line
        with contextlib.ExitStack() as held, pytest.raises(claims.RunClaimed, match="seed 1 .* being trained"):
            claim_available(held, configs[:1], lines.append)
    finally:
        owner.kill()
        owner.wait()
