"""GPU check: the project's runner on Keras' JAX backend vs. the masked PyTorch peers, on one GPU, in one command.

NOT YET MEASURED ON A GPU: written and smoke-tested on a CPU only; no GPU result exists yet.

    bash bench/gpu_check.sh [flags of this file]          # on the GPU machine (bench/README.md, "GPU check")

1. Pre-flight, the two probes side by side (bench/gpu_preflight.py): Keras' own requirements, Keras on JAX and the
   device; torch, CUDA, a C compiler and one tiny torch.compile. A failed probe skips that framework's rows only.
2. Rows, FreePruning at batch 25 (Adam, lr 1e-3), each in its own process (bench/gpu_contender.py) with a short
   timeout, one warm-up epoch then --epochs timed ones, in this order of importance (--rows picks groups):
     float32      LeNet-300-100 on full MNIST and Conv6 on 45,000 CIFAR-shaped images: runner, then PyTorch peer
     resnet20     ResNet20 on --resnet-examples CIFAR-shaped images (BatchNorm, augmentation): runner, PyTorch peer
     tf32         the float32 group's rows in TF32 (GPU only: the product refuses tf32 on a CPU)
     determinism  the runner with XLA_FLAGS=--xla_gpu_deterministic_ops=false (LeNet, Conv6, ResNet20)
     sweep        4 LeNet runs sharing the device through the real `Sweep.py --workers 4` (bench/gpu_sweep.py)
     pack         packed runs (issue 26): LeNet at N = 1, 4, 16, 64 and Conv6 at N = 1, 8 (then the conv forms: Conv6's
                  convolutions for 8 members vmapped, folded, mapped, unrolled, looped; then Conv6 at N = 16), each
                  epoch trained and recorded as a real run (bench/pack_speed.py's code path); runs per hour against
                  one solo run, peak device memory per N. Reached in a call of its own: --rows pack
   An overall deadline (--budget-s, counted from the start of gpu_check.sh) bounds everything: a row running at
   the deadline is stopped (what it timed so far is kept: "partial"), rows not reached are "not run: budget".
3. The report (bench/gpu_report.py): every row's device, precision, determinism, versions, seconds per epoch,
   peak device memory; ratios; the targets, judged on a GPU run only. Written as gpu_check.json and gpu_check.md to
   $OUT when that is set, to --output-dir when given, and to bench/results on a GPU run that is not a smoke run
   (after every row, so that a run cut short keeps what it measured). A smoke run (--quick or --device cpu) never
   writes into bench/results and says "NOT A GPU RESULT" at its top and bottom.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path[:0] = [path for path in (BENCH, REPO) if path not in sys.path]

import gpu_report  # noqa: E402
from gpu_preflight import run_preflight  # noqa: E402
from gpu_rows import GROUPS, NETWORKS, jax_environment, plan_rows, prepare_data, run_all_rows  # noqa: E402

RESULTS_DIR = os.path.join(REPO, "bench", "results")
QUICK = {"lenet": 2_000, "cifar": 500, "resnet": 200, "sweep": 500, "lenet_packs": "1,4", "conv6_packs": "1,2",
         "pack_conv6": 50, "conv_forms": 2, "conv_forms_batch": 5}
PACKS = {"lenet_packs": "1,4,16,64", "conv6_packs": "1,8,16", "conv_forms": 8, "conv_forms_batch": 25}
PREFLIGHT_TIMEOUT = 90  # a cold torch.compile of one tiny function, Triton's launcher built with the C compiler


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run on small data (training images: LeNet "
                        f"{QUICK['lenet']:,}, Conv6 {QUICK['cifar']:,}, ResNet20 {QUICK['resnet']:,}, the 4 runs "
                        f"{QUICK['sweep']:,} each), 1 timed epoch, on the CPU unless --device gpu")
    parser.add_argument("--device", choices=("gpu", "cpu"), default=None, help="default: gpu (cpu with --quick)")
    parser.add_argument("--epochs", type=int, default=None, help="timed epochs after the warm-up (default 2; 1 with "
                        "--quick)")
    parser.add_argument("--rows", default=None, help=f"comma-separated groups, run in this order: {', '.join(GROUPS)} "
                        "(default: all; no tf32 on a CPU)")
    parser.add_argument("--networks", default=",".join(NETWORKS), help="comma-separated, of " + ", ".join(NETWORKS))
    parser.add_argument("--contenders", default="runner,torch", help="of the float32, resnet20 and tf32 groups: "
                        "the runner's rows, the PyTorch peers' or both (default runner,torch), e.g. torch alone to "
                        "measure the peers again")
    parser.add_argument("--mnist-dir", default=None, help="folder with the four official MNIST files (default: the "
                        "committed MNIST subset, 5,000 training images)")
    parser.add_argument("--lenet-examples", type=int, default=None, help="only the first N MNIST training images")
    parser.add_argument("--cifar-examples", type=int, default=None, help="Conv6's CIFAR-shaped training images "
                        "(default 45,000)")
    parser.add_argument("--resnet-examples", type=int, default=None, help="ResNet20's (default 10,000)")
    parser.add_argument("--sweep-examples", type=int, default=None, help="the sharing runs' limit (default: all)")
    parser.add_argument("--sweep-runs", type=int, default=4, help="runs sharing the device, as many Sweep.py workers")
    parser.add_argument("--budget-s", type=float, default=None, help="overall deadline in seconds from the start of "
                        "gpu_check.sh (default 270 on a GPU, 900 on a smoke run)")
    parser.add_argument("--child-timeout", type=float, default=90, help="seconds one row's process may take")
    parser.add_argument("--sweep-timeout", type=float, default=150, help="seconds the 4-run sweep may take")
    parser.add_argument("--lenet-packs", default=None, help="pack rows: LeNet's N, comma-separated (default "
                        f"{PACKS['lenet_packs']}; {QUICK['lenet_packs']} with --quick; 1 is the solo runner)")
    parser.add_argument("--conv6-packs", default=None, help=f"pack rows: Conv6's N (default {PACKS['conv6_packs']}; "
                        f"{QUICK['conv6_packs']} with --quick); N above 8 run after the conv forms")
    parser.add_argument("--pack-conv6-examples", type=int, default=None, help="pack rows: Conv6's training images "
                        f"(default: --cifar-examples; {QUICK['pack_conv6']} with --quick)")
    parser.add_argument("--conv-forms", type=int, default=None, help="pack rows: members of the conv-forms row "
                        f"(default {PACKS['conv_forms']}; {QUICK['conv_forms']} with --quick; 0: no such row)")
    parser.add_argument("--conv-forms-batch", type=int, default=None, help="its batch size (default "
                        f"{PACKS['conv_forms_batch']}; {QUICK['conv_forms_batch']} with --quick)")
    parser.add_argument("--pack-timeout", type=float, default=120, help="seconds one pack or conv-forms row may take")
    parser.add_argument("--output-dir", default=None, help="also write gpu_check.json/.md here (a smoke run may not "
                        "name bench/results)")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.device = args.device or ("cpu" if args.quick else "gpu")
    args.smoke = args.quick or args.device == "cpu"
    args.epochs = args.epochs if args.epochs is not None else (1 if args.quick else 2)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    quick = QUICK if args.quick else {}
    args.lenet_examples = args.lenet_examples or quick.get("lenet")
    args.cifar_examples = args.cifar_examples or quick.get("cifar", gpu_report.CIFAR10_TRAINING_EXAMPLES)
    args.resnet_examples = args.resnet_examples or quick.get("resnet", 10_000)
    args.sweep_examples = args.sweep_examples or quick.get("sweep")
    defaults = QUICK if args.quick else PACKS
    args.packs = {"LeNet": pack_sizes(parser, "--lenet-packs", args.lenet_packs or defaults["lenet_packs"]),
                  "Conv6": pack_sizes(parser, "--conv6-packs", args.conv6_packs or defaults["conv6_packs"])}
    args.pack_examples = {"Conv6": args.pack_conv6_examples or quick.get("pack_conv6")}
    args.conv_forms = defaults["conv_forms"] if args.conv_forms is None else args.conv_forms
    args.conv_forms_batch = args.conv_forms_batch or defaults["conv_forms_batch"]
    args.networks = [name.strip() for name in args.networks.split(",") if name.strip()]
    if not args.networks or set(args.networks) - set(NETWORKS):
        parser.error(f"--networks takes a comma-separated choice of {', '.join(NETWORKS)}")
    args.contenders = [name.strip() for name in args.contenders.split(",") if name.strip()]
    if not args.contenders or set(args.contenders) - {"runner", "torch"}:
        parser.error("--contenders takes runner, torch or runner,torch")
    default_groups = [group for group in GROUPS if group != "tf32" or args.device == "gpu"]
    args.rows = [name.strip() for name in args.rows.split(",")] if args.rows else default_groups
    if set(args.rows) - set(GROUPS):
        parser.error(f"--rows takes a comma-separated choice of {', '.join(GROUPS)}")
    if "tf32" in args.rows and args.device == "cpu":
        parser.error("tf32 rows need a GPU (the product refuses --precision tf32 on a CPU); leave tf32 out of --rows")
    args.budget_s = args.budget_s or (900 if args.smoke else 270)
    if args.smoke and args.output_dir and os.path.realpath(args.output_dir) == os.path.realpath(RESULTS_DIR):
        parser.error("a smoke run (--quick or --device cpu) may not write into bench/results, where only GPU results "
                     "go; pass another --output-dir")
    return args


def pack_sizes(parser, flag, text):
    try:
        sizes = list(dict.fromkeys(int(value) for value in text.split(",") if value.strip()))
    except ValueError:
        sizes = []
    if not sizes or min(sizes) < 1:
        parser.error(f"{flag} takes comma-separated positive integers, not {text!r}")
    return sizes


def probed(rows):
    """The frameworks the planned rows use, the only ones probed (a `--rows pack` call needs no torch.compile)."""
    return [name for name in ("jax", "torch")
            if any((row["contender"] == "torch") == (name == "torch") for row in rows.values())]


def nvidia_smi():
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        return subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=30).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def build_report(args, started_at, clock_started, preflight, rows):
    versions = {"python": platform.python_version()}
    for finding in preflight.values():
        versions.update({name: value for name, value in finding.get("details", {}).items()
                         if name in ("jax", "jaxlib", "keras", "torch", "jax-cuda13-plugin", "jax-cuda12-plugin")})
    for row in rows.values():
        versions.update({name: value for name, value in row.get("versions", {}).items() if value})
    devices = sorted({f"{row['device_name']} ({row['platform']})" for row in rows.values()
                      if row.get("device_name") and row.get("platform")})
    launcher = os.environ.get("GPU_CHECK_LAUNCHER", f"{sys.executable} bench/gpu_check.py")
    measured = [row for row in rows.values() if row["status"] == "measured"]
    return {"smoke": args.smoke, "not_a_gpu_result": args.smoke, "complete": len(measured) == len(rows),
            "device_asked": args.device, "devices": devices,
            "nvidia_smi": nvidia_smi() if args.device == "gpu" else None,
            "date": started_at.isoformat(timespec="seconds"), "command": " ".join([launcher, *args.argv]),
            "budget_s": args.budget_s, "elapsed_s": round(time.time() - clock_started, 1),
            "child_timeout_s": args.child_timeout, "pack_timeout_s": args.pack_timeout, "versions": versions,
            "tested_jax": gpu_report.TESTED_JAX,
            "epochs": args.epochs, "batch_size": 25, "learning_rate": 1e-3, "method": "FreePruning",
            "pack_epochs_per_run": gpu_report.PACK_EPOCHS_PER_RUN,
            "preflight": preflight, "rows": rows, "ratios": gpu_report.ratios(rows),
            "targets": gpu_report.targets(rows, args.smoke)}


def output_folders(args):
    folders = [folder for folder in (os.environ.get("OUT"), args.output_dir) if folder]
    if not args.smoke:
        folders.append(RESULTS_DIR)
    unique = []
    for folder in folders:
        if args.smoke and os.path.realpath(folder) == os.path.realpath(RESULTS_DIR):
            continue  # $OUT pointing there on a smoke run: bench/results holds GPU results only
        if os.path.realpath(folder) not in map(os.path.realpath, unique):
            unique.append(folder)
    return unique


def write_report(args, report):
    """Writes the report's files to every output folder; bench/results only once a row has measured something on a
    GPU (a run where every row failed, e.g. on a machine without a GPU, leaves it alone). Returns their paths."""
    on_gpu = any(row.get("platform") in ("gpu", "cuda") and (row.get("median_s") is not None or row.get("runs"))
                 for row in report["rows"].values())
    paths = []
    for folder in output_folders(args):
        if folder == RESULTS_DIR and not on_gpu:
            continue
        os.makedirs(folder, exist_ok=True)
        for name, text in (("gpu_check.json", json.dumps(report, indent=1) + "\n"),
                           ("gpu_check.md", gpu_report.markdown(report) + "\n")):
            path = os.path.join(folder, name)
            with open(path + ".partial", "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(path + ".partial", path)
            paths.append(os.path.relpath(path) if os.path.realpath(path).startswith(REPO + os.sep) else path)
    return paths


def main(argv=None):
    args = parse_args(argv)
    clock_started = float(os.environ.get("GPU_CHECK_STARTED") or time.time())
    deadline = clock_started + args.budget_s
    if args.mnist_dir and not os.path.isdir(args.mnist_dir):
        raise SystemExit(f"--mnist-dir {args.mnist_dir} is not a folder.")
    started_at = datetime.datetime.now().astimezone()
    if args.smoke:
        print("SMOKE RUN: NOT A GPU RESULT (its timings stand for nothing).", flush=True)
    rows = plan_rows(args)
    print(f"{len(rows)} rows planned: {', '.join(rows)}; budget {args.budget_s:.0f} s", flush=True)
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as folder:
        preflight = {}
        environments = {"jax": jax_environment(args), "torch": dict(os.environ)}
        probe_timeout = max(min(PREFLIGHT_TIMEOUT, deadline - time.time()), 1)
        # The probes are processes of their own: the CIFAR-shaped files are written meanwhile.
        probes = threading.Thread(target=lambda: preflight.update(run_preflight(args.device, environments,
                                                                                probe_timeout, probed(rows))))
        probes.start()
        data = prepare_data(args, rows, folder)
        probes.join()
        for name, finding in preflight.items():
            print(f"pre-flight {name}: " + ("ok " + json.dumps(finding.get("details", {})) if finding["ok"]
                                            else f"unusable: {finding['reason']}"), flush=True)
        run_all_rows(args, rows, preflight, data, folder, deadline,
                     lambda: write_report(args, build_report(args, started_at, clock_started, preflight, rows)))
    report = build_report(args, started_at, clock_started, preflight, rows)
    paths = write_report(args, report)
    print("\n" + gpu_report.markdown(report))
    print("\n" + (f"wrote {', '.join(paths)}" if paths else "wrote no files (no --output-dir and no $OUT, and "
                  "bench/results takes only what was measured on a GPU by a run that is not a smoke run)"))
    return 0 if report["complete"] else 1


if __name__ == "__main__":
    sys.exit(main())
