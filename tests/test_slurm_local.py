"""The Slurm backend without Slurm: its task (sweeps/slurm_task.py) and executor run on submitit's LocalExecutor
(tests/slurm_local_queue.py), with a stand-in run (tests/slurm_fake_run.py) instead of MaskTrainer.py, so that the
signals of a Slurm task, submitit's requeue and the sweep's record of what is in Slurm are checked in seconds.
tests/test_slurm.py runs real runs on a real single-node Slurm."""

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import REPOSITORY

pytest.importorskip("submitit", reason="the Slurm backend's tests need submitit (pip install -r requirements-dev.txt)")

from slurm_cluster import quick_polls  # noqa: E402, F401  (a fixture)
from slurm_local_queue import LocalQueue  # noqa: E402
from sweeps.execution import Job  # noqa: E402
from sweeps.slurm_executor import SlurmExecutor  # noqa: E402
from sweeps.slurm_task import SlurmTask, read_record  # noqa: E402

FAKE_RUN = str(Path(__file__).with_name("slurm_fake_run.py"))


@pytest.fixture(autouse=True)
def importable_repository(monkeypatch, quick_polls):  # noqa: F811
    """What the sbatch script's setup does on a cluster: the task imports sweeps.slurm_task from this repository."""
    monkeypatch.setenv("PYTHONPATH", str(REPOSITORY))


def fake_command(state, steps, exit_code=0):
    return [sys.executable, FAKE_RUN, str(state), str(steps), str(exit_code)]


def wait_for(condition, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("the condition did not come true in time")


def step_reached(state_path, step):
    try:
        return json.loads(Path(state_path).read_text())["step"] >= step
    except (OSError, ValueError):
        return False


def submit(tmp_path, command):
    queue = LocalQueue(tmp_path / "slurm")
    record = tmp_path / "task.json"
    queue.submit([SlurmTask(command, str(REPOSITORY), str(record))], "test")
    return queue, record


def test_a_task_records_its_run_end_and_last_lines_and_fails_with_a_failed_run(tmp_path):
    queue, record = submit(tmp_path, fake_command(tmp_path / "run.json", 3))
    failing_queue, failing_record = submit(tmp_path / "failing", fake_command(tmp_path / "failing.json", 2, 1))
    queue.wait()
    failing_queue.wait()
    ended = read_record(record)
    assert (ended["state"], ended["code"], ended["attempt"], ended["last_lines"][-1]) == ("ended", 0, 1, "done")
    failed = read_record(failing_record)
    assert failed["code"] == 1 and failed["last_lines"][-1] == "MaskTrainer.py: error: the run failed."
    (job,) = failing_queue.jobs.values()
    assert job._process.returncode == 0  # the controller; the task itself exited 1:
    assert "the run failed" in Path(failing_queue.log_path(job.job_id)).read_text()


def signal_task_and_run(record_path, number):
    """As Slurm does: the signal reaches every process of the task, the run's too."""
    started = wait_for(lambda: read_record(record_path))
    for pid in (started["pid"], started["run_pid"]):
        os.kill(pid, number)


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_or_sigint_saves_the_run_once_and_ends_the_task_with_130(tmp_path, number):
    state = tmp_path / "run.json"
    queue, record = submit(tmp_path, fake_command(state, 200))
    wait_for(lambda: step_reached(state, 3))
    signal_task_and_run(record, number)
    queue.wait()
    run = json.loads(state.read_text())
    assert (run["sigints"], run["saved"], run["starts"]) == (1, 1, 1) and run["step"] < 200
    ended = read_record(record)
    assert (ended["state"], ended["code"]) == ("ended", 130)


def test_a_run_that_cannot_start_is_recorded_as_failed(tmp_path):
    queue, record = submit(tmp_path, [str(tmp_path / "missing" / "python"), "MaskTrainer.py"])
    queue.wait()
    failed = wait_for(lambda: read_record(record))
    assert failed["code"] == 1 and "Could not start MaskTrainer.py" in failed["last_lines"][0]


class FakeConfig:
    """What SlurmExecutor needs of a RunConfig: where it writes and its identity."""

    def __init__(self, outputpath, seed):
        self.outputpath, self.seed = str(outputpath), seed

    def identity_key(self):
        return (("seed", self.seed),)


class Sweep:
    """The executor's callbacks, as Sweep.py's, recording what they were told."""

    def __init__(self):
        self.lines, self.ends = [], {}

    def executor(self, tmp_path, queue, steps, **options):
        def run_command(config):
            exit_code = {13: 1, 22: 2}.get(config.seed, 0)  # seed 13 fails, seed 22 refuses its input
            return fake_command(tmp_path / f"run{config.seed}.json", steps, exit_code)
        return SlurmExecutor(lambda job: self.lines.append(f"start {job.number}"), self.on_end, tmp_path / "slurm",
                             queue, run_command=run_command, print_line=self.lines.append, **options)

    def on_end(self, job, code, seconds, last_lines):
        self.ends[job.number] = (code, job.action.kind, last_lines[-1])


def jobs(tmp_path, seeds):
    from runner.existing_runs import Action
    return [Job(number, FakeConfig(tmp_path, seed), Action("run"), f"seed={seed}")
            for number, seed in enumerate(seeds, 1)]


def test_no_wait_submits_then_the_next_call_follows_the_same_tasks_and_reports_a_failure_with_its_log(tmp_path):
    queue = LocalQueue(tmp_path / "slurm")
    first = Sweep()
    detached = first.executor(tmp_path, queue, 20, wait=False)
    detached.run(jobs(tmp_path, [1, 13]))
    assert detached.detached and any("Submitted 2 run(s) to Slurm" in line for line in first.lines)
    assert len(queue.jobs) == 2
    second = Sweep()
    second.executor(tmp_path, queue, 20).run(jobs(tmp_path, [1, 13]))
    assert len(queue.jobs) == 2  # followed, not submitted again
    assert any("2 of them are queued or running in Slurm already" in line for line in second.lines)
    assert second.ends[1] == (0, "run", "done")
    code, _, line = second.ends[2]
    task_id = queue.jobs[next(key for key in queue.jobs if key[1] == 1)].job_id
    assert code == 1 and line.endswith(f"the run failed. Slurm log: {queue.log_path(task_id)}")
    # A task's process outlives the record it writes by a moment (longer on a loaded machine); the next call must find
    # both tasks gone from the queue, as Slurm would show them once they end.
    deadline = time.time() + 60
    while not all(job.done() for job in queue.jobs.values()) and time.time() < deadline:
        time.sleep(0.1)
    third = Sweep()
    refused = third.executor(tmp_path, queue, 20)
    refused.run(jobs(tmp_path, [13, 22]))
    assert len(queue.jobs) == 4  # a run no longer in Slurm is submitted again
    assert third.ends[2][0] == 2 and refused.bad_input == "the run failed."


def test_a_closed_terminal_leaves_the_tasks_running_for_the_next_call(tmp_path):
    queue = LocalQueue(tmp_path / "slurm")
    sweep = Sweep()
    executor = sweep.executor(tmp_path, queue, 40)
    threading.Timer(0.5, executor.request_stop, (signal.SIGHUP, None)).start()
    executor.run(jobs(tmp_path, [1]))
    assert executor.detached and executor.stop_requests == 0 and not sweep.ends
    assert queue.queued()  # still running, not cancelled
    queue.wait()
    assert json.loads((tmp_path / "run1.json").read_text())["step"] == 40


def test_a_requeued_task_finishes_as_resumed_and_ctrl_c_cancels_the_others_which_save(tmp_path):
    queue = LocalQueue(tmp_path / "slurm")
    sweep = Sweep()
    executor = sweep.executor(tmp_path, queue, 40)
    executor.run_command = lambda config: fake_command(tmp_path / f"run{config.seed}.json", 40 * config.seed)

    def requeue_the_first_then_stop():
        wait_for(lambda: step_reached(tmp_path / "run1.json", 5))
        signal_task_and_run(next((tmp_path / "slurm" / "tasks").glob("*_0.json")), signal.SIGUSR2)
        wait_for(lambda: 1 in sweep.ends)
        executor.request_stop(signal.SIGINT, None)

    helper = threading.Thread(target=requeue_the_first_then_stop)
    helper.start()
    executor.run(jobs(tmp_path, [1, 10]))
    helper.join()
    assert any(line.startswith("#1 requeued by Slurm") for line in sweep.lines)
    interrupted = "MaskTrainer.py: error: Interrupted; the state is saved."
    assert sweep.ends == {1: (0, "resume", "done"), 2: (130, "run", interrupted)}
    first = json.loads((tmp_path / "run1.json").read_text())
    assert (first["step"], first["starts"], first["saved"]) == (40, 2, 1)  # SIGUSR2 ignored, one SIGINT: saved
    log = Path(queue.log_path(queue.jobs[next(iter(queue.jobs))].job_id)).read_text()
    assert "Slurm asked the task to stop (SIGUSR2)" in log and "Requeued job" in log
    assert executor.stop_requests == 1 and json.loads((tmp_path / "run10.json").read_text())["saved"] == 1


def test_without_sbatch_on_path_the_slurm_backend_says_so_in_one_sentence(tmp_path, monkeypatch):
    from test_sweep import sweep, write_grid
    monkeypatch.setenv("PATH", str(tmp_path))
    result = sweep(write_grid(tmp_path), "--outputpath", tmp_path / "Outputs", "--executor", "slurm")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "needs Slurm's sbatch, which is not on PATH" in result.stderr and "--executor local" in result.stderr
    assert not (tmp_path / "Outputs").exists()
    dry = sweep(write_grid(tmp_path), "--outputpath", tmp_path / "Outputs", "--executor", "slurm", "--dry-run")
    assert dry.returncode == 0 and "would be submitted as one job array" in dry.stdout


@pytest.mark.parametrize("flags, message", [
    (["--partition", "gpu"], "are for --executor slurm"),
    (["--no-wait"], "are for --executor slurm"),
    (["--cpus-per-run", "2"], "are for --executor ray or slurm"),
    (["--executor", "slurm", "--gpus-per-run", "0.5"], "a whole number"),
    (["--executor", "slurm", "--time-min", "2"], "--time-min must be at least 3"),
    (["--executor", "slurm", "--array-parallelism", "0"], "--array-parallelism must be at least 1"),
])
def test_slurm_flags_out_of_place_or_range_are_refused_in_one_sentence(tmp_path, flags, message):
    from test_sweep import sweep, write_grid
    result = sweep(write_grid(tmp_path), "--dry-run", *flags)
    assert result.returncode == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_slurm_reasons_come_out_on_one_line():
    from sweeps.slurm_queue import slurm_reason
    stderr = ("sbatch: error: invalid partition specified: nosuch\n"
              "sbatch: error: Batch job submission failed: Invalid partition name specified\n")
    assert slurm_reason(stderr) == ("invalid partition specified: nosuch; Batch job submission failed: Invalid "
                                    "partition name specified")


class StubQueue:
    """Slurm's answers set by the test: {task id: state} of the tasks in squeue."""

    def __init__(self, states):
        self.states = states

    def queued(self):
        return {("grid", index): (task_id, state) for index, (task_id, state) in enumerate(dict(self.states).items())}

    def log_path(self, task_id):
        return f"/nowhere/{task_id}.out"

    def cancel(self, task_ids, signal_name=None, pending_only=False):
        pass


def test_a_task_requeued_by_slurm_itself_is_followed_on_and_a_cancelled_one_is_interrupted(tmp_path):
    from sweeps.slurm_task import write_record
    queue = StubQueue({"7_0": "RUNNING", "7_1": "RUNNING"})
    sweep = Sweep()
    executor = SlurmExecutor(lambda job: None, sweep.on_end, tmp_path / "slurm", queue, print_line=sweep.lines.append)
    records = [tmp_path / "7_0.json", tmp_path / "7_1.json"]
    followed = {task_id: (job, {"task_record": str(record)})
                for task_id, job, record in zip(("7_0", "7_1"), jobs(tmp_path, [1, 2]), records)}
    saved = {"code": 130, "attempt": 1, "seconds": 1.0, "last_lines": ["Interrupted; the state is saved."]}

    def slurm():
        for record in records:
            write_record(str(record), state="started", attempt=1)
        time.sleep(0.3)
        for record in records:  # preemption with requeue, and scancel: both runs save
            write_record(str(record), state="ended", **saved)
        time.sleep(0.8)  # still completing, as Slurm shows them a moment
        queue.states.update({"7_0": "PENDING", "7_1": "COMPLETING"})
        time.sleep(0.8)
        queue.states = {"7_0": "RUNNING"}  # 7_0 starts again, 7_1 is gone
        write_record(str(records[0]), state="started", attempt=1)
        time.sleep(0.3)
        write_record(str(records[0]), state="ended", code=0, attempt=1, seconds=1.0, last_lines=["done"])

    helper = threading.Thread(target=slurm)
    helper.start()
    executor.follow(followed)
    helper.join()
    requeued = ("#1 requeued by Slurm (preemption): seed=1; the run saved its state and resumes when the task starts "
                "again.")
    assert sweep.lines == [requeued]
    assert sweep.ends == {1: (0, "resume", "done"), 2: (130, "run", "Interrupted; the state is saved.")}
