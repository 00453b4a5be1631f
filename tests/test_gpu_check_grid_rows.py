"""The GPU check's rows about grids (bench/gpu/gpu_grid_rows.py): their plan, the environment each row's process
gets, and how the report judges them, on hand-made results (the rows' path end to end is bench/gpu/check.sh --quick
--rows determinism,autotune,gridtime, a few minutes of CPU: not part of the suite)."""

import json
import os
import sys
import time

from conftest import REPOSITORY
from test_gpu_check import pack_row, report_of, timed_row

sys.path[:0] = [str(REPOSITORY / "bench" / "gpu"), str(REPOSITORY / "bench")]

import gpu_check  # noqa: E402
import gpu_grid_rows  # noqa: E402
import gpu_markdown  # noqa: E402
import gpu_report  # noqa: E402
from gpu_report import row_key  # noqa: E402


def test_the_grid_groups_plan_their_rows_after_the_others_without_repeating_one():
    rows = gpu_check.plan_rows(gpu_check.parse_args(["--rows", "pack,autotune,forms,workers,gridtime", "--conv-forms",
                                                     "0", "--lenet-packs", "1", "--conv6-packs", "1,8"]))
    assert list(rows) == [
        "LeNet/pack1/float32", "Conv6/pack1/float32", "Conv6/pack8/float32",
        *(f"{network}/runner/float32/autotuned-{call}" for network in ("LeNet", "Conv6", "ResNet20")
          for call in (1, 2, 3)),
        # on a GPU the chosen form of a pack is vmap: the pack group's Conv6 row is vmap's
        "Conv6/pack8/float32/unrolled", "Conv6/pack8/float32/folded",
        "ResNet20/pack1/float32", "ResNet20/pack4/float32", "ResNet20/pack4/float32/folded",
        "Conv6/sweep/float32", "Conv6/sweep/float32/mps", "ResNet20/sweep/float32", "ResNet20/sweep/float32/mps",
        "all/gridtime"]
    assert all(row["status"] == "not run" for row in rows.values())
    assert gpu_check.probed(rows) == ["jax"]
    on_cpu = gpu_check.plan_rows(gpu_check.parse_args(["--quick", "--rows", "forms", "--networks", "ResNet20"]))
    assert list(on_cpu) == ["ResNet20/pack1/float32", "ResNet20/pack4/float32", "ResNet20/pack4/float32/vmap",
                            "ResNet20/pack4/float32/folded"]


def test_a_row_asks_for_its_pack_form_and_the_autotune_calls_share_their_caches(tmp_path):
    rows = gpu_check.plan_rows(gpu_check.parse_args(["--rows", "autotune,forms", "--networks", "Conv6"]))
    base = {"XLA_FLAGS": "--xla_dump_to=/tmp/x"}
    folded = gpu_grid_rows.environment(rows["Conv6/pack8/float32/folded"], base, str(tmp_path))
    assert folded == {**base, "MASKTRAINER_PACK_FORM": "folded"}
    # a compilation cache of the check's own environment would let the first call skip its tuning: none of the three
    # reads it; the second writes the check's own, the third reads it
    users = {**base, "JAX_COMPILATION_CACHE_DIR": "/tmp/theirs", "MASKTRAINER_JAX_CACHE": "on",
             "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "5", "JAX_PERSISTENT_CACHE_ENABLE_XLA_CACHES": "all"}
    first, second, third = (gpu_grid_rows.environment(rows[f"Conv6/runner/float32/autotuned-{call}"], users,
                                                      str(tmp_path)) for call in (1, 2, 3))
    assert first == {**base, "MASKTRAINER_XLA_AUTOTUNE_CACHE": os.path.join(tmp_path, "autotune-cache")}
    assert second == third == {**first, "MASKTRAINER_JAX_CACHE": os.path.join(tmp_path, "compilation-cache")}
    assert gpu_grid_rows.environment(rows["Conv6/pack8/float32"], base, str(tmp_path)) == base


def autotuned(network, call, seconds, curves):
    return {**timed_row(network, "runner", seconds), "autotune": call, "loss_accuracy": curves,
            "warm_up_s": {1: 30.0, 2: 6.0, 3: 1.5}[call], "process_s": {1: 40.0, 2: 16.0, 3: 10.0}[call],
            "xla_flags": "--xla_gpu_exclude_nondeterministic_ops=true"}


def test_the_caches_are_judged_on_their_cost_and_on_identical_runs():
    curves = [[2.3, 0.1], [1.2, 0.6]]
    rows = {row_key("Conv6", "runner", "float32", False): timed_row("Conv6", "runner", 2.0, deterministic=False),
            "Conv6/runner/float32/autotuned-1": autotuned("Conv6", 1, 2.3, curves),
            "Conv6/runner/float32/autotuned-2": autotuned("Conv6", 2, 2.1, curves),
            "Conv6/runner/float32/autotuned-3": autotuned("Conv6", 3, 2.1, curves),
            "LeNet/runner/float32/autotuned-1": autotuned("LeNet", 1, 0.5, curves),
            "LeNet/runner/float32/autotuned-2": autotuned("LeNet", 2, 0.5, curves),
            "LeNet/runner/float32/autotuned-3": autotuned("LeNet", 3, 0.5, [[2.3, 0.1], [1.2000001, 0.6]]),
            "ResNet20/runner/float32/autotuned-1": autotuned("ResNet20", 1, 0.9, curves),
            "ResNet20/runner/float32/autotuned-2": autotuned("ResNet20", 2, 0.9, curves),
            "ResNet20/runner/float32/autotuned-3": {"network": "ResNet20", "contender": "runner", "autotune": 3,
                                                    "precision": "float32", "status": "not run: budget"},
            # cut short by the budget after its first epoch: compared on that epoch
            "Conv2/runner/float32/autotuned-1": autotuned("Conv2", 1, 1.0, curves),
            "Conv2/runner/float32/autotuned-2": autotuned("Conv2", 2, 1.0, curves),
            "Conv2/runner/float32/autotuned-3": {**autotuned("Conv2", 3, 1.0, curves[:1]), "status": "partial"},
            # the process reading the compiled programs crashed: a finding, not a call to leave out
            "Conv4/runner/float32/autotuned-1": autotuned("Conv4", 1, 1.0, curves),
            "Conv4/runner/float32/autotuned-2": autotuned("Conv4", 2, 1.0, curves),
            "Conv4/runner/float32/autotuned-3": {"network": "Conv4", "contender": "runner", "autotune": 3,
                                                 "precision": "float32", "status": "failed",
                                                 "reason": "XlaRuntimeError: the executable could not be loaded."}}
    judged = {target["target"]: target for target in gpu_report.targets(rows, smoke=False)}
    cost = judged["Conv6 runner: deterministic with the autotuning cache, at most 10% slower than non-deterministic"]
    assert (cost["status"], cost["value"]) == ("met", 1.05)  # 2.1 / 2.0
    same = "runner: processes tuning, reading the autotuning cache and reading the compiled programs give identical " \
           "losses and accuracies"
    assert (judged[f"Conv6 {same}"]["status"], judged[f"Conv6 {same}"]["value"]) == ("met", True)
    assert judged[f"Conv6 {same}"]["unit"] == "identical over 2 epoch(s) (calls 1, 2, 3)"
    # the third call's programs differ in the last digit: missed, not rounded away
    assert (judged[f"LeNet {same}"]["status"], judged[f"LeNet {same}"]["value"]) == ("missed", False)
    # a third call the budget did not reach: the two that ran are compared, and the report says which
    resnet = judged[f"ResNet20 {same}"]
    assert (resnet["status"], resnet["unit"]) == ("met", "identical over 2 epoch(s) (calls 1, 2)")
    conv2, conv4 = judged[f"Conv2 {same}"], judged[f"Conv4 {same}"]
    assert (conv2["status"], conv2["unit"]) == ("met", "identical over 1 epoch(s) (calls 1, 2, 3)")
    assert (conv4["status"], conv4["unit"]) == ("missed", "call 3 failed: XlaRuntimeError: the executable could not "
                                                          "be loaded.")
    assert judged["LeNet runner: deterministic with the autotuning cache, at most 10% slower than non-deterministic"][
        "status"] == "not judged: LeNet/runner/float32/nondeterministic was not planned (add determinism to --rows)"
    ratios = gpu_report.ratios(rows)
    assert ratios["Conv6, runner float32: deterministic with the autotuning cache / non-deterministic"] == 1.05
    assert ratios["Conv6, runner: warm-up epoch reading the cache / tuning it"] == 0.2
    assert ratios["Conv6, runner: warm-up epoch reading the compiled programs too / compiling them"] == 0.25
    assert ratios["Conv6, runner: whole process reading the compiled programs too / compiling them"] == 0.625
    assert ratios["Conv6, runner: s/epoch of the compiled programs read / compiled"] == 1.0
    assert "ResNet20, runner: warm-up epoch reading the compiled programs too / compiling them" not in ratios
    markdown = gpu_markdown.markdown(report_of(rows, smoke=False))
    assert "| Conv6 | 30.0 / 6.0 / 1.5 | 2.100 / 2.100 | 40 / 16 / 10 | True: identical over 2 epoch(s) (calls 1, 2, " \
           "3) | " \
           "`--xla_gpu_exclude_nondeterministic_ops=true` |" in markdown
    assert "| ResNet20 | 30.0 / 6.0 / not run: budget | 0.900 / not run: budget | 40 / 16 / not run: budget |" \
           in markdown
    assert "autotuning cache read | float32 | on, autotuned |" in markdown
    assert "autotuning cache and compiled programs read | float32 | on, autotuned |" in markdown


def test_the_best_pack_form_is_judged_against_one_solo_run():
    rows = {"Conv6/pack1/float32": pack_row("Conv6", 1, 3.0, 2.7),
            "Conv6/pack8/float32": pack_row("Conv6", 8, 24.0, 20.0),
            "Conv6/pack8/float32/folded": {**pack_row("Conv6", 8, 12.0, 10.0), "form": "folded"},
            "Conv6/pack8/float32/unrolled": {**pack_row("Conv6", 8, 20.0, 18.0), "form": "unrolled"}}
    judged = {target["target"]: target for target in gpu_report.targets(rows, smoke=False)}
    best = judged["Conv6, a pack of 8 in its best form: at least 1.5x the runs per hour of one solo run (whole epochs)"]
    assert (best["status"], best["value"]) == ("met", 2.0)  # folded: 8 x 3.0 / 12.0
    assert best["unit"] == "x one solo run: chosen 1.0, folded 2.0, unrolled 1.2"
    assert gpu_report.ratios(rows)["Conv6, pack of 8 (folded): runs per hour / one solo run's"] == 2.0
    assert "| Conv6 | 8 (folded) | NVIDIA H200 |" in gpu_markdown.markdown(report_of(rows, smoke=False))


def test_a_sweep_row_without_an_mps_daemon_says_why(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-cuda-mps-control
    args = gpu_check.parse_args(["--quick", "--rows", "workers", "--networks", "Conv6"])
    row = gpu_check.plan_rows(args)["Conv6/sweep/float32/mps"]
    result = gpu_check.sweep_row(args, row, {"LeNet": {"mnist_dir": None}, "Conv6": {"cifar_folder": "x", "limit": 50}},
                                 10, str(tmp_path), "its timeout")
    assert result == {"status": "skipped", "reason": "nvidia-cuda-mps-control is not on this machine's PATH, so no "
                                                     "MPS daemon can start here."}


def test_a_gridtime_row_stopped_by_its_time_limit_keeps_the_networks_measured_and_leaves_no_process(
        tmp_path, monkeypatch):
    """bench/grid_time.py writes its table after each network; stopped, its settings' processes go with it, so that
    the next row has the device to itself."""
    survivor = tmp_path / "setting.pid"
    stand_in = tmp_path / "grid_time_stand_in.sh"  # writes a partial table, starts a setting's process, and waits
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"complete": False, "devices": ["NVIDIA H200"],
                                   "networks": {"ResNet20": {"best_hours": 2.5}}}))
    stand_in.write_text(f"""#!/bin/sh
while [ "$1" != --output ]; do shift; done
cp {partial} "$2"
sleep 300 & echo $! > {survivor}
sleep 300
""")
    stand_in.chmod(0o755)
    monkeypatch.setattr(gpu_grid_rows.sys, "executable", str(stand_in))
    args = gpu_check.parse_args(["--rows", "gridtime"])
    row = gpu_grid_rows.run_grid_time(args, 3, str(tmp_path))
    assert (row["status"], row["reason"]) == ("partial", "bench/grid_time.py stopped by its time limit after ResNet20")
    assert (row["best_hours"], row["total_hours"], row["device_name"]) == ({"ResNet20": 2.5}, 2.5, "NVIDIA H200")
    # the report's status cell: no count of timed epochs, which a grid's row does not have
    assert gpu_markdown._status(row) == "partial: bench/grid_time.py stopped by its time limit after ResNet20"
    pid = int(survivor.read_text())
    for _ in range(50):  # the killed process is reaped by init
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().split()[2] == "Z":
                    break
        except FileNotFoundError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError(f"the setting's process {pid} outlived the gridtime row")
