"""The sharing rows of the GPU check: FreePruning runs sharing one GPU through the real Sweep.py (LeNet; Conv6 and
ResNet20 in the workers group, gpu_grid_rows.py).

A grid of 4 seeds (1 epoch each; --sweep-runs N for another number) is written to a temporary folder and run with
`Sweep.py GRID --workers 4 --keras-backend jax --device gpu` (cpu on a smoke run), outputs in that folder; then each
run's _logs.json says its status, the device it trained on (its last `devices` record) and its epoch seconds. On a
GPU, nvidia-smi is read every half second meanwhile: the most memory in use is the row's peak.
"""

import glob
import json
import os
import signal
import subprocess
import sys
import threading
import time

import gpu_grid_rows

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def write_grid(folder, mnist_dir, limit, runs, network="LeNet", cifar_folder=None):
    dataset = "cifar10" if network != "LeNet" else "mnist" if mnist_dir else "mnist-subset"
    base = {"nettype": network, "traintype": "FreePruning", "dataset": dataset, "maxepochs": 1, "batchsize": 25,
            **({"limit": limit} if limit else {})}
    grid = {"description": f"GPU check: {runs} {network} FreePruning runs sharing one GPU, 1 epoch.",
            "machine": f"one GPU, {runs} workers", "base": base, "seeds": list(range(1, runs + 1))}
    path = os.path.join(folder, f"gpu_check_grid_{network}.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(grid, handle, indent=1)
    return path


def watch_memory(peak, stopping, interval=0.5):
    """Keeps peak["mib"] at the most GPU memory nvidia-smi shows in use (all processes) until `stopping` is set."""
    while not stopping.is_set():
        try:
            output = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                                    capture_output=True, text=True, timeout=5).stdout
            used = sum(int(line) for line in output.split() if line.strip().isdigit())
            peak["mib"] = max(peak.get("mib") or 0, used) or None
        except (OSError, subprocess.SubprocessError, ValueError):
            pass
        stopping.wait(interval)


def read_run(path):
    """One run's record from its logs."""
    try:
        with open(path, encoding="utf-8") as handle:
            logs = json.load(handle)
    except (OSError, ValueError):
        return {"status": "unreadable logs", "logs": path}
    device = logs["devices"][-1]
    return {"seed": logs["seed"], "status": logs["status"], "failure": logs["failureReason"],
            "device": f"{device['name']} ({device['platform']})", "platform": device["platform"],
            "precision": device["precision"], "epoch_s": logs["epochSeconds"], "started": logs["startedAt"],
            "finished": logs["finishedAt"], "training_examples": logs["dataset"]["trainExamples"],
            "versions": logs["versions"]}


def stop_group(process):
    """Stops Sweep.py and the MaskTrainer.py processes it started (its own process group): SIGINT first, on which
    Sweep.py saves its runs, then SIGKILL."""
    for stop_signal in (signal.SIGINT, signal.SIGKILL):
        try:
            os.killpg(process.pid, stop_signal)
            process.wait(timeout=10)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def run_sweep(device, mnist_dir, limit, run_count, timeout, folder, timeout_reason, network="LeNet",
              cifar_folder=None, output=None, environment=None):
    """The row: {"status", "reason", "runs", "finished", "all_on_gpu", "wall_s", ...}; run_count runs of `network`,
    as many workers, their outputs in `output` (default: FOLDER/sweep-outputs); `environment`: variables added to
    the sweep's."""
    grid = write_grid(folder, mnist_dir, limit, run_count, network, cifar_folder)
    output = output or os.path.join(folder, "sweep-outputs")
    data_dir = cifar_folder if network != "LeNet" else mnist_dir
    arguments = ["Sweep.py", grid, "--workers", str(run_count), "--keras-backend", "jax", "--outputpath", output,
                 "--device", device, *(["--data-dir", data_dir] if data_dir else [])]
    row = {"command": " ".join(["python", *arguments]), "runs_asked": run_count}
    print(f"   {row['command']}", flush=True)
    peak, stopping = {}, threading.Event()
    watch = threading.Thread(target=watch_memory, args=(peak, stopping), daemon=True)
    if device == "gpu":
        watch.start()
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, *arguments], cwd=REPO, start_new_session=True,
                               env=dict(os.environ, KERAS_BACKEND="jax", PYTHONUNBUFFERED="1", **(environment or {})))
    try:
        exit_code = process.wait(timeout=max(timeout, 1))
    except subprocess.TimeoutExpired:
        stop_group(process)
        exit_code = None
    stopping.set()
    row.update(wall_s=round(time.perf_counter() - started, 2), exit_code=exit_code,
               peak_memory_bytes=peak["mib"] * 2**20 if peak.get("mib") else None)
    runs = sorted((read_run(path) for path in glob.glob(os.path.join(output, "**", "*_logs.json"), recursive=True)),
                  key=lambda run: run.get("seed") or 0)
    row.update(runs=runs, finished=sum(run.get("status") == "finished" for run in runs),
               all_on_gpu=bool(runs) and all(run.get("platform") in ("gpu", "cuda") for run in runs),
               device_name=", ".join(sorted({run["device"] for run in runs if run.get("device")})),
               training_examples=runs[0].get("training_examples") if runs else None,
               versions={name: value for run in runs for name, value in run.get("versions", {}).items()
                         if name in ("jax", "jaxlib", "keras")})
    row.update(sweep_status(row, device, exit_code, timeout, timeout_reason))
    return row


def sweep_status(row, device, exit_code, timeout, timeout_reason):
    runs = row["runs"]
    if exit_code is None:
        return {"status": "stopped", "reason": f"Sweep.py was stopped by {timeout_reason} ({timeout:.0f} s); "
                                               f"{row['finished']} of {row['runs_asked']} runs had finished."}
    failed = [run for run in runs if run.get("status") != "finished"]
    if exit_code != 0 or failed or len(runs) != row["runs_asked"]:
        why = next((f"seed {run.get('seed')}: {run.get('failure') or run.get('status')}" for run in failed), None)
        return {"status": "failed", "reason": f"Sweep.py exited with code {exit_code} and {row['finished']} of "
                                              f"{row['runs_asked']} runs finished" + (f" ({why})" if why else "") + "."}
    if device == "gpu" and not row["all_on_gpu"]:
        where = ", ".join(f"seed {run.get('seed')}: {run.get('device')}" for run in runs)
        return {"status": "failed", "reason": f"Not every run trained on the GPU ({where})."}
    return {"status": "measured"}


def sweep_row(args, row, data, timeout, folder, reason):
    """A sweep row: the network's runs sharing the device, with an MPS daemon of the check's own where row["mps"]."""
    network = row["network"]
    sweep = dict(network=network, cifar_folder=data[network].get("cifar_folder"),
                 output=os.path.join(folder, f"sweep-{network}" + ("-mps" if row.get("mps") else "")))
    arguments = (args.device, data["LeNet"]["mnist_dir"], args.sweep_examples if network == "LeNet"
                 else data[network]["limit"], args.sweep_runs, timeout, folder, reason)
    if not row.get("mps"):
        return run_sweep(*arguments, **sweep)
    try:
        with gpu_grid_rows.mps_daemon(folder) as variables:
            return {**run_sweep(*arguments, **sweep, environment=variables), "mps": True}
    except RuntimeError as error:
        return {"status": "skipped", "reason": str(error)}
