"""bench/gpu/check.sh, the one-command GPU check: end to end on the CPU (a smoke run, marked not a GPU result), and
its plan, report and targets on hand-made results.

CI installs no torch (requirements-dev.txt): there the PyTorch rows are skipped by the pre-flight, with the reason in
the report, and the test still checks everything else.
"""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from conftest import REPOSITORY

BENCH = REPOSITORY / "bench"
sys.path[:0] = [str(BENCH / "gpu"), str(BENCH)]

import gpu_check  # noqa: E402
import gpu_markdown  # noqa: E402
import gpu_report  # noqa: E402
import gpu_sweep  # noqa: E402
from gpu_check import plan_rows  # noqa: E402
from gpu_report import row_key  # noqa: E402

TORCH_INSTALLED = importlib.util.find_spec("torch") is not None


def test_the_check_runs_end_to_end_on_the_cpu_and_says_it_is_not_a_gpu_result(tmp_path):
    environment = {name: value for name, value in os.environ.items() if name not in ("OUT", "GPU_CHECK_STARTED")}
    environment.update(PYTHON=sys.executable, OUT=str(tmp_path / "out"))
    completed = subprocess.run(
        ["bash", "bench/gpu/check.sh", "--quick", "--networks", "LeNet", "--rows", "float32,determinism,sweep,pack",
         "--lenet-examples", "200", "--sweep-examples", "200", "--sweep-runs", "1", "--lenet-packs", "2",
         "--output-dir", str(tmp_path / "report"), "--budget-s", "360"],
        cwd=REPOSITORY, env=environment, capture_output=True, text=True, timeout=460)
    output = completed.stdout + completed.stderr
    assert "Traceback" not in output
    report = json.loads((tmp_path / "report" / "gpu_check.json").read_text())
    markdown = (tmp_path / "report" / "gpu_check.md").read_text()
    # $OUT gets the same report and the whole output; bench/results gets nothing from a smoke run.
    assert (tmp_path / "out" / "gpu_check.json").read_text() == (tmp_path / "report" / "gpu_check.json").read_text()
    assert "pre-flight jax: ok" in (tmp_path / "out" / "gpu_check.log").read_text()
    assert report["smoke"] and report["not_a_gpu_result"] and report["device_asked"] == "cpu"
    assert markdown.startswith("# GPU check") and markdown.count("NOT A GPU RESULT") == 2
    assert list(report["rows"]) == ["LeNet/runner/float32", "LeNet/torch/float32",
                                    "LeNet/runner/float32/nondeterministic", "LeNet/sweep/float32",
                                    "LeNet/pack2/float32"]
    rows = report["rows"]
    for key in ("LeNet/runner/float32", "LeNet/runner/float32/nondeterministic"):
        row = rows[key]
        assert row["status"] == "measured", row
        assert row["platform"] == "cpu" and row["training_examples"] == 200 and row["precision"] == "float32"
        assert row["median_s"] > 0 and len(row["epoch_s"]) == 1 and row["versions"]["jax"]
        assert row["settings"]["jax_default_matmul_precision"] == "float32"
    assert rows["LeNet/runner/float32"]["deterministic"] is True
    assert rows["LeNet/runner/float32/nondeterministic"]["deterministic"] is False
    torch_row = rows["LeNet/torch/float32"]
    if TORCH_INSTALLED:
        assert torch_row["status"] == "measured", torch_row
        assert torch_row["settings"]["float32_matmul_precision"] == "highest"
        assert torch_row["settings"]["matmul_allow_tf32"] is False
    else:
        assert torch_row["status"] == "skipped" and "torch is not installed" in torch_row["reason"]
        assert "skipped: pre-flight: torch is not installed" in markdown
    sweep = rows["LeNet/sweep/float32"]
    assert sweep["status"] == "measured", sweep
    # One run only, to keep the test short (the runs' sharing of a GPU is tests/test_sweep_gpu.py's): the path
    # through the real Sweep.py and the reading of its logs are the same.
    assert sweep["finished"] == 1 and [run["seed"] for run in sweep["runs"]] == [1]
    assert all(run["platform"] == "cpu" and run["status"] == "finished" for run in sweep["runs"])
    assert "--workers 1" in sweep["command"] and "--keras-backend jax" in sweep["command"]
    assert "--device cpu" in sweep["command"]
    # One tiny pack (2 LeNet runs through EpochDriver, each epoch trained and recorded): the path of the pack rows.
    pack = rows["LeNet/pack2/float32"]
    assert pack["status"] == "measured", pack
    assert pack["pack"] == 2 and pack["platform"] == "cpu" and pack["training_examples"] == 200
    assert len(pack["train_s"]) == len(pack["record_s"]) == len(pack["epoch_s"]) == 1 and pack["runs_per_hour"] > 0
    assert pack["median_s"] == pack["epoch_s"][0] and pack["estimated_memory_bytes"] > 0
    assert pack["peak_memory_bytes"] is None  # a CPU keeps no JAX memory statistics
    assert "| LeNet | 2 | " in markdown and "Packed runs (`--pack N`" in markdown
    assert report["targets"] and all(target["status"] == "not judged: smoke run, not a GPU result"
                                     for target in report["targets"])
    assert report["complete"] is TORCH_INSTALLED and completed.returncode == (0 if TORCH_INSTALLED else 1)


def test_a_smoke_run_never_writes_into_bench_results(monkeypatch):
    with pytest.raises(SystemExit):
        gpu_check.parse_args(["--quick", "--output-dir", str(BENCH / "results")])
    monkeypatch.setenv("OUT", str(BENCH / "results"))
    assert gpu_check.output_folders(gpu_check.parse_args(["--quick"])) == []
    monkeypatch.delenv("OUT")
    assert gpu_check.output_folders(gpu_check.parse_args([])) == [gpu_check.RESULTS_DIR]


def test_tf32_rows_need_a_gpu_and_the_rows_run_in_the_order_of_importance():
    with pytest.raises(SystemExit):
        gpu_check.parse_args(["--device", "cpu", "--rows", "tf32"])
    assert list(plan_rows(gpu_check.parse_args([]))) == [
        "LeNet/runner/float32", "LeNet/torch/float32", "Conv6/runner/float32", "Conv6/torch/float32",
        "ResNet20/runner/float32", "ResNet20/torch/float32",
        "LeNet/runner/tf32", "LeNet/torch/tf32", "Conv6/runner/tf32", "Conv6/torch/tf32",
        "LeNet/runner/float32/nondeterministic", "Conv6/runner/float32/nondeterministic",
        "ResNet20/runner/float32/nondeterministic", "LeNet/sweep/float32",
        "LeNet/pack1/float32", "LeNet/pack4/float32", "LeNet/pack16/float32", "LeNet/pack64/float32",
        "Conv6/pack1/float32", "Conv6/pack8/float32", "Conv6/conv-forms/float32", "Conv6/pack16/float32"]
    quick = plan_rows(gpu_check.parse_args(["--quick"]))
    assert "LeNet/runner/tf32" not in quick
    assert [key for key in quick if "/pack" in key or "conv-forms" in key] == [
        "LeNet/pack1/float32", "LeNet/pack4/float32", "Conv6/pack1/float32", "Conv6/pack2/float32",
        "Conv6/conv-forms/float32"]
    packs = plan_rows(gpu_check.parse_args(["--rows", "pack", "--conv-forms", "0", "--networks", "Conv6"]))
    assert list(packs) == ["Conv6/pack1/float32", "Conv6/pack8/float32", "Conv6/pack16/float32"]
    # A call of the pack group alone starts no torch probe.
    assert gpu_check.probed(packs) == ["jax"]
    assert gpu_check.probed(plan_rows(gpu_check.parse_args([]))) == ["jax", "torch"]
    with pytest.raises(SystemExit):
        gpu_check.parse_args(["--lenet-packs", "0,4"])


def timed_row(network, contender, seconds, precision="float32", deterministic=True, examples=None, status="measured"):
    examples = examples or {"LeNet": 55_000}.get(network, 45_000)
    return {"network": network, "contender": contender, "precision": precision,
            "deterministic": None if contender == "torch" else deterministic, "status": status,
            "median_s": seconds, "min_s": seconds, "warm_up_s": 3.0, "epoch_s": [seconds], "epochs_asked": 2,
            "training_examples": examples, "dataset": "mnist" if network == "LeNet" else "cifar10",
            "platform": "gpu", "device_name": "NVIDIA H200", "peak_memory_bytes": 2**30, "versions": {"jax": "0.11.2"},
            "process_s": 12.0}


def hand_made_rows():
    rows = [timed_row("LeNet", "runner", 0.4), timed_row("LeNet", "torch", 0.8),
            timed_row("Conv6", "runner", 3.5), timed_row("Conv6", "torch", 4.0),
            timed_row("LeNet", "runner", 0.3, precision="tf32"), timed_row("LeNet", "torch", 0.25, precision="tf32"),
            timed_row("LeNet", "runner", 0.2, deterministic=False), timed_row("Conv6", "runner", 3.0,
                                                                             deterministic=False),
            {"network": "ResNet20", "contender": "runner", "precision": "float32", "deterministic": True,
             "status": "not run", "reason": "budget"},
            {"network": "ResNet20", "contender": "runner", "precision": "float32", "deterministic": False,
             "status": "not run", "reason": "budget"},
            {"network": "ResNet20", "contender": "torch", "precision": "float32", "deterministic": None,
             "status": "skipped", "reason": "pre-flight: No C compiler is on the PATH."},
            {"network": "LeNet", "contender": "sweep", "precision": "float32", "deterministic": True,
             "status": "measured", "runs_asked": 4, "finished": 4, "all_on_gpu": True, "wall_s": 40.0,
             "process_s": 41.0,
             "training_examples": 55_000, "device_name": "NVIDIA H200 (gpu)", "peak_memory_bytes": 8 * 2**30,
             "command": "python Sweep.py grid.json --workers 4", "runs": [
                 {"seed": seed, "status": "finished", "device": "NVIDIA H200 (gpu)", "platform": "gpu",
                  "epoch_s": [1.0, 2.0]} for seed in (1, 2, 3, 4)]}]
    return {row_key(row["network"], row["contender"], row["precision"], row["deterministic"]): row for row in rows}


def test_targets_are_judged_on_a_gpu_run():
    rows = hand_made_rows()
    judged = {target["target"]: target for target in gpu_report.targets(rows, smoke=False)}
    statuses = {name.split(":")[0] if "determinism" not in name else name.split(" runner")[0] + " determinism":
                target["status"] for name, target in judged.items()}
    assert statuses["LeNet runner, float32"] == "met"  # 0.4 s <= 0.5 s
    assert statuses["Conv6 runner, float32"] == "missed"  # 3.5 s > 3 s
    assert judged["LeNet runner faster per epoch than the torch.compile peer, both float32"]["value"] == 0.5
    assert judged["LeNet runner faster per epoch than the torch.compile peer, both tf32"]["status"] == "missed"
    assert statuses["LeNet determinism"] == "missed"  # 0.4 / 0.2 = 2.0 > 1.25
    assert statuses["Conv6 determinism"] == "met"  # 3.5 / 3.0 = 1.167
    assert statuses["ResNet20 determinism"].startswith("not judged: ResNet20/runner/float32 not run (budget)")
    assert judged["4 runs share the GPU through Sweep.py --workers 4: all finished, all on the GPU"]["status"] == "met"
    ratios = gpu_report.ratios(rows)
    assert ratios["LeNet, float32: runner / torch"] == 0.5
    assert ratios["LeNet, runner: tf32 / float32"] == 0.75
    assert ratios["Conv6, runner float32: deterministic / non-deterministic (cost of determinism)"] == 1.167


def test_a_target_off_an_h200_or_off_the_full_data_says_so():
    rows = hand_made_rows()
    for row in rows.values():
        row["device_name"] = "NVIDIA H100 80GB HBM3"
    rows["Conv6/runner/float32"]["training_examples"] = 500
    judged = gpu_report.targets(rows, smoke=False)
    assert judged[0]["status"] == "met (on NVIDIA H100 80GB HBM3, not an H200)"
    assert judged[1]["status"] == "not judged: 500 training images, not 45,000"


def pack_row(network, count, seconds, train_seconds, examples=None, status="measured"):
    examples = examples or {"LeNet": 55_000}.get(network, 45_000)
    return {"network": network, "contender": "pack", "pack": count, "precision": "float32", "deterministic": True,
            "status": status, "median_s": seconds, "min_s": seconds, "warm_up_s": 9.0, "epoch_s": [seconds],
            "median_train_s": train_seconds, "median_record_s": round(seconds - train_seconds, 4),
            "runs_per_hour": round(count * 3600 / (20 * seconds), 2), "epochs_asked": 2,
            "training_examples": examples, "validation_examples": 5_000, "test_examples": 1_000,
            "dataset": "mnist" if network == "LeNet" else "cifar10", "platform": "gpu", "device_name": "NVIDIA H200",
            "peak_memory_bytes": count * 2**20, "estimated_memory_bytes": count * 2 * 2**20, "process_s": 30.0}


def hand_made_pack_rows():
    rows = [pack_row("LeNet", 1, 1.0, 0.8), pack_row("LeNet", 64, 1.8, 1.2),
            pack_row("Conv6", 1, 3.0, 2.7), pack_row("Conv6", 8, 9.0, 8.0),
            {"network": "Conv6", "contender": "conv-forms", "members": 8, "batch_size": 25, "precision": "float32",
             "deterministic": True, "status": "measured", "device_name": "NVIDIA H200", "process_s": 20.0,
             "forms": {"loop": {"seconds": 0.008, "per_member_s": 0.001, "compile_s": 1.0},
                       "vmap": {"seconds": 0.016, "per_member_s": 0.002, "over_loop": 2.0, "compile_s": 1.5}}},
            {"network": "Conv6", "contender": "pack", "pack": 16, "precision": "float32", "deterministic": True,
             "status": "not run", "reason": "budget"}]
    return {row_key(row["network"], row["contender"] + str(row.get("pack", "")), "float32"): row for row in rows}


def test_packs_are_judged_against_one_solo_run_on_a_gpu():
    rows = hand_made_pack_rows()
    assert list(rows) == ["LeNet/pack1/float32", "LeNet/pack64/float32", "Conv6/pack1/float32", "Conv6/pack8/float32",
                          "Conv6/conv-forms/float32", "Conv6/pack16/float32"]
    judged = {target["target"].split(":")[0]: target for target in gpu_report.targets(rows, smoke=False)}
    assert judged["LeNet, a pack of 64"]["status"] == "met"  # 64 x 1.0 / 1.8 = 35.6 >= 32
    assert judged["LeNet, a pack of 64"]["value"] == 35.556
    assert judged["Conv6, a pack of 8"]["status"] == "missed"  # 8 x 3.0 / 9.0 = 2.67 < 3
    ratios = gpu_report.ratios(rows)
    assert ratios["LeNet, pack of 64: runs per hour / one solo run's"] == 35.556
    assert ratios["LeNet, pack of 64: runs per hour, training only / one solo run's"] == 42.667
    assert ratios["Conv6, pack of 8: runs per hour / one solo run's"] == 2.667
    rows["Conv6/pack8/float32"]["training_examples"] = 500
    del rows["LeNet/pack1/float32"]
    judged = {target["target"].split(":")[0]: target for target in gpu_report.targets(rows, smoke=False)}
    assert judged["LeNet, a pack of 64"]["status"] == "not judged: LeNet/pack1/float32 was not planned"
    assert judged["Conv6, a pack of 8"]["status"] == ("not judged: Conv6/pack8/float32 had 500 training images, "
                                                      "not 45,000")
    smoke = {target["target"].split(":")[0]: target["status"] for target in gpu_report.targets(rows, smoke=True)}
    assert smoke["Conv6, a pack of 8"] == "not judged: smoke run, not a GPU result"


def test_the_pack_rows_have_tables_of_their_own():
    markdown = gpu_markdown.markdown(report_of(hand_made_pack_rows(), smoke=False))
    assert "| network | contender |" not in markdown  # only pack rows: no table of the other rows
    assert ("| LeNet | 64 | NVIDIA H200 | 55,000 / 5,000 / 1,000 | 1.200 | 0.600 | 1.800 | 6,400.0 | 35.56 | 42.67 | "
            "9.0 | 30 | 64 | 128 | measured |") in markdown
    assert ("| LeNet | 1 | NVIDIA H200 | 55,000 / 5,000 / 1,000 | 0.800 | 0.200 | 1.000 | 180.0 | 1.00 | 1.00 |"
            in markdown)
    assert "| Conv6 | 16 |  |  |  |  |  |  |  |  |  |  |  |  | not run: budget |" in markdown
    assert "| vmap | 0.01600 | 0.00200 | 2.00 | 1.5 |" in markdown
    assert "one training step (forward + backward) of 8 members at batch 25, on NVIDIA H200: measured" in markdown
    both = gpu_markdown.markdown(report_of({**hand_made_rows(), **hand_made_pack_rows()}, smoke=False))
    assert both.count("| network | contender |") == 1 and "| LeNet | 64 | NVIDIA H200 |" in both


def report_of(rows, smoke):
    return {"smoke": smoke, "complete": False, "device_asked": "cpu" if smoke else "gpu",
            "devices": ["NVIDIA H200 (gpu)"],
            "nvidia_smi": None, "date": "2026-12-04T00:00:00+00:00", "command": "bash bench/gpu/check.sh",
            "budget_s": 270, "elapsed_s": 265.2, "child_timeout_s": 90, "epochs": 2,
            "versions": {"jax": "0.11.2", "torch": "2.11.0+cu130"},
            "preflight": {"jax": {"ok": True, "details": {"jax": "0.11.2"}},
                          "torch": {"ok": False, "reason": "No C compiler is on the PATH."}},
            "rows": rows, "ratios": gpu_report.ratios(rows), "targets": gpu_report.targets(rows, smoke)}


def test_the_markdown_report_lists_every_row_with_its_status():
    rows = hand_made_rows()
    rows["Conv6/torch/float32"].update(status="partial", reason="stopped by the budget (40 s)", epoch_s=[4.0])
    markdown = gpu_markdown.markdown(report_of(rows, smoke=False))
    assert "NOT A GPU RESULT" not in markdown
    assert "this project is tested on jax 0.10.2; this ran on jax 0.11.2" in markdown
    assert "- pre-flight torch: unusable: No C compiler is on the PATH." in markdown
    assert ("| ResNet20 | runner on JAX: `Experiment.train_epoch` | float32 | on |  |  |  |  |  |  |  | "
            "not run: budget |") in markdown
    assert "skipped: pre-flight: No C compiler is on the PATH." in markdown
    assert "| partial: 1 of 2 timed epochs: stopped by the budget (40 s) |" in markdown
    assert ("| LeNet | runner on JAX: `Experiment.train_epoch` | float32 | off | NVIDIA H200 | 55,000 (mnist) | "
            "0.200 | 0.200 | 3.0 | 12 | 1,024 | measured |") in markdown
    assert ("| LeNet | 4 runs sharing the device: `Sweep.py --workers 4` | float32 | on | NVIDIA H200 (gpu) | "
            "55,000 each |  |  |  | 41 | 8,192 | measured |") in markdown
    assert "| 3 | finished | NVIDIA H200 (gpu) | 1.00, 2.00 | ? - ? |" in markdown
    assert "**Incomplete:**" in markdown
    smoke = gpu_markdown.markdown(report_of(hand_made_rows(), smoke=True))
    assert smoke.count(gpu_report.SMOKE_BANNER) == 2 and "| met" not in smoke


def test_the_sharing_row_reads_what_each_run_logged(tmp_path):
    logs = {"seed": 1, "status": "failed", "failureReason": "Out of memory.", "epochSeconds": [1.5],
            "startedAt": "2026-12-04T17:50:28+00:00", "finishedAt": None, "dataset": {"trainExamples": 55_000},
            "versions": {"jax": "0.11.2"}, "devices": [{"platform": "cpu", "name": "cpu", "precision": "float32"},
                                                       {"platform": "gpu", "name": "NVIDIA H200", "precision": "tf32"}]}
    (tmp_path / "a_logs.json").write_text(json.dumps(logs))
    (tmp_path / "b_logs.json").write_text("")  # reserved, not yet written
    run, unreadable = (gpu_sweep.read_run(str(tmp_path / name)) for name in ("a_logs.json", "b_logs.json"))
    assert run["device"] == "NVIDIA H200 (gpu)" and run["platform"] == "gpu" and run["precision"] == "tf32"
    assert run["training_examples"] == 55_000 and run["epoch_s"] == [1.5]
    assert unreadable["status"] == "unreadable logs"
    row = {"runs": [run, {**run, "seed": 2, "status": "finished"}], "runs_asked": 2, "finished": 1, "all_on_gpu": True}
    assert gpu_sweep.sweep_status(row, "gpu", 1, 60, "its timeout") == {
        "status": "failed", "reason": "Sweep.py exited with code 1 and 1 of 2 runs finished (seed 1: Out of memory.)."}
    assert gpu_sweep.sweep_status(row, "gpu", None, 60, "the budget")["reason"].startswith(
        "Sweep.py was stopped by the budget (60 s)")


NO_KERAS_DRIVER = """
import sys
sys.modules.update(keras=None, tensorflow=None, jax=None)  # the GPU machine has no TensorFlow; torch rows need none
sys.path[:0] = [sys.argv[1] + "/gpu", sys.argv[1], sys.argv[2]]
import gpu_contender
from cifar_shaped import write_cifar_shaped
from torch_peers import TorchPeer
write_cifar_shaped(sys.argv[3], training_examples=20, test_examples=10)
for network in ("Conv6", "ResNet8"):
    spec = {"network": network, "cifar_folder": sys.argv[3], "limit": 20}
    data = gpu_contender.load_data(spec)
    peer = TorchPeer(network, data.x_train, data.y_train, compile=False, device="cpu", precision="float32")
    loss, accuracy = peer.train_epoch()
    peer.close()
    print(network, len(data.x_train), loss == loss)
"""


def test_the_convolutional_torch_peers_need_neither_keras_nor_tensorflow(tmp_path):
    # On the first GPU check (2026-12-04) the Conv6 and ResNet20 PyTorch rows failed there: `networks.resnet`
    # imported Keras, and Keras without TensorFlow. The structures now live in Keras-free networks.architectures.
    pytest.importorskip("torch")
    completed = subprocess.run([sys.executable, "-c", NO_KERAS_DRIVER, os.path.join(REPOSITORY, "bench"), REPOSITORY,
                                str(tmp_path / "cifar")], capture_output=True, text=True, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert completed.stdout.split("\n")[:2] == ["Conv6 20 True", "ResNet8 20 True"]
