"""The GPU check's rows about grids (issue 37): what a GPU's hour is worth when the unit of work is a grid.

- `autotune`: the runner with XLA's autotuning results persisted (devices/autotune_cache.py), each network three
  times in three processes: the first call tunes and writes the cache, the second reads it, and the third reads the
  compiled programs that the second kept in JAX's compilation cache (MASKTRAINER_JAX_CACHE,
  devices/compilation_cache.py) beside it. All three must give the same losses and accuracies, epoch by epoch
  (FreePruning's score gradients go through the convolutions' kernel gradients); the second's epoch time against the
  non-deterministic row's is the cost of determinism with the cache; the third's warm-up against the second's is
  what a grid's next run saves of its compilation.
- `forms`: the pack forms (training/pack_forms.py) side by side: Conv6 packs of 8 in vmap (the pack group's row),
  unrolled and folded; ResNet20 alone and packs of 4 in vmap and folded.
- `workers`: Conv6 and ResNet20 runs sharing the GPU through `Sweep.py --workers 4`, time-sliced, and, where
  `nvidia-cuda-mps-control` exists, again with an MPS daemon of the check's own (its pipe folder in the check's
  temporary folder, so that only these runs are its clients; stopped afterwards).
- `gridtime`: bench/grid_time.py on the GPU: the paper's grids' hours, each network in its fastest setting.

A session's device time holds two calls of the grid groups (bench/README.md, "The grids' calls"):
`--rows determinism,autotune,workers`, then `--rows forms,gridtime`.
"""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys

GPU = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(GPU))
GRID_GROUPS = ("autotune", "forms", "workers", "gridtime")
AUTOTUNE_VARIABLE = "MASKTRAINER_XLA_AUTOTUNE_CACHE"
COMPILATION_VARIABLE = "MASKTRAINER_JAX_CACHE"
# A compilation cache the check's own environment names would let the first call read its programs without tuning;
# JAX's settings of one (JAX_PERSISTENT_CACHE_*) would change what the second keeps and where the tuning goes.
USER_COMPILATION_VARIABLES = (COMPILATION_VARIABLE, "JAX_COMPILATION_CACHE_DIR")
AUTOTUNE_CALLS = (1, 2, 3)  # tunes; reads the autotuning cache (and keeps its programs); reads both
FORM_VARIABLE = "MASKTRAINER_PACK_FORM"
AUTOTUNE_MAX_COST = 1.10  # deterministic with the cache / non-deterministic (the target)
FORMS_CONV6 = (8, ("unrolled", "folded"))  # N, the forms beside the pack group's (vmap on a GPU)
FORMS_RESNET20 = (4, ("vmap", "folded"))
WORKER_NETWORKS = ("Conv6", "ResNet20")
MPS_CONTROL = "nvidia-cuda-mps-control"
PACK_FORM_TARGET = ("Conv6", 8, 1.5)  # the best form's whole-epoch runs per hour over one solo run
# The networks in the order of their share of the grids' hours (ResNet20 more than half on an H200), so that a
# gridtime row stopped by its time limit has measured the ones that matter most.
GRID_TIME_ORDER = ("ResNet20", "Conv6", "Conv4", "Conv2", "LeNet")


def plan(args, group, rows, add_row):
    """Adds the rows of one of the grid groups through add_row(key, row); rows: those planned so far."""
    if group == "autotune":
        for network in args.networks:
            for call in AUTOTUNE_CALLS:
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
    """A row's process environment: the pack form it asks for; the autotuning cache its network's three calls share,
    and the compilation cache that the second call writes and the third reads."""
    environ = dict(base)
    if row.get("form"):
        environ[FORM_VARIABLE] = row["form"]
    if row.get("autotune"):
        for variable in [name for name in environ if name in USER_COMPILATION_VARIABLES
                         or name.startswith("JAX_PERSISTENT_CACHE_")]:
            environ.pop(variable)
        environ[AUTOTUNE_VARIABLE] = os.path.join(folder, "autotune-cache")
        if row["autotune"] > 1:
            environ[COMPILATION_VARIABLE] = os.path.join(folder, "compilation-cache")
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
    """The gridtime row: bench/grid_time.py on this device, its table kept in the row; what it measured before its
    time limit is kept too (it writes its table after each network)."""
    output = os.path.join(folder, "grid_time.json")
    # A smoke run times LeNet alone, in the smallest settings: it shows the row's path, not the grids' hours.
    command = [sys.executable, os.path.join(os.path.dirname(GPU), "grid_time.py"), "--device", args.device,
               "--output", output, "--epochs", "1", "--examples", str(args.grid_time_examples),
               *(["--nets", "LeNet", "--packs", "2", "--workers", "2"] if args.smoke else
                 ["--nets", ",".join(GRID_TIME_ORDER), "--packs", "4,8", "--workers", "4"])]
    print("   " + " ".join(command), flush=True)
    process = subprocess.Popen(command, cwd=REPO, start_new_session=True)
    try:
        code = process.wait(timeout=max(timeout, 1))
    except subprocess.TimeoutExpired:
        code = None
    finally:  # its settings' processes with it, whatever stopped it (Ctrl-C too): the device is free for the next row
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    why = "stopped by its time limit" if code is None else f"exited with code {code}"
    if not os.path.isfile(output):
        return {"status": "failed" if code is not None else "stopped", "reason": f"bench/grid_time.py {why} before "
                "writing its table."}
    with open(output, encoding="utf-8") as handle:
        result = json.load(handle)
    hours = {network: measured["best_hours"] for network, measured in result["networks"].items()}
    row = {"status": "measured", "grid_time": result, "best_hours": hours,
           "total_hours": round(sum(value or 0.0 for value in hours.values()), 2),
           "device_name": ", ".join(result.get("devices") or [])}
    if not result.get("complete"):
        row.update(status="partial", reason=f"bench/grid_time.py {why} after {', '.join(hours) or 'no network'}")
    return row


# The report ------------------------------------------------------------------------------------------------------
def autotune_calls(rows):
    """{network: [first call's row, second's, third's]} of the autotune group (None for a call not planned)."""
    calls = {}
    for row in rows.values():
        if row.get("autotune"):
            calls.setdefault(row["network"], [None] * len(AUTOTUNE_CALLS))[row["autotune"] - 1] = row
    return calls


def same_curves(calls):
    """(identical, what was compared, why not judged): whether the calls that trained gave the same loss and accuracy
    as each other at every epoch that all of them trained (a call cut short by the budget is compared on the epochs it
    has; one that was not reached is left out), False where a call failed, None when fewer than two trained."""
    failed = [(number, call) for number, call in enumerate(calls, 1) if (call or {}).get("status") == "failed"]
    if failed:
        number, call = failed[0]
        return False, f"call {number} failed: {call.get('reason', 'no reason given')}", None
    trained = [(number, call["loss_accuracy"]) for number, call in enumerate(calls, 1)
               if (call or {}).get("loss_accuracy")]
    if len(trained) < 2:
        return None, "", "fewer than two calls trained an epoch"
    epochs = min(len(curve) for _, curve in trained)
    identical = all(curve[:epochs] == trained[0][1][:epochs] for _, curve in trained)
    return identical, (f"identical over {epochs} epoch(s) (calls {', '.join(str(number) for number, _ in trained)})"
                       ), None


def _ratio(numerator, denominator, field):
    if (numerator or {}).get(field) and (denominator or {}).get(field):
        return round(numerator[field] / denominator[field], 3)
    return None


def ratios(rows, row_key):
    values = {}
    for network, (first, second, third) in autotune_calls(rows).items():
        free = rows.get(row_key(network, "runner", "float32", False))
        named = {
            f"{network}, runner float32: deterministic with the autotuning cache / non-deterministic":
                _ratio(second, free, "median_s"),
            f"{network}, runner: warm-up epoch reading the cache / tuning it": _ratio(second, first, "warm_up_s"),
            f"{network}, runner: warm-up epoch reading the compiled programs too / compiling them":
                _ratio(third, second, "warm_up_s"),
            f"{network}, runner: whole process reading the compiled programs too / compiling them":
                _ratio(third, second, "process_s"),
            f"{network}, runner: s/epoch of the compiled programs read / compiled": _ratio(third, second, "median_s")}
        values.update({name: value for name, value in named.items() if value is not None})
    return values


def targets(rows, row_key, judge, absent, pack_ratio):
    judged = []
    for network, calls in autotune_calls(rows).items():
        second = calls[1]
        free_key = row_key(network, "runner", "float32", False)
        second_key = f"{network}/runner/float32/autotuned-2"
        missing = absent(rows, second_key) or (absent(rows, free_key) if free_key in rows else
                                               f"{free_key} was not planned (add determinism to --rows)")
        value = None if missing else round(second["median_s"] / rows[free_key]["median_s"], 3)
        identical, compared, why_not = same_curves(calls)
        judged.append(judge(f"{network} runner: deterministic with the autotuning cache, at most "
                            f"{AUTOTUNE_MAX_COST - 1:.0%} slower than non-deterministic", missing, value,
                            "cached / non-deterministic", value is not None and value <= AUTOTUNE_MAX_COST,
                            (second or {}).get("device_name")))
        judged.append(judge(f"{network} runner: processes tuning, reading the autotuning cache and reading the "
                            "compiled programs give identical losses and accuracies", why_not,
                            identical, compared, identical is True,
                            (second or {}).get("device_name")))
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
    """The autotune calls' and the grid time's lines of the Markdown report."""
    rows, text = report["rows"], []
    calls = autotune_calls(rows)
    if calls:
        text += ["", "Autotuned deterministic kernels (`MASKTRAINER_XLA_AUTOTUNE_CACHE`, devices/autotune_cache.py) "
                 "and compiled programs kept (`MASKTRAINER_JAX_CACHE`, devices/compilation_cache.py): three processes "
                 "per network; the first tunes and writes the autotuning cache, the second reads it and keeps its "
                 "compiled programs, the third reads both:", "",
                 "| network | warm-up s: tuning, reading, programs read | s/epoch: reading, programs read | "
                 "process s: tuning, reading, programs read | identical curves | XLA_FLAGS |",
                 "| --- | --- | --- | --- | --- | --- |"]
        for network, (first, second, third) in calls.items():
            def figures(field, places, *chosen):
                return " / ".join(f"{row[field]:.{places}f}" if (row or {}).get(field) is not None
                                  else (row or {}).get("status", "not planned") for row in chosen)
            identical, compared, why_not = same_curves((first, second, third))
            cells = [network, figures("warm_up_s", 1, first, second, third), figures("median_s", 3, second, third),
                     figures("process_s", 0, first, second, third), f"{identical}: {compared or why_not}",
                     f"`{(second or first or {}).get('xla_flags', '')}`"]
            text.append("| " + " | ".join(cells) + " |")
    for row in rows.values():
        if row["contender"] == "gridtime":
            text += ["", f"The paper's grids (bench/grid_time.py): {row['status']}"
                     + (f": {row['reason']}" if row.get("reason") else "")]
            if row.get("grid_time"):
                from grid_time import markdown
                text += ["", *markdown(row["grid_time"]).splitlines()[2:]]
    return text
