"""Sweep.py: grids of runs, skipping finished runs, resuming interrupted ones, workers, Ctrl-C, bad grids."""

import contextlib
import io
import json
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

import Sweep
from conftest import REPOSITORY
from runner import existing_runs
from sweeps.grid import load_grid

# The grids' runs train on JAX: with the suite's shared compilation cache (tests/conftest.py) a tiny run's process
# takes about 4.7 s of CPU, against 9-10 s on TensorFlow (measured 2026-12-07), and the sweep, claim, Ray and
# Slurm tests start dozens of them. What they check does not depend on the backend; test_resume keeps both.
TINY = {"dataset": "mnist-subset", "limit": 40, "maxepochs": 1, "batchsize": 20, "backend": "jax"}
# For the tests of what decides the backend of runs whose grid sets none.
TINY_WITHOUT_BACKEND = {key: value for key, value in TINY.items() if key != "backend"}
LONG = {"dataset": "mnist-subset", "limit": 400, "maxepochs": 15, "batchsize": 20, "traintype": "FreePruning"}


def write_grid(folder, name="grid.json", base=TINY, grid=None, rules=None, seeds=(1, 2), **extra):
    document = {"description": "test grid", "machine": "runs here", "base": base,
                "grid": grid if grid is not None else {"traintype": ["Baseline", "FreePruning"]},
                "rules": rules if rules is not None else [{"when": {"traintype": "FreePruning"},
                                                           "set": {"masktype": "mask_rs"}}],
                "seeds": list(seeds), **extra}
    path = Path(folder) / name
    path.write_text(json.dumps(document))
    return path


def all_logs(output):
    return {path: json.loads(path.read_text()) for path in Path(output).rglob("*_logs.json")}


def files_and_times(output):
    return {path: path.stat().st_mtime_ns for path in Path(output).rglob("*") if path.is_file()}


def sweep(*arguments):
    """Sweep.main in this process (its runs are subprocesses anyway), with what it printed."""
    out, error = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(error):
        code = Sweep.main([str(argument) for argument in arguments])
    return types.SimpleNamespace(returncode=code, stdout=out.getvalue(), stderr=error.getvalue())


@pytest.fixture(scope="module")
def tiny_sweep(tmp_path_factory):
    """2 configurations x 2 seeds, run with --workers 2."""
    folder = tmp_path_factory.mktemp("sweep")
    grid, output = write_grid(folder), folder / "Outputs"
    result = sweep(grid, "--outputpath", output, "--workers", "2")
    return grid, output, result


def test_a_tiny_grid_with_two_workers_produces_four_finished_runs_with_the_right_configs(tiny_sweep):
    _, output, result = tiny_sweep
    assert result.returncode == 0, result.stderr
    logs = list(all_logs(output).values())
    assert len(logs) == 4 and all(log["status"] == "finished" for log in logs)
    found = sorted((log["config"]["traintype"], log["config"]["masktype"], log["seed"]) for log in logs)
    assert found == [("Baseline", "mask", 1), ("Baseline", "mask", 2),
                     ("FreePruning", "mask_rs", 1), ("FreePruning", "mask_rs", 2)]
    assert all(log["config"]["limit"] == 40 and log["config"]["maxepochs"] == 1 for log in logs)
    assert "[4/4] finished" in result.stdout and "nothing left" in result.stdout
    assert "4 finished (0 of them resumed), 0 skipped" in result.stdout


def test_running_the_same_grid_again_skips_every_finished_run(tiny_sweep):
    grid, output, _ = tiny_sweep
    before = files_and_times(output)
    assert Sweep.main([str(grid), "--outputpath", str(output)]) == 0
    assert files_and_times(output) == before
    dry = sweep(grid, "--outputpath", output, "--dry-run")
    assert dry.returncode == 0 and dry.stdout.count(" skip ") == 4


def test_dry_run_lists_each_run_and_what_would_happen_without_running(tiny_sweep, tmp_path):
    _, output, _ = tiny_sweep
    bigger = write_grid(tmp_path, seeds=(1, 2, 3))
    before = files_and_times(output)
    result = sweep(bigger, "--outputpath", output, "--dry-run", "--only", "traintype=FreePruning")
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines() if line.startswith("  #")]
    seeds = [next(word for word in line if word.startswith("seed=")) for line in lines]
    assert list(zip((line[1] for line in lines), seeds)) == [("skip", "seed=1"), ("skip", "seed=2"), ("run", "seed=3")]
    assert all("traintype=FreePruning" in line for line in lines)
    assert "3 runs: 1 to run, 0 to resume, 2 finished already" in result.stdout
    assert files_and_times(output) == before


def test_earlier_attempts_decide_between_skip_resume_and_a_fresh_start(tiny_sweep, tmp_path):
    grid, output, _ = tiny_sweep
    finished = next(iter(all_logs(output).values()))
    config = next(config for config in load_grid(str(grid)).runs
                  if config.seed == finished["seed"] and config.traintype == finished["config"]["traintype"])
    key = config.identity_key()
    assert existing_runs.decide(existing_runs.scan(str(output))[key]).kind == "skip"
    folder = tmp_path / "runs"
    folder.mkdir()
    (folder / "00000000_logs.json").write_text("")  # a run that died right after claiming its ID
    (folder / "11111111_logs.json").write_text(json.dumps({**finished, "status": "running", "testLoss": [1.0]}))
    assert existing_runs.decide(existing_runs.scan(str(folder))[key]).kind == "run"  # no checkpoint
    (folder / "11111111_checkpoint.previous.npz").write_bytes(b"")
    action = existing_runs.decide(existing_runs.scan(str(folder))[key])
    assert (action.kind, action.logs_path) == ("resume", str(folder / "11111111_logs.json"))
    other_seed = {**finished, "seed": 99, "config": {**finished["config"], "seed": 99}}
    (folder / "22222222_logs.json").write_text(json.dumps(other_seed))
    assert len(existing_runs.scan(str(folder))[key]) == 1


def test_an_interrupted_run_is_resumed_by_the_sweep_and_finishes(tmp_path):
    output = tmp_path / "Outputs"
    flags = [f"--{name}={value}" for name, value in LONG.items()]
    process = subprocess.Popen([sys.executable, "MaskTrainer.py", *flags, "--seed", "5", "--outputpath", str(output)],
                               cwd=REPOSITORY, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    logs_path = wait_for_epochs(output, 2, process)
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=120)
    assert process.returncode == 130
    assert json.loads(logs_path.read_text())["status"] == "interrupted"
    grid = write_grid(tmp_path, base=LONG, grid={}, rules=[], seeds=[5])
    dry = sweep(grid, "--outputpath", output, "--dry-run")
    assert " resume " in dry.stdout and str(logs_path) in dry.stdout
    result = sweep(grid, "--outputpath", output)
    assert result.returncode == 0, result.stderr
    assert "finished (resumed)" in result.stdout and "1 of them resumed" in result.stdout
    (logs,) = all_logs(output).values()  # the same run continued: no second run
    assert logs["status"] == "finished" and len(logs["testLoss"]) == 16 and logs["seed"] == 5
    assert not list(output.rglob("*_checkpoint*.npz"))


def test_ctrl_c_stops_the_sweep_saves_the_run_and_says_to_run_again(tmp_path):
    output = tmp_path / "Outputs"
    grid = write_grid(tmp_path, base=LONG, grid={}, rules=[], seeds=[7, 8])
    process = subprocess.Popen([sys.executable, "Sweep.py", str(grid), "--outputpath", str(output)],
                               cwd=REPOSITORY, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    logs_path = wait_for_epochs(output, 2, process)
    process.send_signal(signal.SIGINT)
    out, error = process.communicate(timeout=120)
    assert process.returncode == 130, error
    assert "run the same command again" in error and len(error.strip().splitlines()) == 1
    assert "1 interrupted, 1 not started" in out and str(logs_path) in out
    assert json.loads(logs_path.read_text())["status"] == "interrupted"
    assert list(output.rglob("*_checkpoint.npz")) and len(all_logs(output)) == 1


def test_a_failed_run_does_not_stop_the_sweep_and_is_listed_with_its_logs(tmp_path):
    output = tmp_path / "Outputs"
    grid = write_grid(tmp_path, base={**TINY, "traintype": "Baseline", "limit": 100, "maxepochs": 2},
                      grid={"lr": [1e12, 0.001]}, rules=[], seeds=[1])
    result = sweep(grid, "--outputpath", output, "--workers", "2")
    assert result.returncode == 1
    assert "1 finished" in result.stdout and "1 failed" in result.stdout
    failed = [path for path, logs in all_logs(output).items() if logs["status"] == "failed"]
    assert len(failed) == 1 and f"lr=1000000000000.0 seed=1: {failed[0]}" in result.stdout
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("content, message", [
    ('{"description": "d", "machine": "m", "seeds": [1], "colour": "red"}', "unknown key 'colour'"),
    ('{"description": "d", "machine": "m", "seeds": [1], "base": {"epochs": 3}}', "unknown setting 'epochs'"),
    ('{"description": "d", "machine": "m", "seeds": [1], "grid": {"traintype": ["Pruning"]}}',
     "'Pruning' is not a value of 'traintype'"),
    ('{"description": "d", "machine": "m", "seeds": [1], "base": {"traintype": "FreeFlipping", "masktype": "mask"}}',
     "is invalid"),
    ('{"description": "d", "machine": "m", "seeds": [0]}', "'seeds' must be"),
    ('{"description": "d", "machine": "m", "seeds": [4294967296]}', "integers from 1 to 4294967295"),
    ('{"description": "d", "machine": "m", "seeds": [1], "rules": [{"when": {"nettype": "LeNet"}}]}',
     "exactly the keys 'when' and 'set'"),
    ('{"description": "d", "machine": "m", "seeds": [1], "base": {"maxepochs": 2}', "not valid JSON"),
    # the device does not make another run: a grid varying it would train the same run twice
    ('{"description": "d", "machine": "m", "seeds": [1], "grid": {"device": ["cpu", "auto"]}}',
     "are the same run (a rule may set a setting that the grid varies, or they differ only in settings that do "
     "not make another run: xla, tensorboard or device)"),
])
def test_a_bad_grid_exits_2_with_one_line_and_starts_nothing(tmp_path, capsys, content, message):
    grid = tmp_path / "bad.json"
    grid.write_text(content)
    assert Sweep.main([str(grid), "--outputpath", str(tmp_path / "Outputs")]) == 2
    captured = capsys.readouterr()
    assert len(captured.err.strip().splitlines()) == 1 and message in captured.err, captured.err
    assert captured.out == "" and not (tmp_path / "Outputs").exists()


def test_bad_only_and_workers_flags_exit_2(tmp_path, capsys):
    grid = write_grid(tmp_path)
    for flags in (["--only", "colour=red"], ["--only", "traintype=MinPruning"], ["--workers", "0"]):
        assert Sweep.main([str(grid), "--dry-run", *flags]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1


EXPECTED_RUNS = {"lenet_mnist": 45, "lenet_p1_sweep": 40, "lenet_p1_sweep_full": 42, "conv2_cifar10": 45,
                 "conv4_cifar10": 45, "conv6_cifar10": 45, "conv2_p1_sweep_cifar10": 18,
                 "conv4_p1_sweep_cifar10": 18, "conv6_p1_sweep_cifar10": 18, "conv2_mnist": 5,
                 "conv2_mnist_smoke_quick": 5}
AUTHORS_LR = {"LeNet": (1e-3, 1e-3, 1e-3), "Conv2": (2e-4, 3e-3, 5e-4), "Conv4": (3e-4, 3e-3, 5e-4),
              "Conv6": (3e-4, 3e-3, 5e-4)}  # Baseline, pruning (mask_rs), flipping (flip)


def test_every_experiment_file_parses_and_validates():
    files = sorted((REPOSITORY / "experiments").glob("*.json"))
    assert {path.stem for path in files} >= set(EXPECTED_RUNS)
    for path in files:
        grid = load_grid(str(path))
        assert grid.runs and grid.description and grid.machine, path


@pytest.mark.parametrize("name", sorted(EXPECTED_RUNS))
def test_the_paper_grids_use_the_authors_settings(name):
    grid = load_grid(str(REPOSITORY / "experiments" / f"{name}.json"))
    assert len(grid.runs) == EXPECTED_RUNS[name]
    assert grid.machine.startswith("runs here" if "lenet" in name or "mnist" in name else "needs CIFAR-10")
    for config in grid.runs:
        baseline, pruning, flipping = AUTHORS_LR[config.nettype]
        expected = {"Baseline": (baseline, "mask"), "FreePruning": (pruning, "mask_rs"),
                    "MinPruning": (pruning, "mask_rs"), "FreeFlipping": (flipping, "flip"),
                    "MinFlipping": (flipping, "flip")}[config.traintype]
        assert (config.lr, config.resolved_masktype()) == expected, config
        assert config.dataset == ("cifar10" if "cifar10" in name else "mnist")
        assert config.p1 == 0.5 or "p1_sweep" in name


def wait_for_epochs(output, entries, process, timeout=120):
    """The logs path once the run's logs hold `entries` epochs (epoch 0 included)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        for path in Path(output).rglob("*_logs.json"):
            try:
                if len(json.loads(path.read_text())["testLoss"]) >= entries:
                    return path
            except (ValueError, KeyError):
                pass  # the exclusive placeholder, before the first write
        assert process.poll() is None, process.communicate()
        time.sleep(0.02)
    raise AssertionError("the run did not get that far in time")


def test_a_grid_may_vary_the_keras_backend_and_each_run_trains_on_its_own(tmp_path):
    grid = write_grid(tmp_path, grid={"backend": ["tensorflow", "jax"]}, rules=[], seeds=(1,),
                      base={**TINY, "traintype": "Baseline"})
    result = sweep(grid, "--outputpath", tmp_path / "Outputs", "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert "backend=jax seed=1" in result.stdout and "backend=tensorflow seed=1" in result.stdout
    logs = list(all_logs(tmp_path / "Outputs").values())
    assert sorted(log["config"]["backend"] for log in logs) == ["jax", "tensorflow"]
    assert sorted("jax" in log["versions"] for log in logs) == [False, True]


def test_keras_backend_flag_sets_the_backend_of_runs_whose_grid_sets_none(tmp_path, monkeypatch):
    from sweeps.execution import trainer_command
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    grid = write_grid(tmp_path, seeds=(1,), base=TINY_WITHOUT_BACKEND)
    assert Sweep.build_parser().parse_args([str(grid)]).keras_backend == "jax"  # the environment's, by default
    assert Sweep.build_parser().parse_args([str(grid), "--keras-backend", "tensorflow"]).keras_backend == "tensorflow"
    runs = load_grid(grid, str(tmp_path), defaults={"backend": "jax"}).runs
    assert [config.backend for config in runs] == ["jax", "jax"]
    command = trainer_command(runs[0], existing_runs.Action("run"))
    assert command[command.index("--backend") + 1] == "jax"
    pinned = write_grid(tmp_path, name="pinned.json", seeds=(1,), base={**TINY, "backend": "tensorflow"})
    assert {config.backend for config in load_grid(pinned, defaults={"backend": "jax"}).runs} == {"tensorflow"}
    assert {config.backend for config in load_grid(write_grid(tmp_path, seeds=(1,)), str(tmp_path),
                                                   defaults={"backend": "tensorflow"}).runs} == {"jax"}


def test_executor_names_where_runs_execute():
    parser = Sweep.build_parser()
    assert parser.parse_args(["grid.json"]).backend == "local"
    assert parser.parse_args(["grid.json", "--executor", "ray"]).backend == "ray"
    assert parser.parse_args(["grid.json", "--keras-backend", "jax"]).keras_backend == "jax"


OLD_SPELLING_NOTICE = ("Sweep.py: --backend still works, but use --executor, which says what it chooses "
                       "(--keras-backend chooses Keras' backend).\n")


def test_the_old_spelling_backend_still_works_with_a_one_line_notice(tmp_path):
    grid, output = write_grid(tmp_path), tmp_path / "Outputs"
    new = sweep(grid, "--outputpath", output, "--dry-run", "--executor", "local")
    old = sweep(grid, "--outputpath", output, "--dry-run", "--backend", "local")
    assert new.returncode == old.returncode == 0, old.stderr
    assert OLD_SPELLING_NOTICE not in new.stderr and old.stderr.count(OLD_SPELLING_NOTICE) == 1
    assert old.stderr.startswith(OLD_SPELLING_NOTICE) and old.stderr.removeprefix(OLD_SPELLING_NOTICE) == new.stderr
    assert old.stdout == new.stdout
    # run as a script, main() reads sys.argv (--help ends it before any grid is read)
    script = subprocess.run([sys.executable, "Sweep.py", "grid.json", "--backend=ray", "--help"], cwd=REPOSITORY,
                            capture_output=True, text=True)
    assert script.returncode == 0 and script.stderr == OLD_SPELLING_NOTICE
    assert all(not Sweep.uses_old_executor_spelling(["grid.json", *flags]) for flags in
               (["--keras-backend", "jax"], ["--executor", "ray"], ["--", "--backend"]))
