"""The rows of bench/gpu_check.py: the plan, the data they read, and each row run in its own process with a timeout
within the overall deadline (the runner, PyTorch, pack and conv-forms rows through bench/gpu_contender.py, the 4-run
row through bench/gpu_sweep.py)."""

import json
import os
import signal
import subprocess
import sys
import time

import gpu_report
from gpu_report import row_key
from gpu_sweep import run_sweep

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
CHILD = os.path.join(BENCH, "gpu_contender.py")
NETWORKS = ("LeNet", "Conv6", "ResNet20")
GROUPS = ("float32", "resnet20", "tf32", "determinism", "sweep", "pack")
PACK_NETWORKS = ("LeNet", "Conv6")
CONV6_TARGET_PACK = 8  # Conv6 packs larger than the target's N run after the conv-forms row, if time allows
FRAMEWORKS = {"runner": "jax", "torch": "torch", "pack": "pack", "conv-forms": "conv_forms"}
MINIMUM_ROW_SECONDS = 10  # a row given less than this would only compile: reported "not run: budget" instead


def plan_rows(args):
    """{key: row} in the order they run; each row starts as "not run"."""
    rows = {}

    def add(network, contender, precision="float32", deterministic=True):
        if network in args.networks:
            rows[row_key(network, contender, precision, deterministic)] = {
                "network": network, "contender": contender, "precision": precision,
                "deterministic": deterministic if contender != "torch" else None, "status": "not run"}

    for group in args.rows:
        if group in ("float32", "tf32"):
            for network in ("LeNet", "Conv6"):
                for contender in args.contenders:
                    add(network, contender, group)
        elif group == "resnet20":
            for contender in args.contenders:
                add("ResNet20", contender)
        elif group == "determinism":
            for network in NETWORKS:
                add(network, "runner", deterministic=False)
        elif group == "sweep":
            if "LeNet" in args.networks:
                add("LeNet", "sweep")
        elif group == "pack":
            rows.update(plan_pack_rows(args))
    return rows


def plan_pack_rows(args):
    """The pack group: LeNet at each --lenet-packs N, Conv6 at each --conv6-packs N up to the target's 8, the conv
    forms (--conv-forms members), then Conv6's larger packs."""
    rows = {}

    def add(network, contender, **fields):
        rows[row_key(network, contender, "float32")] = {"network": network, "contender": contender.rstrip("0123456789"),
                                                        "precision": "float32", "deterministic": True,
                                                        "status": "not run", **fields}

    for network in PACK_NETWORKS:
        if network not in args.networks:
            continue
        sizes = args.packs[network]
        first = [count for count in sizes if network != "Conv6" or count <= CONV6_TARGET_PACK]
        for count in first:
            add(network, f"pack{count}", pack=count)
        if network == "Conv6" and args.conv_forms:
            add(network, "conv-forms", members=args.conv_forms)
        for count in sizes:
            if count not in first:
                add(network, f"pack{count}", pack=count)
    return rows


def xla_flags(deterministic):
    """XLA_FLAGS for a JAX child: any deterministic_ops flag taken out, so that select_backend adds =true,
    or =false put in, which select_backend then leaves alone."""
    flags = [flag for flag in os.environ.get("XLA_FLAGS", "").split() if "deterministic_ops" not in flag]
    return " ".join(flags if deterministic else flags + ["--xla_gpu_deterministic_ops=false"])


def jax_environment(args, deterministic=True):
    environment = dict(os.environ, XLA_PYTHON_CLIENT_PREALLOCATE="false", XLA_FLAGS=xla_flags(deterministic),
                       PYTHONUNBUFFERED="1")
    if args.device == "cpu":
        environment["JAX_PLATFORMS"] = "cpu"
    return environment


def key_of(row):
    """The row's key in the plan (gpu_report.row_key)."""
    contender = row["contender"] + (str(row["pack"]) if row["contender"] == "pack" else "")
    return row_key(row["network"], contender, row["precision"], row["deterministic"])


def stop_process_group(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the row's own group: Inductor's compile workers go with it
    except ProcessLookupError:
        pass
    process.wait()


def run_row(args, row, data, folder, timeout, reason):
    """Runs one runner or torch row in its own process; returns what to merge into the row."""
    framework = FRAMEWORKS[row["contender"]]
    spec = {"framework": framework, "network": row["network"], "device": args.device, "epochs": args.epochs,
            "precision": row["precision"], "deterministic": row["deterministic"], **data[row["network"]]}
    if row["contender"] == "pack":
        spec.update(pack=row["pack"], limit=args.pack_examples.get(row["network"]) or spec.get("limit"))
    elif row["contender"] == "conv-forms":
        spec.update(members=row["members"], batch_size=args.conv_forms_batch)
    environment = dict(os.environ, PYTHONUNBUFFERED="1") if framework == "torch" \
        else jax_environment(args, row["deterministic"])
    result_path = os.path.join(folder, key_of(row).replace("/", "-") + ".json")
    process = subprocess.Popen([sys.executable, CHILD, json.dumps(spec), result_path], env=environment, cwd=REPO,
                               start_new_session=True)
    try:
        process.wait(timeout=timeout)
        stopped = None
    except subprocess.TimeoutExpired:
        stop_process_group(process)
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
        own_limit = {"sweep": args.sweep_timeout, "pack": args.pack_timeout,
                     "conv-forms": args.pack_timeout}.get(row["contender"], args.child_timeout)
        timeout, reason = (own_limit, "its timeout") if own_limit <= remaining else (remaining, "the budget")
        print(f"\n== {key}: {gpu_report.contender_label(row)}, {args.device}, at most {timeout:.0f} s "
              f"({remaining:.0f} s of the budget left)", flush=True)
        row_started = time.time()
        if row["contender"] == "sweep":
            row.update(run_sweep(args.device, data["LeNet"]["mnist_dir"], args.sweep_examples, args.sweep_runs,
                                 timeout, folder, reason))
        else:
            row.update(run_row(args, row, data, folder, timeout, reason))
        row["process_s"] = round(time.time() - row_started, 1)  # start-up, data, compilation and epochs
        print(f"   {key}: {row['status']}" + (f": {row['reason']}" if row.get("reason") else "")
              + (f"; {row['median_s']:.3f} s/epoch" if row.get("median_s") is not None else ""), flush=True)
        report_now()


