"""Ratios and targets of the GPU check's results (gpu_check.py); gpu_markdown.py writes them as Markdown.

A report is a dict: what ran (device, versions, command, budget), the pre-flight findings, and `rows`, one per
planned row in the order planned, each with a status: "measured", "partial" (stopped by the budget or its timeout
after at least one timed epoch: the figures are from those epochs), "failed", "skipped" (the pre-flight found the
framework unusable) or "not run" (the budget ran out first); "reason" says why in one sentence.
"""

import gpu_grid_rows

CIFAR10_TRAINING_EXAMPLES = 45_000
MNIST_TRAINING_EXAMPLES = 55_000
LENET_TARGET_SECONDS = 0.5
CONV6_TARGET_SECONDS = 3.0
DETERMINISM_MAX_COST = 1.25  # deterministic / non-deterministic epoch time
TARGET_DEVICE = "H200"
SHARING_RUNS = 4  # runs sharing one GPU through Sweep.py --workers 4
TESTED_JAX = "0.10.2"  # what this project's tests run on (requirements.txt)
SMOKE_BANNER = ("**SMOKE RUN (--quick or --device cpu): NOT A GPU RESULT.** Small data or the CPU: it only shows that "
                "the check runs end to end; its timings stand for nothing and no target is judged.")
PACK_TARGETS = (("LeNet", 64, 32.0), ("Conv6", 8, 3.0))  # (network, N, least runs per hour over one solo run)
PACK_EPOCHS_PER_RUN = 20  # runs per hour are of 20-epoch runs, as in bench/pack_speed.py
CONTENDERS = {
    "runner": "runner on JAX: `Experiment.train_epoch`",
    "torch": "PyTorch masked peer, `torch.compile`",
    "sweep": "runs sharing the device: `Sweep.py --workers N`",
    "pack": "N runs packed: `EpochDriver` (N = 1: a solo run)",
    "conv-forms": "Conv6's convolutions, N members in five forms",
    "gridtime": "the paper's grids: `bench/grid_time.py`",
}
PACKED = ("pack", "conv-forms")  # rows with tables of their own


def row_key(network, contender, precision, deterministic=True):
    """'LeNet/runner/float32', 'LeNet/runner/float32/nondeterministic', 'Conv6/torch/tf32', 'LeNet/sweep/float32'."""
    return f"{network}/{contender}/{precision}" + ("" if deterministic is not False else "/nondeterministic")


def contender_label(row):
    if row["contender"] == "pack":
        return f"{row['pack']} run(s) packed: " + ("the solo runner, `Experiment`" if row["pack"] == 1
                                                    else "`EpochDriver`")
    if row["contender"] == "conv-forms":
        return f"Conv6's convolutions, {row.get('members')} members in five forms"
    if row.get("autotune"):
        return CONTENDERS["runner"] + {1: ", autotuning cache written", 2: ", autotuning cache read",
                                       3: ", autotuning cache and compiled programs read"}[row["autotune"]]
    return CONTENDERS[row["contender"]]


def pack_key(network, count):
    return row_key(network, f"pack{count}", "float32")


def pack_ratio(rows, row, training_only=False):
    """Runs per hour of the pack row over the solo runner's (N = 1) of its network: N x solo epoch / pack epoch (whole
    epochs, training + record; or training alone); None without both times."""
    solo = rows.get(pack_key(row["network"], 1)) or {}
    field = "median_train_s" if training_only else "median_s"
    if not solo.get(field) or not row.get(field):
        return None
    return round(row["pack"] * solo[field] / row[field], 3)


def timed(row):
    """The row's median seconds per epoch, or None when it has no timed epoch."""
    return (row or {}).get("median_s")


def ratios(rows):
    values = {}
    networks = list(dict.fromkeys(row["network"] for row in rows.values()))
    for network in networks:
        def seconds(contender, precision, deterministic=True, network=network):
            return timed(rows.get(row_key(network, contender, precision, deterministic)))
        for precision in ("float32", "tf32"):
            runner, torch = seconds("runner", precision), seconds("torch", precision)
            if runner and torch:
                values[f"{network}, {precision}: runner / torch"] = round(runner / torch, 3)
        for contender in ("runner", "torch"):
            full, tf32 = seconds(contender, "float32"), seconds(contender, "tf32")
            if full and tf32:
                values[f"{network}, {contender}: tf32 / float32"] = round(tf32 / full, 3)
        deterministic, free = seconds("runner", "float32"), seconds("runner", "float32", False)
        if deterministic and free:
            values[f"{network}, runner float32: deterministic / non-deterministic (cost of determinism)"] = \
                round(deterministic / free, 3)
        memory = [(rows.get(row_key(network, contender, "float32")) or {}).get("peak_memory_bytes")
                  for contender in ("runner", "torch")]
        if all(memory):
            values[f"{network}, float32: runner / torch peak device memory"] = round(memory[0] / memory[1], 3)
        for row in rows.values():
            if row["network"] == network and row["contender"] == "pack" and row["pack"] > 1:
                form = f" ({row['form']})" if row.get("form") else ""
                for training_only, label in ((False, "runs per hour"), (True, "runs per hour, training only")):
                    ratio = pack_ratio(rows, row, training_only)
                    if ratio is not None:
                        values[f"{network}, pack of {row['pack']}{form}: {label} / one solo run's"] = ratio
    values.update(gpu_grid_rows.ratios(rows, row_key))
    return values


def _judge(target, smoke, missing, value, unit, met, device_name):
    if smoke:
        return {"target": target, "status": "not judged: smoke run, not a GPU result", "value": None}
    if missing:
        return {"target": target, "status": f"not judged: {missing}", "value": value, "unit": unit}
    status = "met" if met else "missed"
    if device_name and TARGET_DEVICE not in device_name:
        status += f" (on {device_name}, not an {TARGET_DEVICE})"
    return {"target": target, "status": status, "value": value, "unit": unit}


def _absent(rows, key):
    """Why the row cannot be judged (or None when it has a time)."""
    row = rows.get(key)
    if row is None:
        return f"{key} was not planned"
    if timed(row) is None:  # the row's own line gives the reason in full
        return f"{key} {row['status']}" + (" (budget)" if row.get("reason") == "budget" else "")
    return None


def targets(rows, smoke):
    """The issue's targets, each {"target", "status": met / missed / not judged: why, "value", "unit"}."""
    judged = []
    for network, seconds, examples in (("LeNet", LENET_TARGET_SECONDS, MNIST_TRAINING_EXAMPLES),
                                       ("Conv6", CONV6_TARGET_SECONDS, CIFAR10_TRAINING_EXAMPLES)):
        key = row_key(network, "runner", "float32")
        row = rows.get(key) or {}
        missing = _absent(rows, key)
        if not missing and row.get("training_examples") != examples:
            missing = f"{row.get('training_examples', 0):,} training images, not {examples:,}"
        judged.append(_judge(f"{network} runner, float32: one epoch of {examples:,} images at batch 25 in at most "
                             f"{seconds:g} s", smoke, missing, timed(row), "s/epoch",
                             (timed(row) or 0) <= seconds, row.get("device_name")))
    for precision in ("float32", "tf32"):
        runner_key, torch_key = row_key("LeNet", "runner", precision), row_key("LeNet", "torch", precision)
        if precision == "tf32" and runner_key not in rows:
            continue
        missing = _absent(rows, runner_key) or _absent(rows, torch_key)
        runner, torch = timed(rows.get(runner_key)), timed(rows.get(torch_key))
        value = round(runner / torch, 3) if runner and torch else None
        judged.append(_judge(f"LeNet runner faster per epoch than the torch.compile peer, both {precision}", smoke,
                             missing, value, "runner / torch", value is not None and value < 1,
                             (rows.get(runner_key) or {}).get("device_name")))
    for network in dict.fromkeys(row["network"] for row in rows.values()):
        free_key, key = row_key(network, "runner", "float32", False), row_key(network, "runner", "float32")
        if free_key not in rows:
            continue
        missing = _absent(rows, key) or _absent(rows, free_key)
        value = round(timed(rows[key]) / timed(rows[free_key]), 3) if not missing else None
        judged.append(_judge(f"{network} runner: determinism costs at most {DETERMINISM_MAX_COST - 1:.0%} "
                             "(deterministic / non-deterministic XLA kernels)", smoke, missing, value,
                             "deterministic / non-deterministic", value is not None and value <= DETERMINISM_MAX_COST,
                             (rows.get(key) or {}).get("device_name")))
    for network, count, least in PACK_TARGETS:
        if not any(row["network"] == network and row["contender"] == "pack" for row in rows.values()):
            continue
        key, solo_key = pack_key(network, count), pack_key(network, 1)
        missing = _absent(rows, key) or _absent(rows, solo_key)
        examples = {"LeNet": MNIST_TRAINING_EXAMPLES, "Conv6": CIFAR10_TRAINING_EXAMPLES}[network]
        for candidate in (key, solo_key):
            if not missing and rows[candidate].get("training_examples") != examples:
                missing = f"{candidate} had {rows[candidate].get('training_examples', 0):,} training images, not " \
                          f"{examples:,}"
        value = None if missing else pack_ratio(rows, rows[key])
        judged.append(_judge(f"{network}, a pack of {count}: at least {least:g}x the runs per hour of one solo run "
                             "(whole epochs: training + evaluation and record)", smoke, missing, value,
                             "x one solo run", value is not None and value >= least,
                             (rows.get(key) or {}).get("device_name")))
    sweep_key = row_key("LeNet", "sweep", "float32")
    if sweep_key in rows:
        sweep = rows[sweep_key]
        missing = None if sweep.get("runs") else (_absent(rows, sweep_key) or f"{sweep_key} found no run logs")
        if not missing and sweep.get("runs_asked") != SHARING_RUNS:
            missing = f"{sweep.get('runs_asked')} runs, not {SHARING_RUNS}"
        judged.append(_judge(f"{SHARING_RUNS} runs share the GPU through Sweep.py --workers {SHARING_RUNS}: all "
                             "finished, all on the GPU", smoke, missing, sweep.get("finished"),
                             f"runs finished of {sweep.get('runs_asked')}",
                             sweep.get("finished") == SHARING_RUNS and sweep.get("all_on_gpu") is True,
                             ", ".join(sorted({run.get("device") or "" for run in sweep.get("runs", [])}))))
    judged += gpu_grid_rows.targets(
        rows, row_key, lambda target, missing, value, unit, met, device: _judge(target, smoke, missing, value, unit,
                                                                               met, device), _absent, pack_ratio)
    return judged
