"""Sweep.py --pack N: a grid's runs that can share one compiled program train as packs, one job each, and
are runs like any others afterwards (skipped when finished)."""

import json
import re
from importlib.util import find_spec

import pytest

from slurm_cluster import quick_polls, slurm_cluster  # noqa: F401  (fixtures)
from test_sweep import TINY, all_logs, sweep, write_grid

HAS_RAY = find_spec("ray") is not None
if HAS_RAY:  # test_sweep_ray skips its whole module without Ray: imported only with it
    from test_sweep_ray import logs_mention, ray_head, sweep_process  # noqa: F401  (ray_head: a fixture)

JAX_GRID = {**TINY, "limit": 60, "traintype": "FreePruning", "backend": "jax"}


def test_a_grid_packs_together_the_runs_that_share_a_program(tmp_path):
    output = tmp_path / "Outputs"
    grid = write_grid(tmp_path, base=JAX_GRID, grid={"lr": [0.03, 0.001], "traintype": ["FreePruning", "IMP"]},
                      rules=[{"when": {"traintype": "IMP"}, "set": {"rounds": 1}}], seeds=[1, 2])
    dry = sweep(grid, "--outputpath", output, "--pack", "8", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "8 runs: 8 to run, 0 to resume, 0 finished already (skipped); results under" in dry.stdout
    assert "2 pack(s) of up to 8 runs" in dry.stdout and dry.stdout.count("pack of 4: ") == 2
    assert not (output / "packs").exists()  # a dry run writes nothing
    result = sweep(grid, "--outputpath", output, "--pack", "8")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 finished" in result.stdout
    logs = list(all_logs(output).values())
    assert len(logs) == 8 and all(run["status"] == "finished" for run in logs)
    packs = {}
    for run in logs:  # the 4 runs of each method, seeds and learning rates apart: one pack each
        packs.setdefault(run["config"]["traintype"], set()).add(run["pack"]["packId"])
        assert len(run["pack"]["runIds"]) == 4
    assert len(packs["FreePruning"]) == len(packs["IMP"]) == 1 and packs["FreePruning"] != packs["IMP"]
    assert sorted((run["config"]["lr"], run["seed"]) for run in logs if run["config"]["traintype"] == "IMP") == [
        (0.001, 1), (0.001, 2), (0.03, 1), (0.03, 2)]
    assert all(len(run["rounds"]) == 2 for run in logs if run["config"]["traintype"] == "IMP")  # its own rounds
    pack_files = list((output / "packs").glob("pack-*.json"))
    assert sorted(len(json.loads(path.read_text())["runs"]) for path in pack_files) == [4, 4]
    again = sweep(grid, "--outputpath", output, "--pack", "8")
    assert again.returncode == 0 and "8 finished already (skipped)" in again.stdout


def test_pack_is_refused_for_runs_on_tensorflow(tmp_path):
    grid = write_grid(tmp_path, base={**TINY, "backend": "tensorflow"})
    result = sweep(grid, "--outputpath", tmp_path / "Outputs", "--pack", "2")
    assert result.returncode == 2
    assert result.stderr.strip().endswith("train on TensorFlow: pass --keras-backend jax (or set \"backend\": \"jax\" "
                                          "in the grid), or leave --pack out.")
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "Outputs").exists()


def test_a_pack_is_one_task_on_the_cluster_backends(tmp_path):
    """Ray and Slurm run a pack as one task: MaskTrainer.py --pack-file, which starts, resumes or skips each of its
    runs (so a requeued or retried task carries on), recorded in Slurm's submission record under one key."""
    import Sweep  # noqa: F401  (the repository on the path)
    from config import RunConfig
    from runner.existing_runs import Action
    from sweeps.execution import Job, continue_command
    from sweeps.packing import pack_jobs
    from sweeps.slurm_executor import job_key, run_key
    configs = [RunConfig(backend="jax", seed=seed, outputpath=str(tmp_path / "out")) for seed in (1, 2, 3)]
    jobs = [Job(number, config, Action("run"), f"seed={config.seed}") for number, config in enumerate(configs, 1)]
    (pack,) = pack_jobs(jobs, 4, str(tmp_path / "out"))
    assert [member.number for member in pack.members] == [1, 2, 3]
    command = continue_command(pack.config, pack.pack_file)
    assert command[-2:] == ["--pack-file", pack.pack_file] and pack.pack_file.startswith(str(tmp_path))
    assert job_key(pack) not in {run_key(config) for config in configs}
    assert job_key(pack) == job_key(pack_jobs(jobs, 4, str(tmp_path / "out"))[0])  # the same pack again
    two = pack_jobs(jobs, 2, str(tmp_path / "out"))
    assert [len(job.members) for job in two] == [2, 0] and two[1] is jobs[2]


@pytest.mark.usefixtures("slurm_cluster", "quick_polls")
def test_a_pack_on_a_real_slurm_is_one_array_task_whose_runs_end_each_their_own_way(tmp_path):
    """Four Baseline runs, two of which diverge (lr 1e12), packed into one Slurm task: the two steady ones finish,
    the diverging ones are reported failed, each from its own logs."""
    output = tmp_path / "Outputs"
    grid = write_grid(tmp_path, base={**JAX_GRID, "traintype": "Baseline"}, grid={"lr": [1e12, 0.001]}, rules=[],
                      seeds=[1, 2])
    result = sweep(grid, "--outputpath", output, "--executor", "slurm", "--pack", "4")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Submitted 4 run(s) in 1 task(s) to Slurm as job" in result.stdout  # one task: the pack
    assert "2 finished (0 of them resumed), 0 skipped (finished already), 2 failed" in result.stdout
    logs = list(all_logs(output).values())
    assert sorted((run["config"]["lr"], run["status"]) for run in logs) == [
        (0.001, "finished"), (0.001, "finished"), (1e12, "failed"), (1e12, "failed")]
    assert len({run["pack"]["packId"] for run in logs}) == 1


@pytest.mark.skipif(not HAS_RAY, reason="the Ray backend's tests need Ray (pip install -r requirements-dev.txt)")
def test_packs_on_a_real_ray_are_one_task_each_and_their_runs_are_runs_like_any_others(tmp_path, ray_head):
    """2 p1 x 2 seeds with --pack 2 on a joined Ray head: two tasks (one start line each), four finished runs,
    each with its own logs naming its pack and that pack's runs; the same command skips all four."""
    output = tmp_path / "Outputs"
    grid = write_grid(tmp_path, base=JAX_GRID, grid={"p1": [0.5, 0.3]}, rules=[], seeds=[1, 2])
    first = sweep_process(grid, "--outputpath", output, "--executor", "ray", "--address", ray_head.address,
                          "--pack", "2")
    assert first.returncode == 0, first.stdout + first.stderr
    assert (f"4 runs: 4 to run, 0 to resume, 0 finished already (skipped); results under {output}; 2 pack(s) of up "
            f"to 2 runs, on the Ray cluster at {ray_head.address}") in first.stdout
    starts = re.findall(r"^#\d+/4 start: (.*)$", first.stdout, re.MULTILINE)
    assert len(starts) == 2 and all(label.startswith("pack of 2: ") for label in starts), first.stdout
    assert "4 finished (0 of them resumed), 0 skipped (finished already), 0 failed" in first.stdout
    assert logs_mention(ray_head.logs, str(output))  # the packs' processes ran on the head's workers
    logs = all_logs(output)
    assert len(logs) == 4 and all(run["status"] == "finished" for run in logs.values())
    for path, run in logs.items():  # its configuration's folder (seeds share it), its files named by its run ID
        assert path.name == f"{run['runId']}_logs.json" and f"P1_{run['config']['p1']}" in path.parts
        assert path.with_name(f"{run['runId']}_final_masks.npz").is_file()
    assert len({run["runId"] for run in logs.values()}) == 4
    packs = {}
    for run in logs.values():
        packs.setdefault(run["pack"]["packId"], []).append(run)
    assert len(packs) == 2
    pack_files = [json.loads(path.read_text())["runs"] for path in (output / "packs").glob("pack-*.json")]
    listed = sorted(sorted((settings["p1"], settings["seed"]) for settings in runs) for runs in pack_files)
    assert len(pack_files) == 2 and all(len(runs) == 2 for runs in pack_files)
    for members in packs.values():  # each run's record names its pack's runs, itself included, in member order
        assert sorted(run["pack"]["member"] for run in members) == [0, 1]
        run_ids = [run["runId"] for run in sorted(members, key=lambda run: run["pack"]["member"])]
        assert all(run["pack"]["runIds"] == run_ids for run in members)
    assert sorted(sorted((run["config"]["p1"], run["seed"]) for run in members) for members in packs.values()) \
        == listed
    again = sweep_process(grid, "--outputpath", output, "--executor", "ray", "--address", ray_head.address,
                          "--pack", "2")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "4 runs: 0 to run, 0 to resume, 4 finished already (skipped)" in again.stdout
    assert "start:" not in again.stdout and len(all_logs(output)) == 4
