"""Speed of packed runs (`--pack N`): runs per hour of LeNet-300-100 and Conv6 FreePruning at batch 25 when N runs
train together against one run alone, on Keras' JAX backend, side by side in one process.

    .venv/bin/python bench/pack_speed.py [--nets LeNet,Conv6] [--lenet-packs 1,4,16,64] [--conv6-packs 1,2,4]
        [--data-dir ../shared/data/mnist] [--lenet-examples N] [--conv6-examples 200] [--epochs 2] [--quick]

Per network, the contenders are the pack sizes N (runs.py: N runs in one training.driver.EpochDriver, the code path
of `MaskTrainer.py --backend jax --nruns N --pack N`; N = 1 is a solo run), interleaved epoch by epoch (round 0 is
the warm-up, then --epochs timed rounds, medians over those). Each epoch is timed in two parts, training and record
(evaluation, mask statistics, every member's logs and checkpoint). Runs per hour = N x 3600 / (EPOCHS_PER_RUN x
(training + record)), and the same for training alone; the memory column is training/pack_memory.py's estimate.
`--conv-forms N`: one training step of Conv6's convolutions for N members in five forms (conv_forms.py,
bench/README.md).
Results: bench/results/pack_speed.json and .md (bench/report.py renders the JSON). The GPU check's pack rows
(bench/gpu/) reuse this file's pieces.
"""

import argparse
import contextlib
import datetime
import os
import platform
import shlex
import shutil
import statistics
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path[:0] = [path for path in (BENCH, REPO) if path not in sys.path]

from conv_forms import conv_forms  # noqa: E402
from runs import BATCH_SIZE, LEARNING_RATE, Runs  # noqa: E402

RESULTS = os.path.join(REPO, "bench", "results", "pack_speed.json")
EPOCHS_PER_RUN = 20  # RunConfig's default --maxepochs: runs per hour are of runs this long
DEFAULTS = {"lenet_examples": None, "conv6_examples": 200, "lenet_packs": "1,4,16,64", "conv6_packs": "1,2,4",
            "conv_forms": 4, "epochs": 2}
QUICK = {"lenet_examples": 2_000, "conv6_examples": 50, "lenet_packs": "1,4", "conv6_packs": "1,2", "conv_forms": 2,
         "epochs": 1}


# The figures (also the GPU check's pack rows') --------------------------------------------------------------------
def runs_per_hour(count, epoch_seconds):
    return count * 3600 / (EPOCHS_PER_RUN * epoch_seconds)


def summarise_epochs(count, epochs):
    """Medians of the timed epochs (all but the first) of one contender: training, record, their sum, runs per hour
    (with and without the record)."""
    timed = epochs[1:]
    summary = {"pack": count, "warm_up": epochs[0], "epochs": timed}
    if timed:
        train = statistics.median(epoch["train_s"] for epoch in timed)
        record = statistics.median(epoch["record_s"] for epoch in timed)
        total = statistics.median(epoch["train_s"] + epoch["record_s"] for epoch in timed)
        summary.update(median_train_s=round(train, 4), median_record_s=round(record, 4), median_epoch_s=round(total, 4),
                       min_epoch_s=round(min(epoch["train_s"] + epoch["record_s"] for epoch in timed), 4),
                       runs_per_hour=round(runs_per_hour(count, total), 2),
                       runs_per_hour_training_only=round(runs_per_hour(count, train), 2))
    return summary


def add_ratios(summaries):
    """Each contender's runs per hour over the solo runner's (N = 1), with the record and for training alone."""
    solo = next((summary for summary in summaries.values() if summary["pack"] == 1), None)
    for summary in summaries.values():
        if solo and solo.get("runs_per_hour") and summary.get("runs_per_hour"):
            summary["ratio_to_solo"] = round(summary["runs_per_hour"] / solo["runs_per_hour"], 3)
            summary["ratio_to_solo_training_only"] = round(
                summary["runs_per_hour_training_only"] / solo["runs_per_hour_training_only"], 3)
    return summaries


# The benchmark --------------------------------------------------------------------------------------------------
def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", default="LeNet,Conv6", help="comma-separated, of LeNet, Conv6")
    parser.add_argument("--lenet-packs", default=None, help="pack sizes N for LeNet (default 1,4,16,64; 1: the solo "
                        "runner)")
    parser.add_argument("--conv6-packs", default=None, help="pack sizes N for Conv6 (default 1,2,4)")
    parser.add_argument("--data-dir", default=os.path.join(REPO, "..", "shared", "data", "mnist"),
                        help="folder with the official MNIST files (when absent: the committed MNIST subset)")
    parser.add_argument("--lenet-examples", type=int, default=None, help="only the first N MNIST images of each split")
    parser.add_argument("--conv6-examples", type=int, default=None, help="CIFAR-shaped images of each split for Conv6 "
                        "(default 200; the first N of the 5,000 validation images too; on a CPU JAX's convolutions "
                        "are slow)")
    parser.add_argument("--epochs", type=int, default=None, help="timed epochs per contender, after one warm-up "
                        "epoch (default 2)")
    parser.add_argument("--forms", default="chosen", help="pack forms to time for N > 1, comma-separated, of "
                        "chosen (the form the pack takes, training/pack_forms.py), vmap, unrolled, folded")
    parser.add_argument("--conv-forms", type=int, default=None, help="members for the conv forms (default 4; 2 with "
                        "--quick; 0: skip them)")
    parser.add_argument("--conv-forms-repetitions", type=int, default=1, help="timed calls per conv form")
    parser.add_argument("--quick", action="store_true", help="smoke run: LeNet on 2,000 images (N 1, 4), Conv6 on 50 "
                        "(N 1, 2), 1 timed epoch, conv forms of 2 members")
    parser.add_argument("--output", default=RESULTS, help="JSON results file (the Markdown table beside it, .md)")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    for name, value in (QUICK if args.quick else DEFAULTS).items():  # flags given win over --quick's and the defaults
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.nets = [name.strip() for name in args.nets.split(",") if name.strip()]
    if not args.nets or set(args.nets) - {"LeNet", "Conv6"}:
        parser.error("--nets takes a comma-separated choice of LeNet, Conv6")
    args.forms = [name.strip() for name in args.forms.split(",") if name.strip()]
    if not args.forms or set(args.forms) - {"chosen", "vmap", "unrolled", "folded"}:
        parser.error("--forms takes a comma-separated choice of chosen, vmap, unrolled, folded")
    args.packs = {"LeNet": parse_sizes(parser, args.lenet_packs), "Conv6": parse_sizes(parser, args.conv6_packs)}
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    return args


@contextlib.contextmanager
def pack_form(form):
    """MASKTRAINER_PACK_FORM set to `form` while a pack is built (None or "chosen": the pack's own choice)."""
    from training.pack_forms import FORM_VARIABLE
    previous = os.environ.pop(FORM_VARIABLE, None)
    if form not in (None, "chosen"):
        os.environ[FORM_VARIABLE] = form
    try:
        yield
    finally:
        os.environ.pop(FORM_VARIABLE, None)
        if previous is not None:
            os.environ[FORM_VARIABLE] = previous


def parse_sizes(parser, text):
    try:
        sizes = sorted({int(value) for value in text.split(",") if value.strip()})
    except ValueError:
        sizes = []
    if not sizes or sizes[0] < 1:
        parser.error(f"pack sizes must be positive integers, not {text!r}")
    return sizes


def load_network_data(network, args, folder):
    from datasets import load_dataset
    if network == "LeNet":
        if any(os.path.isfile(os.path.join(args.data_dir, name))
               for name in ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte")):
            return load_dataset("mnist", "mnist", data_dir=args.data_dir, limit=args.lenet_examples,
                                allow_download=False)
        return load_dataset("mnist-subset", "mnist", limit=args.lenet_examples)
    from cifar_shaped import write_cifar_shaped
    write_cifar_shaped(os.path.join(folder, "cifar"), args.conv6_examples, test_examples=args.conv6_examples)
    return load_dataset("cifar10", "cifar10", data_dir=os.path.join(folder, "cifar"), limit=args.conv6_examples,
                        allow_download=False)


def measure_network(network, args, folder):
    """Every pack size of `network` built, then trained epoch by epoch, interleaved; returns the network's results."""
    import machine
    dataset = load_network_data(network, args, folder)
    print(f"\n{network}: {len(dataset.x_train):,} training, {len(dataset.x_val):,} validation, {len(dataset.x_test):,} "
          f"test images ({dataset.name}, from {dataset.source}); packs {args.packs[network]}", flush=True)
    contenders, built = {}, {}
    for count in args.packs[network]:
        for form in (args.forms if count > 1 else [None]):
            label = str(count) if form is None or len(args.forms) == 1 and form == "chosen" else f"{count} {form}"
            started = time.perf_counter()
            with pack_form(form):
                contenders[label] = Runs(dataset, network, count, backend="jax")
            steps = contenders[label].driver.steps
            built[label] = {"build_s": round(time.perf_counter() - started, 2),
                            "form": getattr(steps, "form", None),
                            "estimated_memory_bytes": contenders[label].estimated_memory_bytes()}
            print(f"  built N={count} ({built[label]['form']}) in {built[label]['build_s']:.1f} s",
                  flush=True)
    epochs = {label: [] for label in contenders}
    for round_index in range(args.epochs + 1):
        for label, contender in contenders.items():
            count = contender.count
            meter = machine.LoadMeter()
            measured = contender.timed_epoch()
            measured["other_processes_cores"] = meter.others_cores()
            measured["load_average"] = machine.load_average()
            epochs[label].append({key: round(value, 4) if isinstance(value, float) else value
                                  for key, value in measured.items()})
            print(f"  round {round_index}{' (warm-up)' if round_index == 0 else ''} N={label:>12s}: training "
                  f"{measured['train_s']:8.2f} s, record {measured['record_s']:7.2f} s, per run "
                  f"{(measured['train_s'] + measured['record_s']) / count:7.3f} s; loss {measured['loss']:.4f}; "
                  f"other processes {measured['other_processes_cores']} cores", flush=True)
    for contender in contenders.values():
        contender.close()
    summaries = add_ratios({label: {**summarise_epochs(contenders[label].count, epochs[label]), **built[label]}
                            for label in contenders})
    return {"dataset": dataset.name, "source": dataset.source, "training_examples": len(dataset.x_train),
            "validation_examples": len(dataset.x_val), "test_examples": len(dataset.x_test),
            "packs": summaries}


def main(argv=None):
    args = parse_args(argv)
    from cli.keras_backend import select_backend
    select_backend("jax", device="cpu")
    import jax
    import jaxlib
    import keras
    import numpy

    import machine
    import report
    from results import atomic
    started_at = datetime.datetime.now().astimezone()
    load_at_start = machine.load_average()
    result = {"date": started_at.isoformat(timespec="seconds"), "quick": args.quick,
              "command": " ".join([".venv/bin/python bench/pack_speed.py", *map(shlex.quote, args.argv)]),
              "device": f"{jax.default_backend()} ({machine.cpu_model()})", "epochs": args.epochs,
              "epochs_per_run": EPOCHS_PER_RUN, "batch_size": BATCH_SIZE, "learning_rate": LEARNING_RATE,
              "method": "FreePruning",
              "versions": {"python": platform.python_version(), "jax": jax.__version__, "jaxlib": jaxlib.__version__,
                           "keras": keras.__version__, "numpy": numpy.__version__},
              "networks": {}}
    with tempfile.TemporaryDirectory(prefix="pack-speed-") as folder:
        for network in args.nets:
            result["networks"][network] = measure_network(network, args, folder)
            shutil.rmtree(os.path.join(folder, "cifar"), ignore_errors=True)
    if args.conv_forms:
        print(f"\nconv forms: {args.conv_forms} members", flush=True)
        result["conv_forms"] = {"members": args.conv_forms, "batch_size": BATCH_SIZE,
                                "repetitions": args.conv_forms_repetitions,
                                "forms": conv_forms(args.conv_forms, repetitions=args.conv_forms_repetitions)}
    others = [epoch["other_processes_cores"] for measured in result["networks"].values()
              for summary in measured["packs"].values() for epoch in [summary["warm_up"], *summary["epochs"]]
              if epoch.get("other_processes_cores") is not None]
    result["machine"] = {"nproc": os.cpu_count(), "cpu_model": machine.cpu_model(),
                         "load_average_at_start": load_at_start, "load_average_at_end": machine.load_average(),
                         "other_processes_cores_max": max(others) if others else None}
    text = report.markdown(result)
    print("\n" + text)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    atomic.write_json(args.output, result)
    markdown_path = os.path.splitext(args.output)[0] + ".md"
    with open(markdown_path, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
    print("\nwrote " + " and ".join(os.path.relpath(path) if os.path.realpath(path).startswith(REPO + os.sep) else path
                                    for path in (args.output, markdown_path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
