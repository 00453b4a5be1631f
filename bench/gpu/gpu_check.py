"""GPU check: the project's runner on Keras' JAX backend vs. the masked PyTorch peers, on one GPU, in one command.

    bash bench/gpu/check.sh [flags of this file]          # on the GPU machine (bench/README.md, "GPU check")

Pre-flight probes (gpu_preflight.py), then the rows of the groups --rows names, each in its own process
(gpu_contender.py; gpu_sweep.py for the runs sharing the device) with a timeout, within an overall deadline
(--budget-s, from the start of check.sh): a row running at the deadline keeps what it timed ("partial"), rows not
reached are "not run: budget". The report (gpu_report.py) is written after every row as gpu_check.json and .md to
$OUT, to --output-dir, and, on a GPU run that is not a smoke run, to bench/results. bench/README.md, "GPU check",
says what each group measures.
"""

import datetime
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

GPU = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(GPU)
REPO = os.path.dirname(BENCH)
sys.path[:0] = [path for path in (GPU, BENCH, REPO) if path not in sys.path]

import gpu_grid_rows  # noqa: E402
import gpu_markdown  # noqa: E402
import gpu_report  # noqa: E402
from gpu_check_flags import CONV6_TARGET_PACK, NETWORKS, RESULTS_DIR, parse_args  # noqa: E402
from gpu_preflight import run_preflight  # noqa: E402
from gpu_report import row_key  # noqa: E402
from gpu_sweep import sweep_row  # noqa: E402

CHILD = os.path.join(GPU, "gpu_contender.py")
PREFLIGHT_TIMEOUT = 90  # a cold torch.compile of one tiny function, Triton's launcher built with the C compiler
MINIMUM_ROW_SECONDS = 10  # a row given less than this would only compile: reported "not run: budget" instead


# The rows --------------------------------------------------------------------------------------------------------
def plan_rows(args):
    """{key: row} in the order they run; each row starts as "not run"."""
    rows = {}

    def add(network, contender, precision="float32", deterministic=True, **fields):
        if network in args.networks:
            key = row_key(network, contender + str(fields.get("pack", "")), precision, deterministic)
            rows[key] = {"network": network, "contender": contender, "precision": precision,
                         "deterministic": deterministic if contender != "torch" else None, "status": "not run",
                         **fields}

    for group in args.rows:
        for network in {"float32": ("LeNet", "Conv6"), "tf32": ("LeNet", "Conv6"), "resnet20": ("ResNet20",)}.get(
                group, ()):
            for contender in args.contenders:
                add(network, contender, "tf32" if group == "tf32" else "float32")
        if group == "determinism":
            for network in NETWORKS:
                add(network, "runner", deterministic=False)
        elif group == "sweep":
            add("LeNet", "sweep")
        elif group in gpu_grid_rows.GRID_GROUPS:
            gpu_grid_rows.plan(args, group, rows, lambda key, row: rows.__setitem__(key, {**row, "status": "not run"})
                               if row["network"] in (*args.networks, "all") else None)
        elif group == "pack":
            sizes = [(network, count) for network in ("LeNet", "Conv6") for count in args.packs[network]]
            for network, count in sizes:
                if network == "LeNet" or count <= CONV6_TARGET_PACK:
                    add(network, "pack", pack=count)
            if args.conv_forms:
                add("Conv6", "conv-forms", members=args.conv_forms)
            for network, count in sizes:
                if network == "Conv6" and count > CONV6_TARGET_PACK:
                    add(network, "pack", pack=count)
    return rows


def jax_environment(args, deterministic=True):
    """A JAX child's environment: any deterministic_ops flag taken out, so that select_backend adds =true, or =false
    put in, which select_backend then leaves alone; preallocation off, so that the peak memory is what it used."""
    flags = [flag for flag in os.environ.get("XLA_FLAGS", "").split() if "deterministic_ops" not in flag]
    environment = dict(os.environ, XLA_PYTHON_CLIENT_PREALLOCATE="false", PYTHONUNBUFFERED="1",
                       XLA_FLAGS=" ".join(flags if deterministic else flags + ["--xla_gpu_deterministic_ops=false"]))
    if args.device == "cpu":
        environment["JAX_PLATFORMS"] = "cpu"
    return environment


def run_row(args, key, row, data, folder, timeout, reason):
    """Runs one runner, torch, pack or conv-forms row in its own process; returns what to merge into the row."""
    framework = {"runner": "jax", "pack": "jax", "torch": "torch", "conv-forms": "conv_forms"}[row["contender"]]
    spec = {"framework": framework, "network": row["network"], "device": args.device, "epochs": args.epochs,
            "precision": row["precision"], "deterministic": row["deterministic"], **data[row["network"]]}
    if row["contender"] == "pack":
        spec.update(pack=row["pack"], limit=args.pack_examples.get(row["network"]) or spec.get("limit"))
    elif row["contender"] == "conv-forms":
        spec.update(members=row["members"], batch_size=args.conv_forms_batch)
    environment = dict(os.environ, PYTHONUNBUFFERED="1") if framework == "torch" \
        else gpu_grid_rows.environment(row, jax_environment(args, row["deterministic"]), folder)
    result_path = os.path.join(folder, key.replace("/", "-") + ".json")
    process = subprocess.Popen([sys.executable, CHILD, json.dumps(spec), result_path], env=environment, cwd=REPO,
                               start_new_session=True)
    try:
        process.wait(timeout=timeout)
        stopped = None
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the row's own group: Inductor's compile workers go with it
        process.wait()
        stopped = f"stopped by {reason} ({timeout:.0f} s)"
    result = {}
    if os.path.isfile(result_path):
        with open(result_path, encoding="utf-8") as handle:
            result = json.load(handle)
    if "error" in result:
        return {**result, "status": "failed", "reason": result["error"]}
    if stopped:
        if result.get("median_s") is not None or result.get("forms"):
            return {**result, "status": "partial", "reason": stopped}
        return {**result, "status": "stopped", "reason": stopped + " before a timed epoch ended"}
    if process.returncode != 0 or not result.get("finished"):
        return {**result, "status": "failed", "reason": f"the row's process exited with code {process.returncode} "
                                                        "(its output is above)."}
    return {**result, "status": "measured"}


def prepare_data(args, rows, folder):
    """What each network's rows load: MNIST's folder (None: the subset) and the CIFAR-shaped folder."""
    data = {"LeNet": {"mnist_dir": os.path.abspath(args.mnist_dir) if args.mnist_dir else None,
                      "limit": args.lenet_examples}}
    cifar_networks = {row["network"] for row in rows.values()} & {"Conv6", "ResNet20"}
    if cifar_networks:
        from cifar_shaped import write_cifar_shaped
        count = max(args.cifar_examples if "Conv6" in cifar_networks else 0,
                    args.resnet_examples if "ResNet20" in cifar_networks else 0,
                    (args.pack_examples.get("Conv6") or 0) if "Conv6" in cifar_networks else 0)
        cifar_folder = os.path.join(folder, "cifar")
        print(f"writing {count:,} CIFAR-shaped training images to {cifar_folder}", flush=True)
        write_cifar_shaped(cifar_folder, count, test_examples=100 if args.smoke else 1_000)
        data["Conv6"] = {"cifar_folder": cifar_folder, "limit": args.cifar_examples}
        data["ResNet20"] = {"cifar_folder": cifar_folder, "limit": args.resnet_examples}
    return data


def run_all_rows(args, rows, preflight, data, folder, deadline, report_now):
    for key, row in rows.items():
        framework = "torch" if row["contender"] == "torch" else "jax"
        if not preflight[framework]["ok"]:
            row.update(status="skipped", reason=f"pre-flight: {preflight[framework]['reason']}")
            continue
        remaining = deadline - time.time()
        if remaining < MINIMUM_ROW_SECONDS:
            row.update(status="not run", reason="budget")
            continue
        own_limit = {"sweep": args.sweep_timeout, "pack": args.pack_timeout, "conv-forms": args.pack_timeout,
                     "gridtime": args.grid_time_timeout}.get(row["contender"], args.child_timeout)
        timeout, reason = (own_limit, "its timeout") if own_limit <= remaining else (remaining, "the budget")
        print(f"\n== {key}: {gpu_report.contender_label(row)}, {args.device}, at most {timeout:.0f} s "
              f"({remaining:.0f} s of the budget left)", flush=True)
        row_started = time.time()
        if row["contender"] == "sweep":
            row.update(sweep_row(args, row, data, timeout, folder, reason))
        elif row["contender"] == "gridtime":
            row.update(gpu_grid_rows.run_grid_time(args, timeout, folder))
        else:
            row.update(run_row(args, key, row, data, folder, timeout, reason))
        row["process_s"] = round(time.time() - row_started, 1)  # start-up, data, compilation and epochs
        print(f"   {key}: {row['status']}" + (f": {row['reason']}" if row.get("reason") else "")
              + (f"; {row['median_s']:.3f} s/epoch" if row.get("median_s") is not None else ""), flush=True)
        report_now()


# The report ------------------------------------------------------------------------------------------------------
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
    launcher = os.environ.get("GPU_CHECK_LAUNCHER", f"{sys.executable} bench/gpu/gpu_check.py")
    return {"smoke": args.smoke, "not_a_gpu_result": args.smoke,
            "complete": all(row["status"] == "measured" for row in rows.values()),
            "device_asked": args.device, "devices": devices,
            "nvidia_smi": nvidia_smi() if args.device == "gpu" else None,
            "date": started_at.isoformat(timespec="seconds"), "command": " ".join([launcher, *args.argv]),
            "budget_s": args.budget_s, "elapsed_s": round(time.time() - clock_started, 1),
            "child_timeout_s": args.child_timeout, "pack_timeout_s": args.pack_timeout, "versions": versions,
            "tested_jax": gpu_report.TESTED_JAX, "epochs": args.epochs, "batch_size": 25, "learning_rate": 1e-3,
            "method": "FreePruning", "pack_epochs_per_run": gpu_report.PACK_EPOCHS_PER_RUN,
            "preflight": preflight, "rows": rows, "ratios": gpu_report.ratios(rows),
            "targets": gpu_report.targets(rows, args.smoke)}


def output_folders(args):
    """$OUT, --output-dir, and bench/results unless this is a smoke run (bench/results holds GPU results only)."""
    folders = [folder for folder in (os.environ.get("OUT"), args.output_dir) if folder]
    unique = []
    for folder in folders + ([] if args.smoke else [RESULTS_DIR]):
        real = os.path.realpath(folder)
        if not (args.smoke and real == os.path.realpath(RESULTS_DIR)) and real not in map(os.path.realpath, unique):
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
                           ("gpu_check.md", gpu_markdown.markdown(report) + "\n")):
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
    print("\n" + gpu_markdown.markdown(report))
    print("\n" + (f"wrote {', '.join(paths)}" if paths else "wrote no files (no --output-dir and no $OUT, and "
                  "bench/results takes only what was measured on a GPU by a run that is not a smoke run)"))
    return 0 if report["complete"] else 1


if __name__ == "__main__":
    sys.exit(main())
