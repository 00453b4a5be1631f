"""Sweep.py --executor slurm against a real single-node Slurm (scripts/local_slurm.sh, started by the slurm_cluster
fixture; the tests skip with the reason where it cannot start): a grid to its end with a failed run, a run requeued
(SIGUSR2, as before a time limit) then cancelled and finished by later calls, bit-identical to one that ran
uninterrupted, --no-wait then a report, and a submission Slurm refuses."""

import json
import subprocess
import threading
import time
from pathlib import Path

import pytest

from slurm_cluster import quick_polls, slurm_cluster  # noqa: F401  (fixtures)
from test_sweep import all_logs, sweep, write_grid
from test_sweep_ray import assert_same_results, finished_runs

pytest.importorskip("submitit", reason="the Slurm backend's tests need submitit (pip install -r requirements-dev.txt)")

LONG_BASELINE = {"dataset": "mnist-subset", "limit": 600, "maxepochs": 40, "batchsize": 20, "traintype": "Baseline"}


@pytest.fixture(scope="module")
def finished_grid(slurm_cluster, quick_polls, tmp_path_factory):  # noqa: F811
    """A grid of two runs on Slurm, one that diverges (lr 1e12) and one that finishes."""
    folder = tmp_path_factory.mktemp("slurm_grid")
    grid = write_grid(folder, base=LONG_BASELINE, grid={"lr": [1e12, 0.001]}, rules=[], seeds=[6])
    return folder / "Outputs", sweep(grid, "--outputpath", folder / "Outputs", "--executor", "slurm")


def test_a_grid_on_slurm_runs_to_its_end_and_a_failed_run_is_reported_with_its_slurm_log(finished_grid):
    output, result = finished_grid
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Submitted 2 run(s) to Slurm as job" in result.stdout and "[2/2]" in result.stdout
    assert "1 finished (0 of them resumed), 0 skipped (finished already), 1 failed" in result.stdout
    failed_line = next(line for line in result.stdout.splitlines() if line.startswith("  lr=1000000000000.0"))
    log = failed_line.rsplit("Slurm log: ", 1)[1].rstrip(")")
    assert log.startswith(str(output / "slurm")) and "nan" in Path(log).read_text()
    assert sorted(logs["status"] for logs in all_logs(output).values()) == ["failed", "finished"]


def slurm(*command):
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=60).stdout


def wait_until(condition, timeout=120):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "waited in vain"
        time.sleep(0.05)


def epochs_in(output):
    """Epochs in the logs of the one run under output, epoch 0 included (0 before it writes them)."""
    for path in output.rglob("*_logs.json"):
        try:
            return len(json.loads(path.read_text())["testLoss"])
        except (ValueError, KeyError):
            pass
    return 0


def requeue_then_cancel(output, done):
    """What Slurm does before a time limit (SIGUSR2: the run saves, the task is requeued), then scancel."""
    try:
        wait_until(lambda: epochs_in(output) >= 3)
        (entry,) = json.loads((output / "slurm" / "submitted.json").read_text())["runs"].values()
        job_name = entry["job_name"]
        (task_id,) = slurm("squeue", "--me", "--noheader", "--format=%i", f"--name={job_name}").split()
        slurm("scancel", "--signal=USR2", task_id)
        records = output / "slurm" / "tasks" / f"{job_name}_0.json"
        wait_until(lambda: records.exists() and json.loads(records.read_text())["attempt"] == 2)
        saved = epochs_in(output)
        wait_until(lambda: epochs_in(output) >= saved + 2)
        slurm("scancel", task_id)  # SIGTERM, then SIGKILL after KillWait
        done.append(job_name)
    except Exception as error:  # noqa: BLE001  (any failure here is reported by the test, in the main thread)
        done.append(error)


def test_a_run_requeued_then_cancelled_is_finished_by_later_calls_bit_identical(
        finished_grid, quick_polls, tmp_path):  # noqa: F811
    whole = finished_runs(finished_grid[0])
    grid = write_grid(tmp_path, base={**LONG_BASELINE, "lr": 0.001}, grid={}, rules=[], seeds=[6])
    output, done = tmp_path / "Outputs", []
    helper = threading.Thread(target=requeue_then_cancel, args=(output, done))
    helper.start()
    first = sweep(grid, "--outputpath", output, "--executor", "slurm")
    helper.join()
    (job_name,) = done
    assert isinstance(job_name, str), job_name
    assert first.returncode == 130, first.stdout + first.stderr
    assert "#1 requeued by Slurm" in first.stdout and "1 interrupted" in first.stdout
    (logs_path,) = all_logs(output)
    assert json.loads(logs_path.read_text())["status"] == "interrupted"  # it saved its state before it stopped
    submitted = sweep(grid, "--outputpath", output, "--executor", "slurm", "--no-wait")
    assert submitted.returncode == 0 and "Submitted 1 run(s) to Slurm as job" in submitted.stdout
    assert "[1/1]" not in submitted.stdout and "Sweep summary" not in submitted.stdout
    report = sweep(grid, "--outputpath", output, "--executor", "slurm")
    assert report.returncode == 0, report.stdout + report.stderr
    assert "1 of them are queued or running in Slurm already" in report.stdout and "Submitted" not in report.stdout
    assert "1 finished (1 of them resumed)" in report.stdout
    assert len(all_logs(output)) == 1  # the same run, resumed twice
    assert_same_results({key: runs for key, runs in whole.items() if key == ("Baseline", 6)}, finished_runs(output))
    assert slurm("squeue", "--me", "--noheader", f"--name={job_name}").strip() == ""


def test_a_partition_slurm_does_not_know_is_refused_in_its_words_and_nothing_is_submitted(slurm_cluster,  # noqa: F811
                                                                                          tmp_path):
    output = tmp_path / "Outputs"
    result = sweep(write_grid(tmp_path, seeds=[1]), "--outputpath", output, "--executor", "slurm", "--partition",
                   "nosuch")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "Slurm refused the submission: invalid partition specified: nosuch" in result.stderr
    assert "nothing was submitted" in result.stderr
    assert json.loads((output / "slurm" / "submitted.json").read_text()) == {"runs": {}}
    assert not list((output / "slurm").glob("*.pkl")) and not list((output / "slurm").glob(".submission_file_*"))
    assert not list(output.rglob("*_logs.json"))

