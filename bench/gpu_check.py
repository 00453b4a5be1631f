"""GPU check: the project's runner on Keras' JAX backend vs. the masked PyTorch peer, on one GPU.

NOT YET MEASURED ON A GPU: written and smoke-tested on a CPU only (`--quick`); no GPU result exists yet.

What it measures, FreePruning at batch 25 (Adam, lr 1e-3), each contender in its own process so that JAX's
and PyTorch's allocators never share the GPU (bench/gpu_contender.py), one warm-up epoch (compilation) then
`--epochs` timed epochs (default 3), median and min seconds per training epoch, the timer stopped after the
device has finished (`jax.block_until_ready` / `torch.cuda.synchronize()`):
  1. LeNet-300-100 on MNIST (the four official files in `--mnist-dir`, else the committed subset
     datasets/mnist_subset.npz): `training.loop.Experiment.train_epoch` on `--backend jax` (bench/keras_contenders.py's
     Runner) vs. bench/torch_lenet.py's TorchPeer with torch.compile on CUDA.
  2. Conv6 on CIFAR-shaped data: 45,000 random training images written in CIFAR-10's official format
     (bench/cifar_shaped.py) and read by the project's CIFAR-10 reader; the runner on JAX vs.
     bench/torch_conv.py's TorchConvPeer (torch.compile, channels-last) on CUDA.
  3. Peak GPU memory per contender: JAX `memory_stats()["peak_bytes_in_use"]` (with
     XLA_PYTHON_CLIENT_PREALLOCATE=false, so that preallocation does not hide use), torch `max_memory_allocated()`.
  `--compare-determinism` also times both runners with XLA_FLAGS=--xla_gpu_deterministic_ops=false (the runner sets
  =true unless XLA_FLAGS already sets xla_gpu_deterministic_ops; cli/keras_backend.py): the cost of determinism.
Targets (judged on a GPU run only): Conv6 runner epoch at most 3 s on an H100; LeNet runner faster than torch.compile.
Results: printed as Markdown, and written to bench/results/gpu_check.json and gpu_check.md only by a run on a GPU
without --quick (rewritten after each contender; nothing when no contender measured anything). A smoke run
(--quick, or --device cpu) writes only where --output-dir says, never into bench/results; its report opens and
closes with a banner saying it is not a GPU result, and its targets are not judged.

The GPU machine has JAX (CUDA), PyTorch (CUDA), numpy, h5py, rich, ... but neither TensorFlow nor Keras and no network:
  here (with the package index):  bash bench/gpu_wheels.sh                 # keras, namex, optree wheels into .whl/
                                  mkdir -p .data/mnist && cp ../shared/data/mnist/*-ubyte.gz .data/mnist/
  there (repository with .whl/ and .data/mnist/):   bash bench/gpu_check.sh [--compare-determinism]
CPU smoke run here:  PYTHON=.venv/bin/python nice -n 5 bash bench/gpu_check.sh --quick --output-dir /tmp/gpu-check-smoke
"""

import argparse
import datetime
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path[:0] = [path for path in (BENCH, REPO) if path not in sys.path]

import gpu_report  # noqa: E402

RESULTS_DIR = os.path.join(REPO, "bench", "results")
CHILD = os.path.join(BENCH, "gpu_contender.py")
NETWORKS = ("LeNet", "Conv6")
QUICK_LENET_EXAMPLES, QUICK_CIFAR_EXAMPLES = 2_000, 500


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {QUICK_LENET_EXAMPLES:,} LeNet and {QUICK_CIFAR_EXAMPLES} CIFAR-shaped "
                             "training images, 1 timed epoch, on the CPU unless --device gpu")
    parser.add_argument("--device", choices=("gpu", "cpu"), default=None, help="default: gpu (cpu with --quick)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="timed epochs after the warm-up (default 3; 1 with --quick)")
    parser.add_argument("--networks", default=",".join(NETWORKS), help="comma-separated, of LeNet and Conv6")
    parser.add_argument("--mnist-dir", default=None, help="folder with the four official MNIST files "
                        "(default: the committed MNIST subset, 5,000 training images)")
    parser.add_argument("--lenet-examples", type=int, default=None, help="use only the first N MNIST training images")
    parser.add_argument("--cifar-examples", type=int, default=None,
                        help="CIFAR-shaped training images (default 45,000)")
    parser.add_argument("--compare-determinism", action="store_true",
                        help="also time the JAX runners with XLA_FLAGS=--xla_gpu_deterministic_ops=false")
    parser.add_argument("--output-dir", default=None,
                        help="where gpu_check.json/.md go (default: bench/results on a full GPU run; nowhere on a "
                             "smoke run, which may not write into bench/results)")
    parser.add_argument("--child-timeout", type=float, default=480, help="seconds one contender may take")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    args.device = args.device or ("cpu" if args.quick else "gpu")
    args.epochs = args.epochs if args.epochs is not None else (1 if args.quick else 3)
    if args.epochs < 1:
        parser.error("--epochs must be at least 1")
    if args.lenet_examples is None and args.quick:
        args.lenet_examples = QUICK_LENET_EXAMPLES
    if args.cifar_examples is None:
        args.cifar_examples = QUICK_CIFAR_EXAMPLES if args.quick else gpu_report.CIFAR10_TRAINING_EXAMPLES
    args.networks = [name.strip() for name in args.networks.split(",") if name.strip()]
    if not args.networks or set(args.networks) - set(NETWORKS):
        parser.error(f"--networks takes a comma-separated choice of {', '.join(NETWORKS)}")
    args.smoke = args.quick or args.device == "cpu"
    if args.output_dir is None:
        args.output_dir = None if args.smoke else RESULTS_DIR
    elif args.smoke and os.path.realpath(args.output_dir) == os.path.realpath(RESULTS_DIR):
        parser.error("a smoke run (--quick or --device cpu) may not write into bench/results, where only GPU results "
                     "go; pass another --output-dir")
    return args


def check_installed():
    missing = [name for name in ("keras", "jax", "torch") if importlib.util.find_spec(name) is None]
    if missing:
        raise SystemExit(f"{', '.join(missing)} cannot be imported by {sys.executable}; on the GPU machine run "
                         "bench/gpu_check.sh with the wheels of bench/gpu_wheels.sh in .whl/.")


def xla_flags(deterministic):
    """XLA_FLAGS for a JAX child: any deterministic_ops flag taken out, so that select_backend adds =true,
    or =false put in, which select_backend then leaves alone."""
    flags = [flag for flag in os.environ.get("XLA_FLAGS", "").split() if "deterministic_ops" not in flag]
    return " ".join(flags if deterministic else flags + ["--xla_gpu_deterministic_ops=false"])


def contender_plan(args):
    """[(network, name, framework, deterministic)] in the order they run."""
    plan = []
    for network in args.networks:
        plan += [(network, "runner", "jax", True), (network, "torch", "torch", None)]
        if args.compare_determinism:
            plan.append((network, "runner_nondeterministic", "jax", False))
    return plan


def run_contender(args, network, name, framework, deterministic, data, folder):
    spec = {"framework": framework, "network": network, "device": args.device, "epochs": args.epochs,
            "deterministic": deterministic, **data[network]}
    environment = dict(os.environ)
    if framework == "jax":
        environment["XLA_PYTHON_CLIENT_PREALLOCATE"] = "false"
        environment["XLA_FLAGS"] = xla_flags(deterministic)
        if args.device == "cpu":
            environment["JAX_PLATFORMS"] = "cpu"
    result_path = os.path.join(folder, f"{network}-{name}.json")
    print(f"\n== {network}: {gpu_report.LABELS[name]} ({framework} process, {args.device})", flush=True)
    try:
        completed = subprocess.run([sys.executable, CHILD, json.dumps(spec), result_path], env=environment,
                                   cwd=REPO, timeout=args.child_timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within --child-timeout {args.child_timeout:g} s"}
    if os.path.isfile(result_path):
        with open(result_path, encoding="utf-8") as handle:
            result = json.load(handle)
        if completed.returncode == 0 or "error" in result:
            return result
    return {"error": f"the contender's process exited with code {completed.returncode} (its output is above)"}


def nvidia_smi():
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        return subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                              capture_output=True, text=True, timeout=30).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def build_report(args, started_at, results, complete):
    versions = {"python": platform.python_version()}
    for result in results.values():
        versions.update({name: value for name, value in result.get("versions", {}).items() if value})
    devices = sorted({f"{result['device_name']} ({result['platform']})" for result in results.values()
                      if "device_name" in result})
    launcher = os.environ.get("GPU_CHECK_LAUNCHER", f"{sys.executable} bench/gpu_check.py")
    return {"smoke": args.smoke, "not_a_gpu_result": args.smoke, "complete": complete, "device_asked": args.device,
            "devices": devices, "nvidia_smi": nvidia_smi() if args.device == "gpu" else None,
            "date": started_at.isoformat(timespec="seconds"), "command": " ".join([launcher, *args.argv]),
            "versions": versions, "epochs": args.epochs, "batch_size": 25, "learning_rate": 1e-3,
            "method": "FreePruning", "contenders": results,
            "ratios": gpu_report.ratios(results, args.networks), "targets": gpu_report.targets(results, args.smoke)}


def write_report(args, report):
    """The report's files, once a contender has measured something (a run where every contender failed, e.g. on
    a machine without a GPU, leaves bench/results alone)."""
    if args.output_dir is None or not any("median_s" in result for result in report["contenders"].values()):
        return []
    os.makedirs(args.output_dir, exist_ok=True)
    folder = os.path.relpath(args.output_dir) if os.path.realpath(args.output_dir).startswith(REPO + os.sep) \
        else os.path.abspath(args.output_dir)
    paths = [os.path.join(folder, name) for name in ("gpu_check.json", "gpu_check.md")]
    for path, text in zip(paths, (json.dumps(report, indent=1) + "\n", gpu_report.markdown(report) + "\n")):
        with open(path + ".partial", "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(path + ".partial", path)
    return paths


def prepare_data(args, folder):
    """What each network's contenders load: MNIST's folder (or the subset) and the CIFAR-shaped folder."""
    data = {"LeNet": {"mnist_dir": os.path.abspath(args.mnist_dir) if args.mnist_dir else None,
                      "limit": args.lenet_examples}}
    if "Conv6" in args.networks:
        from cifar_shaped import write_cifar_shaped
        cifar_folder = os.path.join(folder, "cifar")
        print(f"writing {args.cifar_examples:,} CIFAR-shaped training images to {cifar_folder}", flush=True)
        write_cifar_shaped(cifar_folder, args.cifar_examples, test_examples=100 if args.quick else 1_000)
        data["Conv6"] = {"cifar_folder": cifar_folder}
    return data


def main(argv=None):
    args = parse_args(argv)
    check_installed()
    if args.mnist_dir and not os.path.isdir(args.mnist_dir):
        raise SystemExit(f"--mnist-dir {args.mnist_dir} is not a folder.")
    started_at = datetime.datetime.now().astimezone()
    if args.smoke:
        print("CPU SMOKE RUN: its timings are not GPU results." if args.device == "cpu" else
              "SMOKE RUN (--quick): small data; its timings are not results.", flush=True)
    results = {}
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as folder:
        data = prepare_data(args, folder)
        for network, name, framework, deterministic in contender_plan(args):
            result = run_contender(args, network, name, framework, deterministic, data, folder)
            results[gpu_report.contender_key(network, name)] = result
            if "error" in result:
                print(f"   FAILED: {result['error']}", flush=True)
            write_report(args, build_report(args, started_at, results, complete=False))
    complete = all("error" not in result for result in results.values())
    report = build_report(args, started_at, results, complete)
    paths = write_report(args, report)
    print("\n" + gpu_report.markdown(report))
    print("\n" + (f"wrote {', '.join(paths)}" if paths else
                  "wrote no files (a smoke run writes only where --output-dir says; nothing is written "
                  "when no contender measured anything)"))
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
