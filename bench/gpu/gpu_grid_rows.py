"""The GPU check's rows about grids (issue 37): what a GPU's hour is worth when the unit of work is a grid.

- `autotune`: the runner with XLA's autotuning results persisted (devices/autotune_cache.py), each network twice in
  two processes: the first call tunes and writes the cache, the second reads it. Both must give the same losses and
  accuracies, epoch by epoch (FreePruning's score gradients go through the convolutions' kernel gradients); the
  second's epoch time against the non-deterministic row's is the cost of determinism with the cache.
- `forms`: the pack forms (training/pack_forms.py) side by side: Conv6 packs of 8 in vmap (the pack group's row),
  unrolled and folded; ResNet20 alone and packs of 4 in vmap and folded.
- `workers`: Conv6 and ResNet20 runs sharing the GPU through `Sweep.py --workers 4`, time-sliced, and, where
  `nvidia-cuda-mps-control` exists, again with an MPS daemon of the check's own (its pipe folder in the check's
  temporary folder, so that only these runs are its clients; stopped afterwards).
- `gridtime`: bench/grid_time.py on the GPU: the paper's grids' hours, each network in its fastest setting.

A session's device time holds two calls of the check (bench/README.md, "The grids' call"): the default groups, then
`--rows determinism,autotune,forms,workers,gridtime --budget-s 420`.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys

GPU = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(GPU))
GRID_GROUPS = ("autotune", "forms", "workers", "gridtime")
AUTOTUNE_VARIABLE = "MASKTRAINER_XLA_AUTOTUNE_CACHE"
FORM_VARIABLE = "MASKTRAINER_PACK_FORM"
AUTOTUNE_MAX_COST = 1.10  # deterministic with the cache / non-deterministic (the target)
FORMS_CONV6 = (8, ("unrolled", "folded"))  # N, the forms beside the pack group's (vmap on a GPU)
FORMS_RESNET20 = (4, ("vmap", "folded"))
WORKER_NETWORKS = ("Conv6", "ResNet20")
MPS_CONTROL = "nvidia-cuda-mps-control"
PACK_FORM_TARGET = ("Conv6", 8, 1.5)  # the best form's whole-epoch runs per hour over one solo run


def plan(args, group, rows, add_row):
    """Adds the rows of one of the grid groups through add_row(key, row); rows: those planned so far."""
    if group == "autotune":
        for network in args.networks:
            for call in (1, 2):
                add_row(f"{network}/runner/float32/autotuned-{call}",
                        {"network": network, "contender": "runner", "precision": "float32", "deterministic": True,
                         "autotune": call})
    elif group == "forms":
        for network, (count, forms) in (("Conv6", FORMS_CONV6), ("ResNet20", FORMS_RESNET20)):
            if network not in args.networks:
                continue
            for size, form in ((1, None), (count, None), *((count, form) for form in forms)):
                key = f"{network}/pack{size}/float32" + (f"/{form}" if form else "")
                if key not in rows and not (form == "vmap" and args.device == "gpu"):  # vmap: the chosen form
                    add_row(key, {"network": network, "contender": "pack", "precision": "float32",
                                  "deterministic": True, "pack": size, "form": form})
    elif group == "workers":
        for network in WORKER_NETWORKS:
            if network in args.networks:
                for mps in (False, True):
                    add_row(f"{network}/sweep/float32" + ("/mps" if mps else ""),
                            {"network": network, "contender": "sweep", "precision": "float32",
                             "deterministic": True, "mps": mps})
    elif group == "gridtime":
        add_row("all/gridtime", {"network": "all", "contender": "gridtime", "precision": "float32",
                                 "deterministic": True})


def environment(row, base, folder):
    """A row's process environment: the pack form it asks for, the autotuning cache it shares with its twin."""
    environ = dict(base)
    if row.get("form"):
        environ[FORM_VARIABLE] = row["form"]
    if row.get("autotune"):
        environ[AUTOTUNE_VARIABLE] = os.path.join(folder, "autotune-cache")
    return environ


@contextlib.contextmanager
def mps_daemon(folder):
    """An MPS control daemon of the check's own: yields the variables that make a process its client, or raises
    RuntimeError in one sentence where none can start. Quit afterwards, whatever happened."""
    control = shutil.which(MPS_CONTROL)
    if control is None:
        raise RuntimeError(f"{MPS_CONTROL} is not on this machine's PATH, so no MPS daemon can start here.")
    variables = {"CUDA_MPS_PIPE_DIRECTORY": os.path.join(folder, "mps-pipe"),
                 "CUDA_MPS_LOG_DIRECTORY": os.path.join(folder, "mps-log")}
    for path in variables.values():
        os.makedirs(path, exist_ok=True)
    environ = dict(os.environ, **variables)
    started = subprocess.run([control, "-d"], env=environ, capture_output=True, text=True, timeout=30)
    if started.returncode != 0:
        raise RuntimeError(f"{MPS_CONTROL} -d exited with code {started.returncode}: "
                           f"{(started.stderr or started.stdout).strip()[:200]}")
    try:
        yield variables
    finally:
        subprocess.run([control], input="quit\n", env=environ, capture_output=True, text=True, timeout=30)


def run_grid_time(args, timeout, folder):
    """The gridtime row: bench/grid_time.py on this device, its table kept in the row."""
    output = os.path.join(folder, "grid_time.json")
    # A smoke run times LeNet alone, in the smallest settings: it shows the row's path, not the grids' hours.
    command = [sys.executable, os.path.join(os.path.dirname(GPU), "grid_time.py"), "--device", args.device,
               "--output", output, "--epochs", "1", "--examples", str(args.grid_time_examples),
               *(["--nets", "LeNet", "--packs", "2", "--workers", "2"] if args.smoke else
                 ["--packs", "4,8", "--workers", "4"])]
    print("   " + " ".join(command), flush=True)
    try:
        finished = subprocess.run(command, cwd=REPO, timeout=max(timeout, 1), start_new_session=True)
        code = finished.returncode
    except subprocess.TimeoutExpired:
        code = None
    if not os.path.isfile(output):
        why = "stopped by its time limit" if code is None else f"exited with code {code}"
        return {"status": "failed" if code is not None else "stopped", "reason": f"bench/grid_time.py {why} before "
                "writing its table."}
    with open(output, encoding="utf-8") as handle:
        result = json.load(handle)
    hours = {network: measured["best_hours"] for network, measured in result["networks"].items()}
    return {"status": "measured", "grid_time": result, "best_hours": hours,
            "total_hours": round(sum(value or 0.0 for value in hours.values()), 2),
            "device_name": ", ".join(result.get("devices") or [])}


# The report ------------------------------------------------------------------------------------------------------
def autotune_pairs(rows):
    """{network: (first call's row, second call's row)} of the autotune group."""
    pairs = {}
    for row in rows.values():
        if row.get("autotune"):
            pairs.setdefault(row["network"], [None, None])[row["autotune"] - 1] = row
    return pairs


def same_curves(first, second):
    """Whether two calls gave the same loss and accuracy at every epoch (None when either has none)."""
    if not (first or {}).get("loss_accuracy") or not (second or {}).get("loss_accuracy"):
        return None
    return first["loss_accuracy"] == second["loss_accuracy"]


def ratios(rows, row_key):
    values = {}
    for network, (first, second) in autotune_pairs(rows).items():
        free = rows.get(row_key(network, "runner", "float32", False)) or {}
        if (second or {}).get("median_s") and free.get("median_s"):
            values[f"{network}, runner float32: deterministic with the autotuning cache / non-deterministic"] = \
                round(second["median_s"] / free["median_s"], 3)
        if (first or {}).get("warm_up_s") and (second or {}).get("warm_up_s"):
            values[f"{network}, runner: warm-up epoch reading the cache / tuning it"] = \
                round(second["warm_up_s"] / first["warm_up_s"], 3)
    return values


def targets(rows, row_key, judge, absent, pack_ratio):
    judged = []
    for network, (first, second) in autotune_pairs(rows).items():
        free_key = row_key(network, "runner", "float32", False)
        second_key = f"{network}/runner/float32/autotuned-2"
        missing = absent(rows, second_key) or (absent(rows, free_key) if free_key in rows else
                                               f"{free_key} was not planned (add determinism to --rows)")
        value = None if missing else round(second["median_s"] / rows[free_key]["median_s"], 3)
        identical = same_curves(first, second)
        judged.append(judge(f"{network} runner: deterministic with the autotuning cache, at most "
                            f"{AUTOTUNE_MAX_COST - 1:.0%} slower than non-deterministic", missing, value,
                            "cached / non-deterministic", value is not None and value <= AUTOTUNE_MAX_COST,
                            (second or {}).get("device_name")))
        judged.append(judge(f"{network} runner: two processes with the autotuning cache give identical losses and "
                            "accuracies", None if identical is not None else "a call has no epochs",
                            identical, "identical", identical is True, (second or {}).get("device_name")))
    network, count, least = PACK_FORM_TARGET
    candidates = [row for row in rows.values() if row["contender"] == "pack" and row["network"] == network
                  and row["pack"] == count]
    if any(row.get("form") for row in candidates):
        measured = {row.get("form") or "chosen": pack_ratio(rows, row) for row in candidates}
        best = max((value for value in measured.values() if value is not None), default=None)
        judged.append(judge(f"{network}, a pack of {count} in its best form: at least {least:g}x the runs per hour of "
                            "one solo run (whole epochs)", None if best is not None else "no form was timed", best,
                            "x one solo run: " + ", ".join(f"{form} {value}" for form, value in measured.items()),
                            best is not None and best >= least, candidates[0].get("device_name")))
    return judged


def lines(report):
    """The autotune pairs' and the grid time's lines of the Markdown report."""
    rows, text = report["rows"], []
    pairs = autotune_pairs(rows)
    if pairs:
        text += ["", "Autotuned deterministic kernels (`MASKTRAINER_XLA_AUTOTUNE_CACHE`, devices/autotune_cache.py): "
                 "two processes per network, the first tunes and writes the cache, the second reads it:", "",
                 "| network | warm-up s, tuning | warm-up s, reading | s/epoch, reading | identical curves | "
                 "XLA_FLAGS |", "| --- | ---: | ---: | ---: | --- | --- |"]
        for network, (first, second) in pairs.items():
            cells = [network, *(f"{row['warm_up_s']:.1f}" if (row or {}).get("warm_up_s") else (row or {}).get(
                "status", "") for row in (first, second)),
                f"{second['median_s']:.3f}" if (second or {}).get("median_s") else "",
                str(same_curves(first, second)), f"`{(second or first or {}).get('xla_flags', '')}`"]
            text.append("| " + " | ".join(cells) + " |")
    for row in rows.values():
        if row["contender"] == "gridtime":
            text += ["", f"The paper's grids (bench/grid_time.py): {row['status']}"
                     + (f": {row['reason']}" if row.get("reason") else "")]
            if row.get("grid_time"):
                from grid_time import markdown
                text += ["", *markdown(row["grid_time"]).splitlines()[2:]]
    return text
