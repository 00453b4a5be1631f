"""Speed of LeNet-300-100 FreePruning at batch 25 on MNIST: the runner vs. unmasked Keras vs. PyTorch.

    .venv/bin/pip install -r bench/requirements.txt
    .venv/bin/python bench/lenet_speed.py --data-dir ../shared/data/mnist [--epochs 3] [--quick]

Contenders, interleaved epoch by epoch in one process (A, B, C, D, A, B, C, D, ...):
  runner        training.loop.Experiment.train_epoch (masked LeNet, compiled-steps, XLA)
  keras_steps   unmasked Keras Dense LeNet in the same compiled-steps loop, same batches
  keras_fit     the same unmasked model with stock model.fit(batch_size=25, epochs=1)
  keras_fit_best  the same with fit's fastest (jit_compile, steps_per_execution), picked in this run
  torch         the masked LeNet in PyTorch, torch.compile
  runner_jax    the runner on Keras' JAX backend (a child process: one backend per process; jax_contender.py)
Round 0 is a warm-up (compilation) and is not in the medians. After each runner epoch, its
per-epoch evaluation (val + test), mask statistics and log write (Experiment.record_epoch) are
timed on their own. An epoch during which other processes kept more than --busy-cores CPU cores
busy is not counted, and rounds go on (at most --extra-rounds more) until each contender has
--epochs quiet ones. Results: bench/results/lenet_speed.json (bench/report.py renders the table).
"""

import argparse
import datetime
import os
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from quiet_tensorflow import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import torch  # noqa: E402

import machine  # noqa: E402
from datasets import load_dataset  # noqa: E402
from jax_contender import JaxRunner  # noqa: E402
from keras_contenders import FIT_SETTINGS, PlainCompiledSteps, PlainFit, Runner, best_fit_setting, setting_label  # noqa: E402
from results import atomic  # noqa: E402
from torch_lenet import TorchPeer  # noqa: E402

RESULTS = os.path.join(REPO, "bench", "results", "lenet_speed.json")
QUICK_EXAMPLES = 5000
TARGET_VS_KERAS = 1.3
TARGET_JAX_VS_TENSORFLOW = 1.3


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", default=os.path.join(REPO, "..", "shared", "data", "mnist"),
                        help="folder with the official MNIST files (default: ../shared/data/mnist from the repo root)")
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs per contender, after one warm-up epoch")
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run on the first {QUICK_EXAMPLES} training examples")
    parser.add_argument("--only", default="runner,runner_jax,keras_steps,keras_fit,keras_fit_best,torch",
                        help="comma-separated contenders to run")
    parser.add_argument("--busy-cores", type=float, default=0.3,
                        help="a round where other processes used more CPU cores than this is repeated")
    parser.add_argument("--extra-rounds", type=int, default=None,
                        help="at most this many repeated rounds (default: 2 x --epochs)")
    parser.add_argument("--wait-quiet", type=float, default=300,
                        help="seconds to wait at start for the 1-min load average to drop below 1")
    parser.add_argument("--output", default=RESULTS, help="JSON results file")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    return args


FIT_BEST = {}  # the setting best_fit_setting picked, and what it measured


def fastest_fit(dataset):
    best, tried = best_fit_setting(lambda **setting: PlainFit(dataset, **setting),
                                   {setting_label(setting): min(5000, len(dataset.x_train))
                                    for setting in FIT_SETTINGS})
    FIT_BEST.update(setting=best, tried_s_per_1000=tried)
    return PlainFit(dataset, **best)


def make_contenders(names, dataset, data_dir, limit):
    factories = {
        "runner_jax": lambda: JaxRunner(data_dir, limit),
        "keras_fit_best": lambda: fastest_fit(dataset),
        "runner": lambda: Runner(dataset),
        "keras_steps": lambda: PlainCompiledSteps(dataset),
        "keras_fit": lambda: PlainFit(dataset),
        "torch": lambda: TorchPeer(dataset.x_train, dataset.y_train, compile=True),
    }
    unknown = [name for name in names if name not in factories]
    if unknown:
        raise SystemExit(f"Unknown contender(s) {', '.join(unknown)}; choose from {', '.join(factories)}.")
    contenders = {}
    for name in names:
        started = time.perf_counter()
        contenders[name] = factories[name]()
        print(f"built {name} in {time.perf_counter() - started:.1f}s", flush=True)
    return contenders


def run_rounds(contenders, epochs, busy_cores, extra_rounds):
    """Round 0 = warm-up; then rounds until each contender has `epochs` quiet epochs (ones during
    which other processes kept at most `busy_cores` cores busy), or the extra rounds run out."""
    rounds = []
    quiet_counts = {name: 0 for name in contenders}
    round_index = 0
    while min(quiet_counts.values()) < epochs and round_index <= epochs + extra_rounds:
        times, others = {}, {}
        for name, contender in contenders.items():
            meter = machine.LoadMeter()
            started = time.perf_counter()
            loss, accuracy = contender.train_epoch()
            times[name] = time.perf_counter() - started
            others[name] = meter.others_cores(getattr(contender, "child_cpu_seconds", 0.0))
            if name == "runner":
                times.update(contender.evaluate_and_record())
            if round_index > 0 and others[name] is not None and others[name] <= busy_cores:
                quiet_counts[name] += 1
            print(f"  round {round_index} {name:12s} {times[name]:7.2f}s  loss {loss:.4f} acc {accuracy:.4f}"
                  f"  other processes {others[name]} cores", flush=True)
        rounds.append({"round": round_index, "seconds": {k: round(v, 4) for k, v in times.items()},
                       "other_processes_cores": others, "load_average": machine.load_average(),
                       "warm_up": round_index == 0})
        round_index += 1
    timings, quiet = {}, {}
    for name in contenders:
        parts = [name] + ([n for n in rounds[0]["seconds"] if n.startswith("runner_")] if name == "runner" else [])
        timed = [r for r in rounds[1:] if (r["other_processes_cores"][name] or 0.0) <= busy_cores]
        quiet[name] = len(timed)
        if not timed:  # the machine stayed busy for this contender: use every timed epoch, and say so
            timed = rounds[1:]
        for part in parts:
            timings[part] = [r["seconds"][part] for r in timed]
            quiet[part] = quiet[name]
    return timings, rounds, quiet


def summarise(timings, rounds, quiet, busy_cores):
    warm_up = rounds[0]["seconds"]
    rows = {}
    for name, values in timings.items():
        median = statistics.median(values)
        owner = name if name in rounds[0]["other_processes_cores"] else "runner"
        warm_up_others = rounds[0]["other_processes_cores"][owner]
        rows[name] = {"median_s_per_epoch": round(median, 3), "min_s": round(min(values), 3),
                      "max_s": round(max(values), 3), "epochs": len(values), "quiet_epochs": quiet[name],
                      "warm_up_quiet": warm_up_others is not None and warm_up_others <= busy_cores,
                      "first_epoch_s": round(warm_up[name], 3),
                      "compile_s_estimate": round(warm_up[name] - median, 3)}
    ratios = {}
    if "runner" in rows:
        runner = rows["runner"]["median_s_per_epoch"]
        for other in ("keras_steps", "keras_fit", "keras_fit_best", "torch"):
            if other in rows:
                ratios[f"runner_over_{other}"] = round(runner / rows[other]["median_s_per_epoch"], 3)
        if "runner_jax" in rows:
            ratios["runner_jax_over_runner"] = round(rows["runner_jax"]["median_s_per_epoch"] / runner, 3)
        ratios["eval_stats_over_runner_epoch"] = round(
            rows["runner_eval_stats"]["median_s_per_epoch"] / runner, 3)
    targets = {}
    if "runner_over_keras_steps" in ratios:
        targets[f"runner within {TARGET_VS_KERAS}x of unmasked Keras (same loop)"] = \
            ratios["runner_over_keras_steps"] <= TARGET_VS_KERAS
    fits = [name for name in ("keras_fit", "keras_fit_best") if f"runner_over_{name}" in ratios]
    if fits:
        targets["runner faster than every model.fit row"] = all(ratios[f"runner_over_{name}"] < 1.0 for name in fits)
    if "runner_over_torch" in ratios:
        targets["runner faster than PyTorch peer"] = ratios["runner_over_torch"] < 1.0
    if "runner_jax_over_runner" in ratios:
        targets[f"runner on JAX within {TARGET_JAX_VS_TENSORFLOW}x of the runner on TensorFlow"] = \
            ratios["runner_jax_over_runner"] <= TARGET_JAX_VS_TENSORFLOW
    return rows, ratios, targets


LABELS = {
    "runner": "runner: Experiment.train_epoch (masked)",
    "runner_eval_stats": "runner: record_epoch (eval val+test, mask stats, log+ckpt)",
    "runner_eval_val": "  of which: evaluate val (timed again on its own)",
    "runner_eval_test": "  of which: evaluate test (timed again on its own)",
    "runner_mask_counts": "  of which: mask statistics (timed again on its own)",
    "keras_steps": "unmasked Keras, same compiled-steps loop",
    "keras_fit": "unmasked Keras, model.fit",
    "keras_fit_best": "unmasked Keras, model.fit, fastest setting",
    "torch": "PyTorch masked, torch.compile",
    "runner_jax": "runner on JAX: Experiment.train_epoch (masked)",
}


def print_table(rows, ratios, targets):
    print(f"\n{'contender':58s} {'s/epoch':>8s} {'min':>7s} {'max':>7s} {'quiet':>5s} {'1st ep':>7s} {'compile':>8s}")
    for name, row in rows.items():
        print(f"{LABELS.get(name, name):58s} {row['median_s_per_epoch']:8.3f} {row['min_s']:7.3f} "
              f"{row['max_s']:7.3f} {row['quiet_epochs']:5d} {row['first_epoch_s']:7.2f} "
              f"{row['compile_s_estimate']:8.2f}{'' if row['warm_up_quiet'] else ' (warm-up disturbed)'}")
    print("(quiet: timed epochs with other processes under --busy-cores; the median is over those, or over all "
          "timed epochs where there are none)")
    for name, value in ratios.items():
        print(f"{name}: {value}")
    for name, passed in targets.items():
        print(f"target {name}: {'MET' if passed else 'MISSED'}")


def main(argv=None):
    args = parse_args(argv)
    # No op determinism here (real runs enable it, runner/process.py): with it on, Keras' fit silently drops
    # jit_compile=True; for the runner it costs nothing measurable (docs/RUNS.md, "Interrupted runs").
    extra_rounds = 2 * args.epochs if args.extra_rounds is None else args.extra_rounds
    started_at = datetime.datetime.now().astimezone()
    load_before_wait = machine.load_average()
    load_at_start = machine.wait_for_quiet(1.0, args.wait_quiet)
    dataset = load_dataset("mnist", "mnist", data_dir=args.data_dir,
                           limit=QUICK_EXAMPLES if args.quick else None)
    print(f"{len(dataset.x_train)} training examples from {dataset.source}; torch threads "
          f"{torch.get_num_threads()}, TF intra/inter-op threads "
          f"{tf.config.threading.get_intra_op_parallelism_threads()}"
          f"/{tf.config.threading.get_inter_op_parallelism_threads()} (0 = TF default); load {load_at_start}",
          flush=True)
    contenders = make_contenders([name.strip() for name in args.only.split(",") if name.strip()], dataset,
                                 args.data_dir, QUICK_EXAMPLES if args.quick else None)
    try:
        timings, rounds, quiet = run_rounds(contenders, args.epochs, args.busy_cores, extra_rounds)
    finally:
        for contender in contenders.values():
            contender.close()
    rows, ratios, targets = summarise(timings, rounds, quiet, args.busy_cores)
    print_table(rows, ratios, targets)
    others = [value for r in rounds for value in r["other_processes_cores"].values() if value is not None]
    all_quiet = all(rows[name]["quiet_epochs"] >= args.epochs for name in contenders)
    result = {
        "date": started_at.isoformat(timespec="seconds"),
        "quick": args.quick,
        "training_examples": len(dataset.x_train),
        "batch_size": 25, "learning_rate": 1e-3, "network": "LeNet-300-100", "method": "FreePruning",
        "machine": {"nproc": os.cpu_count(), "cpu_model": machine.cpu_model(),
                    "load_average_before_wait": load_before_wait, "load_average_at_start": load_at_start,
                    "load_average_at_end": machine.load_average(),
                    "other_processes_cores_max": max(others) if others else None,
                    "busy_cores_threshold": args.busy_cores, "quiet": all_quiet},
        "threads": {"torch_num_threads": torch.get_num_threads(),
                    "tf_intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                    "tf_inter_op": tf.config.threading.get_inter_op_parallelism_threads()},
        "versions": {"python": sys.version.split()[0], "tensorflow": tf.__version__,
                     "keras": keras.__version__, "torch": torch.__version__, "numpy": np.__version__,
                     **({"jax": contenders["runner_jax"].versions["jax"]} if "runner_jax" in contenders else {})},
        "keras_fit_jit_compile": contenders["keras_fit"].jit_compile if "keras_fit" in contenders else None,
        "keras_fit_best": FIT_BEST,
        "stdout_is_terminal": sys.stdout.isatty(),
        "seconds_per_epoch": rows, "ratios": ratios, "targets": targets, "rounds": rounds,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    atomic.write_json(args.output, result)
    print(f"\nwrote {os.path.relpath(args.output)}; other processes used at most "
          f"{result['machine']['other_processes_cores_max']} cores during the epochs"
          f"{'' if all_quiet else '; the machine stayed busy: fewer quiet epochs than asked'}")


if __name__ == "__main__":
    main()
