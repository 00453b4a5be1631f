"""Speed of LeNet-300-100 FreePruning at batch 25 on MNIST: the runner vs. unmasked Keras vs. PyTorch.

    .venv/bin/pip install -r bench/requirements.txt
    .venv/bin/python bench/lenet_speed.py --data-dir ../shared/data/mnist [--epochs 3] [--quick]

Contenders, interleaved epoch by epoch in one process (round 0, the warm-up, is not in the medians): runner (runs.py,
its record timed after it), runner_jax (the same on JAX, jax_contender.py), keras_steps, keras_fit, keras_fit_best
(keras_contenders.py) and torch (torch_peers.py). An epoch during which other processes kept more than --busy-cores
cores busy is not counted. Results: bench/results/lenet_speed.json (bench/report.py renders it); bench/README.md
says what each row is.
"""

import argparse
import datetime
import os
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [REPO, os.path.dirname(os.path.abspath(__file__))]

from quiet_tensorflow import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()

import machine  # noqa: E402
import report  # noqa: E402
from datasets import load_dataset  # noqa: E402
from jax_contender import JaxRunner  # noqa: E402
from keras_contenders import PlainFit, PlainSteps, best_fit_setting  # noqa: E402
from results import atomic  # noqa: E402
from runs import Runs  # noqa: E402
from torch_peers import TorchPeer  # noqa: E402

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


def make_contenders(names, dataset, data_dir, limit, fit_best):
    def fastest_fit():
        best, tried = best_fit_setting(lambda **setting: PlainFit(dataset, **setting),
                                       lambda setting: min(5000, len(dataset.x_train)))
        fit_best.update(setting=best, tried_s_per_1000=tried)
        return PlainFit(dataset, **best)

    factories = {"runner_jax": lambda: JaxRunner(data_dir, limit), "keras_fit_best": fastest_fit,
                 "runner": lambda: Runs(dataset), "keras_steps": lambda: PlainSteps(dataset),
                 "keras_fit": lambda: PlainFit(dataset),
                 "torch": lambda: TorchPeer("LeNet", dataset.x_train, dataset.y_train)}
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


def main(argv=None):
    args = parse_args(argv)
    # No op determinism here (real runs enable it, runner/process.py): with it on, Keras' fit silently drops
    # jit_compile=True; for the runner it costs nothing measurable (docs/RUNS.md, "Interrupted runs").
    extra_rounds = 2 * args.epochs if args.extra_rounds is None else args.extra_rounds
    started_at = datetime.datetime.now().astimezone()
    load_before_wait = machine.load_average()
    load_at_start = machine.wait_for_quiet(1.0, args.wait_quiet)
    limit = QUICK_EXAMPLES if args.quick else None
    dataset = load_dataset("mnist", "mnist", data_dir=args.data_dir, limit=limit)
    facts = machine.framework_facts()
    print(f"{len(dataset.x_train)} training examples from {dataset.source}; threads {facts['threads']}; "
          f"load {load_at_start}", flush=True)
    fit_best = {}  # the setting best_fit_setting picked, and what it measured
    contenders = make_contenders([name.strip() for name in args.only.split(",") if name.strip()], dataset,
                                 args.data_dir, limit, fit_best)
    try:
        timings, rounds, quiet = run_rounds(contenders, args.epochs, args.busy_cores, extra_rounds)
    finally:
        for contender in contenders.values():
            contender.close()
    rows, ratios, targets = summarise(timings, rounds, quiet, args.busy_cores)
    others = [value for r in rounds for value in r["other_processes_cores"].values() if value is not None]
    all_quiet = all(rows[name]["quiet_epochs"] >= args.epochs for name in contenders)
    facts["versions"].update({"jax": contenders["runner_jax"].versions["jax"]} if "runner_jax" in contenders else {})
    result = {
        "date": started_at.isoformat(timespec="seconds"), "quick": args.quick,
        "training_examples": len(dataset.x_train),
        "batch_size": 25, "learning_rate": 1e-3, "network": "LeNet-300-100", "method": "FreePruning",
        "machine": {"nproc": os.cpu_count(), "cpu_model": machine.cpu_model(),
                    "load_average_before_wait": load_before_wait, "load_average_at_start": load_at_start,
                    "load_average_at_end": machine.load_average(),
                    "other_processes_cores_max": max(others) if others else None,
                    "busy_cores_threshold": args.busy_cores, "quiet": all_quiet},
        **facts,
        "keras_fit_jit_compile": contenders["keras_fit"].jit_compile if "keras_fit" in contenders else None,
        "keras_fit_best": fit_best, "stdout_is_terminal": sys.stdout.isatty(),
        "seconds_per_epoch": rows, "ratios": ratios, "targets": targets, "rounds": rounds,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    atomic.write_json(args.output, result)
    print("\n" + report.markdown(result) + f"\n\nwrote {os.path.relpath(args.output)}")


if __name__ == "__main__":
    main()
