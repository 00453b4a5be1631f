"""Sweep.py --pack N: a grid's runs that can share one compiled program train as packs, one job each, and
are runs like any others afterwards (skipped when finished)."""

import json

from slurm_cluster import quick_polls, slurm_cluster  # noqa: F401  (fixtures)
from test_sweep import TINY, all_logs, sweep, write_grid

JAX_GRID = {**TINY, "limit": 60, "traintype": "FreePruning", "backend": "jax"}


def test_a_grid_packs_the_runs_that_share_a_program_and_leaves_the_others_alone(tmp_path):
    output = tmp_path / "Outputs"
    grid = write_grid(tmp_path, base=JAX_GRID, grid={"lr": [0.03, 0.001], "traintype": ["FreePruning", "IMP"]},
                      rules=[{"when": {"traintype": "IMP"}, "set": {"rounds": 1}}], seeds=[1, 2])
    dry = sweep(grid, "--outputpath", output, "--pack", "8", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "8 runs: 8 to run, 0 to resume, 0 finished already (skipped); results under" in dry.stdout
    assert "1 pack(s) of up to 8 runs" in dry.stdout and dry.stdout.count("pack of 4: ") == 1
    assert not (output / "packs").exists()  # a dry run writes nothing
    result = sweep(grid, "--outputpath", output, "--pack", "8")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8 finished" in result.stdout
    logs = list(all_logs(output).values())
    assert len(logs) == 8 and all(run["status"] == "finished" for run in logs)
    packed = [run for run in logs if run["config"]["traintype"] == "FreePruning"]
    assert len({run["pack"]["packId"] for run in packed}) == 1  # the 4 FreePruning runs: one pack
    assert sorted((run["config"]["lr"], run["seed"]) for run in packed) == [(0.001, 1), (0.001, 2), (0.03, 1),
                                                                             (0.03, 2)]
    assert all("pack" not in run for run in logs if run["config"]["traintype"] == "IMP")  # phases: alone
    (pack_file,) = (output / "packs").glob("pack-*.json")
    assert len(json.loads(pack_file.read_text())["runs"]) == 4
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


def test_a_pack_on_a_real_slurm_is_one_array_task_whose_runs_end_each_their_own_way(tmp_path, slurm_cluster,
                                                                                      quick_polls):
    """Four Baseline runs, two of which diverge (lr 1e12), packed into one Slurm task: the two steady ones finish,
    the diverging ones are reported failed, each from its own logs."""
    output = tmp_path / "Outputs"
    grid = write_grid(tmp_path, base={**JAX_GRID, "traintype": "Baseline"}, grid={"lr": [1e12, 0.001]}, rules=[],
                      seeds=[1, 2])
    result = sweep(grid, "--outputpath", output, "--backend", "slurm", "--pack", "4")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Submitted 4 run(s) in 1 task(s) to Slurm as job" in result.stdout  # one task: the pack
    assert "2 finished (0 of them resumed), 0 skipped (finished already), 2 failed" in result.stdout
    logs = list(all_logs(output).values())
    assert sorted((run["config"]["lr"], run["status"]) for run in logs) == [
        (0.001, "finished"), (0.001, "finished"), (1e12, "failed"), (1e12, "failed")]
    assert len({run["pack"]["packId"] for run in logs}) == 1
