"""The sharing row of bench/gpu_check.py: four LeNet FreePruning runs sharing one GPU through the real Sweep.py.

A grid of 4 seeds (1 epoch each; --sweep-runs N for another number) is written to a temporary folder and run with
`Sweep.py GRID --workers 4 --keras-backend jax --device gpu` (cpu on a smoke run), outputs in that folder; then the
runs' _logs.json are read: status, the device each trained on (its "devices" record, else versions.device), its
epoch seconds. On a GPU, nvidia-smi is read every half second meanwhile: the most memory in use is the row's peak.
"""

import glob
import json
import os
import signal
import subprocess
import sys
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)


def write_grid(folder, mnist_dir, limit, runs):
    base = {"nettype": "LeNet", "traintype": "FreePruning", "dataset": "mnist" if mnist_dir else "mnist-subset",
            "maxepochs": 1, "batchsize": 25}
    if limit:
        base["limit"] = limit
    grid = {"description": f"GPU check (bench/gpu_sweep.py): {runs} LeNet FreePruning runs sharing one GPU, 1 epoch.",
            "machine": f"one GPU, {runs} workers", "base": base, "seeds": list(range(1, runs + 1))}
    path = os.path.join(folder, "gpu_check_grid.json")
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(grid, handle, indent=1)
    return path


class MemoryWatch:
    """The most GPU memory nvidia-smi shows in use (all processes), read every `interval` seconds on a thread."""

    def __init__(self, interval=0.5):
        self.peak_mib, self.interval, self.stopping = None, interval, threading.Event()
        self.thread = threading.Thread(target=self.watch, daemon=True)

    def read(self):
        try:
            output = subprocess.run(["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits"],
                                    capture_output=True, text=True, timeout=5).stdout
            return sum(int(line) for line in output.split() if line.strip().isdigit()) or None
        except (OSError, subprocess.SubprocessError, ValueError):
            return None

    def watch(self):
        while not self.stopping.is_set():
            used = self.read()
            if used is not None:
                self.peak_mib = max(self.peak_mib or 0, used)
            self.stopping.wait(self.interval)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exception):
        self.stopping.set()
        self.thread.join(timeout=10)


def read_run(path):
    """One run's record from its logs, read defensively (fields a given product version may lack are left out)."""
    try:
        with open(path, encoding="utf-8") as handle:
            logs = json.load(handle)
    except (OSError, ValueError):
        return {"status": "unreadable logs", "logs": path}
    devices = logs.get("devices") if isinstance(logs.get("devices"), list) else []
    last = devices[-1] if devices and isinstance(devices[-1], dict) else {}
    versions = logs.get("versions") if isinstance(logs.get("versions"), dict) else {}
    platform = last.get("platform") or versions.get("device")
    name = last.get("name")
    device = f"{name} ({platform})" if name and platform else (platform or name)
    config = logs.get("config") if isinstance(logs.get("config"), dict) else {}
    return {"seed": logs.get("seed"), "status": logs.get("status"), "failure": logs.get("failureReason"),
            "device": device, "platform": platform, "precision": last.get("precision") or config.get("precision"),
            "epoch_s": logs.get("epochSeconds"), "started": logs.get("startedAt"), "finished": logs.get("finishedAt"),
            "training_examples": (logs.get("dataset") or {}).get("trainExamples"), "versions": versions}


def stop_group(process):
    """Stops Sweep.py and the MaskTrainer.py processes it started (its own process group)."""
    for stop_signal, wait in ((signal.SIGINT, 10), (signal.SIGKILL, 10)):  # SIGINT: Sweep.py saves its runs
        try:
            os.killpg(process.pid, stop_signal)
            process.wait(timeout=wait)
            return
        except ProcessLookupError:
            return
        except subprocess.TimeoutExpired:
            continue


def run_sweep(device, mnist_dir, limit, run_count, timeout, folder, timeout_reason):
    """The row: {"status", "reason", "runs", "finished", "all_on_gpu", "wall_s", ...}; run_count runs, as many
    workers."""
    grid = write_grid(folder, mnist_dir, limit, run_count)
    output = os.path.join(folder, "sweep-outputs")
    arguments = ["Sweep.py", grid, "--workers", str(run_count), "--keras-backend", "jax", "--outputpath", output,
                 "--device", device, *(["--data-dir", mnist_dir] if mnist_dir else [])]
    environment = dict(os.environ, KERAS_BACKEND="jax", PYTHONUNBUFFERED="1")
    row = {"command": " ".join(["python", *arguments])}
    print(f"   {row['command']}", flush=True)
    started = time.perf_counter()
    with MemoryWatch() if device == "gpu" else _NoWatch() as watch:
        process = subprocess.Popen([sys.executable, *arguments], cwd=REPO, env=environment, start_new_session=True)
        try:
            exit_code = process.wait(timeout=max(timeout, 1))
        except subprocess.TimeoutExpired:
            stop_group(process)
            exit_code = None
    row["wall_s"] = round(time.perf_counter() - started, 2)
    row["exit_code"] = exit_code
    row["peak_memory_bytes"] = watch.peak_mib * 2**20 if watch.peak_mib else None
    row["runs_asked"] = run_count
    runs = sorted((read_run(path) for path in glob.glob(os.path.join(output, "**", "*_logs.json"), recursive=True)),
                  key=lambda run: run.get("seed") or 0)
    row["runs"] = runs
    row["finished"] = sum(run.get("status") == "finished" for run in runs)
    row["all_on_gpu"] = bool(runs) and all(run.get("platform") in ("gpu", "cuda") for run in runs)
    row["device_name"] = ", ".join(sorted({run["device"] for run in runs if run.get("device")}))
    row["training_examples"] = runs[0].get("training_examples") if runs else None
    row["versions"] = {name: value for run in runs for name, value in run.get("versions", {}).items()
                       if name in ("jax", "jaxlib", "keras")}
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
        where = ", ".join(f"seed {run.get('seed')}: {run.get('device') or 'no device recorded'}" for run in runs)
        return {"status": "failed", "reason": f"Not every run trained on the GPU ({where})."}
    return {"status": "measured"}


class _NoWatch:
    peak_mib = None

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        pass
