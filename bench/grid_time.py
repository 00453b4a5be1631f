"""The wall time of the paper's grids on one device: per network, the runs and epochs of the paper's grid files
(PAPER_GRIDS, experiments/), an epoch's time in each setting measured here (solo, a pack of N, W worker processes),
a run's start-up and compilation, and the total in the fastest setting.

    .venv/bin/python bench/grid_time.py [--nets LeNet,Conv2,Conv4,Conv6,ResNet20] [--backends tensorflow,jax]
        [--packs 4] [--workers 2] [--examples 500] [--epochs 2] [--device auto] [--quick]

Every setting is timed for real, each in fresh processes (grid_time_child.py; Keras takes one backend per process),
on random data of the runs' shapes: CIFAR-shaped images written in CIFAR-10's format (cifar_shaped.py) for the conv
networks and the ResNet, MNIST's shapes in Keras' mnist.npz layout for LeNet. A child process builds the grid's
FreePruning configuration of the network (its recipe, batch size and augmentation) on `--examples` training images
and the full validation and test splits, trains `--epochs` epochs after a warm-up epoch, and reports its medians; an
epoch of the full data set is the timed training scaled by the training images, plus the record (evaluation, mask
statistics, logs and checkpoint) as timed. Start-up is the child's time from its start to its
data set loaded (Python, the backend, the data); compilation is the warm-up epoch minus the median epoch, plus
building the run. A grid's hours in a setting: ceil(runs / members at once) x (epochs x epoch + start-up +
compilation), members at once being N for a pack, W for workers. Results: bench/results/grid_time_<device>.json and
.md, written after each network (`"complete": false` until the last), so that a run stopped by a time limit keeps
what it measured. A setting this device cannot run (a pack on TensorFlow) is listed with the reason, not dropped.
"""

import argparse
import datetime
import math
import os
import platform
import shlex
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path[:0] = [path for path in (BENCH, REPO) if path not in sys.path]

from grid_time_child import measure  # noqa: E402

RESULTS_FOLDER = os.path.join(REPO, "bench", "results")
# The grids of Ivan & Florian 2020's figures and tables (experiments/README.md): 331 runs.
PAPER_GRIDS = ("lenet_mnist", "lenet_p1_sweep", "lenet_p1_sweep_full", "conv2_cifar10", "conv2_p1_sweep_cifar10",
               "conv4_cifar10", "conv4_p1_sweep_cifar10", "conv6_cifar10", "conv6_p1_sweep_cifar10", "resnet20_cifar10")
NETWORKS = ("LeNet", "Conv2", "Conv4", "Conv6", "ResNet20")
FULL_SPLITS = {"mnist": (55_000, 5_000, 10_000), "cifar10": (45_000, 5_000, 10_000)}  # training, validation, test
QUICK = {"examples": 100, "epochs": 1, "packs": "2", "workers": "2"}
DEFAULTS = {"examples": 500, "epochs": 2, "packs": "4", "workers": "2"}


# The grids ----------------------------------------------------------------------------------------------------
def paper_grids(names=PAPER_GRIDS):
    """{network: {"grids": [file names], "runs", "epochs" (summed over the runs), "config": the first FreePruning
    RunConfig, as the timed representative}} of the paper's grid files."""
    from sweeps.grid import load_grid
    networks = {}
    for name in names:
        grid = load_grid(os.path.join(REPO, "experiments", f"{name}.json"))
        for config in grid.runs:
            entry = networks.setdefault(config.nettype, {"grids": [], "runs": 0, "epochs": 0, "config": None})
            if name not in entry["grids"]:
                entry["grids"].append(name)
            entry["runs"] += 1
            entry["epochs"] += config.maxepochs
            if entry["config"] is None and config.traintype == "FreePruning":
                entry["config"] = config
    return networks


def grid_files(names=PAPER_GRIDS):
    """[{"grid", "network", "runs", "epochs", "dataset"}] of each paper grid file."""
    from sweeps.grid import load_grid
    files = []
    for name in names:
        runs = load_grid(os.path.join(REPO, "experiments", f"{name}.json")).runs
        files.append({"grid": name, "network": runs[0].nettype, "runs": len(runs),
                      "epochs": sum(config.maxepochs for config in runs), "dataset": runs[0].dataset})
    return files


def hours_per_grid(result, files):
    """[{"grid", "network", "runs", "setting", "hours"}]: each grid file in its network's fastest setting measured
    (None where its network was not measured)."""
    rows = []
    for entry in files:
        measured = result["networks"].get(entry["network"]) or {}
        best = next((row for row in measured.get("rows", []) if row["setting"] == measured.get("best")), None)
        hours = None if best is None else grid_seconds(
            entry["runs"], entry["epochs"], best["epoch_s"], best["start_s"] + best["compile_s"],
            best["together"]) / 3600
        rows.append({**entry, "setting": best and best["setting"], "hours": hours and round(hours, 2)})
    return rows


def grid_seconds(runs, epochs, epoch_s, start_s, together):
    """Wall seconds of `runs` runs of `epochs` epochs in all, `together` at a time (a pack's members or workers), each
    batch of runs paying the start-up and compilation once: runs of one network have equal lengths in these grids."""
    rounds = math.ceil(runs / together)
    return rounds * ((epochs / runs) * epoch_s + start_s)


def full_epoch_seconds(measured, dataset):
    """An epoch of the full data set from one measured on fewer training images (and the full validation and test
    splits): training scaled by the training steps, the record (evaluation, mask statistics, logs) as measured."""
    return measured["train_s"] * FULL_SPLITS[dataset][0] / measured["training_examples"] + measured["record_s"]


def summarise(name, together, measured, network):
    """One table row of a setting: the full-epoch seconds of the slowest of its processes, start-up and compilation,
    the grid's hours."""
    if "not_run" in measured:
        return {"setting": name, "together": together, "not_run": measured["not_run"]}
    dataset = network["config"].dataset
    slowest = max(measured["processes"], key=lambda process: full_epoch_seconds(process, dataset))
    epoch_s = full_epoch_seconds(slowest, dataset)
    compile_s = max(slowest["warm_up_s"] - slowest["train_s"] - slowest["record_s"], 0.0) + slowest["build_s"]
    start_s = slowest["start_s"] + compile_s
    seconds = grid_seconds(network["runs"], network["epochs"], epoch_s, start_s, together)
    return {"setting": name, "together": together, "epoch_s": round(epoch_s, 3),
            "epoch_s_per_run": round(epoch_s / (together if name.startswith("pack") else 1), 3),
            "start_s": round(slowest["start_s"], 2), "compile_s": round(compile_s, 2), "grid_hours": seconds / 3600,
            "measured": measured["processes"]}


# The benchmark ---------------------------------------------------------------------------------------------------
def settings_of(args, network, entry):
    """[(row name, members at once, backend, pack size, processes)] of a network: solo, packs and workers on every
    backend asked for (packs on JAX only)."""
    rows = []
    for backend in args.backends:
        rows.append((f"solo ({backend})", 1, backend, 1, 1))
        rows += [(f"pack {size} ({backend})", size, backend, size, 1) for size in args.packs]
        rows += [(f"{workers} workers ({backend})", workers, backend, 1, workers) for workers in args.workers]
    return rows


def measure_network(args, network, entry, print_line=print):
    rows = []
    for name, together, backend, pack, processes in settings_of(args, network, entry):
        if pack > 1 and backend != "jax":
            rows.append({"setting": name, "together": together, "not_run": "packs train on JAX only (--pack)"})
        else:
            settings = {"grid": entry["grids"][0], "network": network, "backend": backend, "device": args.device,
                        "pack": pack, "examples": args.examples, "epochs": args.epochs}
            rows.append(summarise(name, together, measure(settings, processes), entry))
        row = rows[-1]
        print_line(f"  {network} {name}: " + (f"not run ({row['not_run']})" if "not_run" in row else
                   f"epoch {row['epoch_s']:.2f} s ({row['epoch_s_per_run']:.2f} s per run), start-up "
                   f"{row['start_s']:.1f} s, compilation {row['compile_s']:.1f} s: grid {row['grid_hours']:.2f} h"))
    timed = [row for row in rows if "not_run" not in row]
    best = min(timed, key=lambda row: row["grid_hours"]) if timed else None
    return {"grids": entry["grids"], "runs": entry["runs"], "epochs": entry["epochs"],
            "method": entry["config"].traintype, "batch_size": entry["config"].batchsize,
            "dataset": entry["config"].dataset, "rows": rows, "best": best and best["setting"],
            "best_hours": best and best["grid_hours"]}


def markdown(result):
    lines = [f"# The paper's grids on {result['device']}", "",
             f"- date: {result['date']}; command: `{result['command']}`",
             f"- {result['examples']} training images and the full validation and test splits timed, "
             f"{result['epochs']} epochs after a warm-up; the full training set's epoch scaled from them "
             "(bench/grid_time.py)", "",
             *([] if result.get("complete", True) else
               ["**Partial: the networks measured so far; the benchmark did not finish.**", ""]),
             "| network | grids | runs | epochs | setting | epoch s (per run) | start-up s | compile s | grid h |",
             "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |"]
    total = 0.0
    for network, measured in result["networks"].items():
        for row in measured["rows"]:
            mark = " **(fastest)**" if row["setting"] == measured["best"] else ""
            cells = ([f"not run: {row['not_run']}", "", "", ""] if "not_run" in row else
                     [f"{row['epoch_s']:.2f} ({row['epoch_s_per_run']:.2f})", f"{row['start_s']:.1f}",
                      f"{row['compile_s']:.1f}", f"{row['grid_hours']:.2f}"])
            lines.append(f"| {network} | {', '.join(measured['grids'])} | {measured['runs']} | {measured['epochs']} | "
                         f"{row['setting']}{mark} | " + " | ".join(cells) + " |")
        total += measured["best_hours"] or 0.0
    lines += ["", f"All the paper's grids, each network in its fastest setting, one after another: **{total:.1f} "
              "hours**."]
    if result.get("grid_files"):
        lines += ["", "| grid file | network | runs | fastest setting | hours |", "| --- | --- | ---: | --- | ---: |"]
        lines += [f"| experiments/{row['grid']}.json | {row['network']} | {row['runs']} | {row['setting'] or ''} | "
                  + ("not measured" if row["hours"] is None else f"{row['hours']:.2f}") + " |"
                  for row in result["grid_files"]]
    return "\n".join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nets", default=",".join(NETWORKS), help=f"comma-separated, of {', '.join(NETWORKS)}")
    parser.add_argument("--backends", default=None, help="comma-separated, of tensorflow, jax (default: jax where "
                        "it sees a GPU, else both)")
    parser.add_argument("--packs", default=None, help="pack sizes to time on JAX (default 4; 0: none)")
    parser.add_argument("--workers", default=None, help="worker counts to time (default 2; 0: none)")
    parser.add_argument("--examples", type=int, default=None, help="training images timed (default 500); the "
                        "validation and test splits are full")
    parser.add_argument("--epochs", type=int, default=None, help="timed epochs after the warm-up (default 2)")
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "gpu"), help="as MaskTrainer.py's")
    parser.add_argument("--quick", action="store_true", help="smoke run: 100 images, 1 epoch, pack 2, 2 workers")
    parser.add_argument("--output", default=None, help="JSON results file (default bench/results/grid_time_"
                        "<device>.json; the Markdown table beside it, .md)")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    for name, value in (QUICK if args.quick else DEFAULTS).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    args.nets = [name.strip() for name in args.nets.split(",") if name.strip()]
    if not args.nets or set(args.nets) - set(NETWORKS):
        parser.error(f"--nets takes a comma-separated choice of {', '.join(NETWORKS)}")
    try:
        args.packs = sorted({int(value) for value in args.packs.split(",") if int(value) > 1})
        args.workers = sorted({int(value) for value in args.workers.split(",") if int(value) > 1})
    except ValueError:
        parser.error("--packs and --workers take comma-separated whole numbers")
    if args.examples < 1 or args.epochs < 1:
        parser.error("--examples and --epochs must be at least 1")
    return args


def main(argv=None):
    args = parse_args(argv)
    import machine
    from devices import visible_gpus
    gpus = visible_gpus() if args.device != "cpu" else []
    if args.backends is None:
        args.backends = "jax" if gpus else "tensorflow,jax"
    args.backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    device = f"{len(gpus)} visible GPU(s)" if gpus else f"CPU ({machine.cpu_model()}, {os.cpu_count()} cores)"
    slug = "gpu" if gpus else "cpu"
    output = args.output or os.path.join(RESULTS_FOLDER, f"grid_time_{slug}.json")
    grids = paper_grids()
    result = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"), "device": str(device),
              "command": " ".join([".venv/bin/python bench/grid_time.py", *map(shlex.quote, args.argv)]),
              "examples": args.examples, "epochs": args.epochs, "python": platform.python_version(),
              "load_average_at_start": machine.load_average(), "networks": {}}
    print(f"The paper's grids on {device}: {', '.join(args.nets)}", flush=True)
    # Written after each network, so that a benchmark stopped by a time limit (the GPU check's) keeps what it measured.
    for network in args.nets:
        result["networks"][network] = measure_network(args, network, grids[network])
        write_result(output, result, complete=False)
    result["load_average_at_end"] = machine.load_average()
    text = write_result(output, result, complete=True)
    print("\n" + text + f"\n\nwrote {output} and its .md")
    return 0


def write_result(output, result, complete):
    """Writes the JSON results and their Markdown table (returned) atomically; complete: every network asked for."""
    from results import atomic
    measured = result["networks"].values()
    result.update(complete=complete, grid_files=hours_per_grid(result, grid_files()),
                  devices=sorted({process["device"] for entry in measured for row in entry["rows"]
                                  for process in row.get("measured", [])}))
    text = markdown(result)
    os.makedirs(os.path.dirname(os.path.abspath(output)), exist_ok=True)
    atomic.write_json(output, result)
    atomic.write_text(os.path.splitext(output)[0] + ".md", text + "\n")
    return text


if __name__ == "__main__":
    sys.exit(main())
