"""Speed of Conv2/Conv4/Conv6 (and ResNet20) FreePruning at batch 25 on CIFAR-shaped data: the runner vs. plain
Keras vs. PyTorch vs. the arithmetic floor, side by side in one process.

    .venv/bin/pip install -r bench/requirements.txt
    .venv/bin/python bench/conv_speed.py [--nets Conv2,Conv4,Conv6] [--examples 2000] [--epochs 3] [--quick]
    .venv/bin/python bench/conv_speed.py --nets ResNet20 --output bench/results/conv_speed_resnet20.json

Per network, the contenders of lenet_speed.py (runner, keras_fit, keras_fit_best, torch) and the arithmetic floor
(arithmetic_floor.py), interleaved epoch by epoch; then evaluation per batch size. The images are random, written in
CIFAR-10's format (cifar_shaped.py) and read by the product's reader. Results: bench/results/conv_speed.json
(bench/report.py renders it); bench/README.md says what each row is.
"""

import argparse
import datetime
import os
import shlex
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [REPO, os.path.dirname(os.path.abspath(__file__))]

from quiet_tensorflow import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()

import torch  # noqa: E402

import machine  # noqa: E402
import report  # noqa: E402
from arithmetic_floor import ArithmeticFloor  # noqa: E402
from cifar_shaped import write_cifar_shaped  # noqa: E402
from datasets import load_dataset  # noqa: E402
from keras_contenders import PlainFit, augments, best_fit_setting, fit_settings  # noqa: E402
from lenet_speed import run_rounds, summarise  # noqa: E402
from results import atomic  # noqa: E402
from runs import Runs  # noqa: E402
from torch_peers import TorchPeer  # noqa: E402
from training.steps import EVALUATION_BATCH_SIZE  # noqa: E402

RESULTS = os.path.join(REPO, "bench", "results", "conv_speed.json")
CIFAR10_TRAINING_EXAMPLES = 45_000  # 50,000 minus the 5,000 validation images
TARGET_FLOOR = {"Conv2": 1.5, "Conv4": 1.2, "Conv6": 1.2}
TARGET_EVAL_SHARE = 0.15
# What the rows of a network whose runs augment include and leave out; stored with the results.
AUGMENTED_LABELS = {
    "runner": "runner: `Experiment.train_epoch` (masked; BatchNorm, shift-flip augmentation in the step)",
    "keras_fit": "plain Keras, unmasked, `model.fit` (defaults; BatchNorm, `RandomTranslation` + `RandomFlip`)",
    "keras_fit_best": "plain Keras, unmasked, `model.fit` at its fastest setting (BatchNorm, `RandomTranslation` + "
                      "`RandomFlip`; XLA not tried: Keras runs these layers without it)",
    "torch": "PyTorch masked, `torch.compile` (peer; BatchNorm2d, the same shift-flip augmentation)",
    "floor": "TensorFlow's conv/matmul kernels of an epoch, run on their own (no BatchNorm, add, pooling, "
             "augmentation)",
    "flops_floor": "arithmetic floor: training FLOPs / forward-kernel throughput (masked convolutions and dense "
                   "output only; no BatchNorm, residual add, pooling, augmentation)",
    "kernel_floor": "arithmetic floor: sum of TensorFlow's conv/matmul kernels at the layers' shapes (the same "
                    "layers only)",
}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--nets", default="Conv2,Conv4,Conv6", help="comma-separated networks")
    parser.add_argument("--examples", type=int, default=2000, help="training examples per epoch")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per contender, after one warm-up")
    parser.add_argument("--only", default="runner,keras_fit,keras_fit_best,torch", help="contenders to run")
    parser.add_argument("--eval-batch-sizes", default="100,200,500,1000",
                        help="evaluation batch sizes to time on the validation split ('' to skip)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 200 examples per split, 1 timed epoch, fit settings on 50 examples")
    parser.add_argument("--busy-cores", type=float, default=0.3,
                        help="an epoch during which other processes used more CPU cores than this is not counted")
    parser.add_argument("--extra-rounds", type=int, default=None,
                        help="at most this many extra rounds (default: --epochs)")
    parser.add_argument("--wait-quiet", type=float, default=300,
                        help="seconds to wait at start for the 1-min load average to drop below 1")
    parser.add_argument("--output", default=RESULTS, help="JSON results file")
    parser.add_argument("--torch-threads", type=int, default=0,
                        help="torch.set_num_threads for the PyTorch peer (0: torch's default, one per core); on "
                             "a machine that other jobs keep busy, 1 spares its OpenMP threads waiting on each other")
    args = parser.parse_args(argv)
    if args.quick:
        args.examples, args.epochs = 200, 1
    return args


def evaluation_batch_sizes(runner, sizes):
    """Seconds per 1,000 validation images at each batch size, and whether the accuracy stayed the same."""
    data, steps = runner.experiments[0].dataset, runner.experiments[0].steps
    seconds, accuracies = {}, set()
    for size in sizes:
        steps.evaluate(data.x_val, data.y_val, batch_size=size)  # compiles this shape
        started = time.perf_counter()
        _, accuracy = steps.evaluate(data.x_val, data.y_val, batch_size=size)
        seconds[str(size)] = round((time.perf_counter() - started) * 1000 / len(data.x_val), 3)
        accuracies.add(accuracy)
    return {"seconds_per_1000": seconds, "accuracy_identical": len(accuracies) <= 1,
            "chosen": steps.evaluation_batch_size}


def bench_network(nettype, dataset, args, names):
    print(f"\n== {nettype}: {len(dataset.x_train)} training, {len(dataset.x_val)} validation, "
          f"{len(dataset.x_test)} test images", flush=True)
    result = {}
    factories = {
        "floor": lambda: ArithmeticFloor(nettype, dataset.x_train.shape[1:], len(dataset.x_train)),
        "runner": lambda: Runs(dataset, nettype=nettype),
        "keras_fit": lambda: PlainFit(dataset, nettype=nettype),
        "torch": lambda: TorchPeer(nettype, dataset.x_train, dataset.y_train),
    }
    if augments(nettype):
        result["labels"] = AUGMENTED_LABELS
    if "keras_fit_best" in names:
        # XLA's CPU convolutions take about 0.2 s per image: its settings are timed on fewer.
        best, tried = best_fit_setting(lambda **setting: PlainFit(dataset, nettype=nettype, **setting),
                                       lambda setting: 50 if args.quick else 100 if setting["jit_compile"] else 500,
                                       fit_settings(nettype))
        result["fit_settings_s_per_1000"], result["fit_best_setting"] = tried, best
        factories["keras_fit_best"] = lambda: PlainFit(dataset, nettype=nettype, **best)
    contenders = {name: factories[name]() for name in ["floor", *names]}
    try:
        extra = args.epochs if args.extra_rounds is None else args.extra_rounds
        timings, rounds, quiet = run_rounds(contenders, args.epochs, args.busy_cores, extra)
        sizes = [int(size) for size in args.eval_batch_sizes.split(",") if size.strip()]
        if "runner" in contenders and sizes:
            result["evaluation_batch_sizes"] = evaluation_batch_sizes(contenders["runner"], sizes)
    finally:
        for contender in contenders.values():
            contender.close()
    rows, ratios, _ = summarise(timings, rounds, quiet, args.busy_cores)
    quiet_rounds = [r["round"] for r in rounds[1:] if (r["other_processes_cores"]["floor"] or 0.0) <= args.busy_cores]
    floor = result["floor"] = contenders["floor"].summary(quiet_rounds or None)
    print(f"arithmetic floor: {floor['training_gflop_per_epoch']} GFLOP per epoch; {floor['flops_floor_s']} s "
          f"(FLOPs / forward-kernel throughput), {floor['kernel_floor_s']} s (sum of TF's kernels)", flush=True)
    result.update(seconds_per_epoch=rows, rounds=rounds)
    result["ratios"], result["targets"] = ratios_and_targets(nettype, rows, ratios, floor, len(dataset.x_train))
    return result


def ratios_and_targets(nettype, rows, ratios, floor, examples):
    ratios = {name: value for name, value in ratios.items() if name != "eval_stats_over_runner_epoch"}
    targets = {}
    if "runner" not in rows:
        return ratios, targets
    runner = rows["runner"]["median_s_per_epoch"]
    if "keras_fit_best" in rows:
        ratios["runner_over_keras_fit_best"] = round(runner / rows["keras_fit_best"]["median_s_per_epoch"], 3)
    ratios["runner_over_flops_floor"] = round(runner / floor["flops_floor_s"], 3)
    ratios["runner_over_kernel_floor"] = round(runner / floor["kernel_floor_s"], 3)
    cifar_epoch = runner * CIFAR10_TRAINING_EXAMPLES / examples
    ratios["eval_stats_over_cifar10_training_epoch"] = round(rows["runner_eval_stats"]["median_s_per_epoch"]
                                                             / cifar_epoch, 3)
    if nettype in TARGET_FLOOR:
        targets[f"runner within {TARGET_FLOOR[nettype]}x of the arithmetic floor"] = \
            ratios["runner_over_flops_floor"] <= TARGET_FLOOR[nettype]
    plain = [name for name in ("keras_fit", "keras_fit_best") if name in rows]
    if plain:
        targets["runner no slower than every plain Keras row"] = all(
            runner <= rows[name]["median_s_per_epoch"] * 1.1 for name in plain)  # 10%: the noise between rows
    targets[f"evaluation + statistics at most {TARGET_EVAL_SHARE:.0%} of a CIFAR-10 training epoch"] = \
        ratios["eval_stats_over_cifar10_training_epoch"] <= TARGET_EVAL_SHARE
    return ratios, targets


def main(argv=None):
    args = parse_args(argv)
    # No op determinism here (real runs enable it, runner/process.py): with it on, Keras' fit silently drops
    # jit_compile=True; for the runner it costs nothing measurable (docs/RUNS.md, "Interrupted runs").
    names = [name.strip() for name in args.only.split(",") if name.strip()]
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    started_at = datetime.datetime.now().astimezone()
    load_at_start = machine.wait_for_quiet(1.0, args.wait_quiet)
    networks = {}
    with tempfile.TemporaryDirectory(prefix="cifar-shaped-") as folder:
        write_cifar_shaped(folder, args.examples, test_examples=200 if args.quick else 10_000)
        dataset = load_dataset("cifar10", "cifar10", data_dir=folder, limit=200 if args.quick else None)
        for nettype in [name.strip() for name in args.nets.split(",") if name.strip()]:
            networks[nettype] = bench_network(nettype, dataset, args, names)
    result = {
        "date": started_at.isoformat(timespec="seconds"), "quick": args.quick,
        "training_examples": len(dataset.x_train), "validation_examples": len(dataset.x_val),
        "test_examples": len(dataset.x_test), "batch_size": 25, "learning_rate": 1e-3, "method": "FreePruning",
        "evaluation_batch_size": EVALUATION_BATCH_SIZE,
        "machine": {"nproc": os.cpu_count(), "cpu_model": machine.cpu_model(), "load_average_at_start": load_at_start,
                    "load_average_at_end": machine.load_average(), "busy_cores_threshold": args.busy_cores},
        **machine.framework_facts(),
        "command": shlex.join([".venv/bin/python", "bench/conv_speed.py",
                               *(argv if argv is not None else sys.argv[1:])]),
        "networks": networks,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    atomic.write_json(args.output, result)
    print("\n" + report.markdown(result) + f"\n\nwrote {os.path.relpath(args.output)}")


if __name__ == "__main__":
    main()
