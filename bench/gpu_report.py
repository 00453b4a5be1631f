"""Ratios, targets and the Markdown report of bench/gpu_check.py's results (see that file).

A report is a dict: what ran (device, versions, command, budget), the pre-flight findings, and `rows`, one per
planned row in the order planned, each with a status: "measured", "partial" (stopped by the budget or its timeout
after at least one timed epoch: the figures are from those epochs), "failed", "skipped" (the pre-flight found the
framework unusable) or "not run" (the budget ran out first); "reason" says why in one sentence.
"""

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
CONTENDERS = {
    "runner": "runner on JAX: `Experiment.train_epoch`",
    "torch": "PyTorch masked peer, `torch.compile`",
    "sweep": "runs sharing the device: `Sweep.py --workers N`",
}


def row_key(network, contender, precision, deterministic=True):
    """'LeNet/runner/float32', 'LeNet/runner/float32/nondeterministic', 'Conv6/torch/tf32', 'LeNet/sweep/float32'."""
    return f"{network}/{contender}/{precision}" + ("" if deterministic is not False else "/nondeterministic")


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
                             rows[key].get("device_name")))
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
    return judged


def mebibytes(value):
    return "n/a" if value is None else f"{value / 2**20:,.0f}"


def _determinism(row):
    if row["contender"] == "torch":
        return "PyTorch defaults"
    return "on" if row.get("deterministic") is not False else "off"


def _status(row):
    text = row["status"]
    if row["status"] == "partial":
        text += f": {len(row.get('epoch_s', []))} of {row.get('epochs_asked', '?')} timed epochs"
    return text + (f": {row['reason']}" if row.get("reason") else "")


def contender_row(row):
    """One table line: network, contender, precision, determinism, device, training images, median, min, warm-up,
    the row's whole process (start-up, data, compilation, epochs), peak memory, status."""
    label = CONTENDERS[row["contender"]] + (", channels-last" if row["contender"] == "torch"
                                           and row["network"] != "LeNet" else "")
    images, median, minimum, warm_up = "", "", "", ""
    if row["contender"] == "sweep":
        count = row.get("runs_asked", SHARING_RUNS)
        label = f"{count} runs sharing the device: `Sweep.py --workers {count}`"
        images = f"{row['training_examples']:,} each" if row.get("training_examples") else ""
    elif timed(row) is not None:
        images = f"{row['training_examples']:,} ({row['dataset']})"
        median, minimum, warm_up = f"{row['median_s']:.3f}", f"{row['min_s']:.3f}", f"{row['warm_up_s']:.1f}"
    whole = f"{row['process_s']:.0f}" if row.get("process_s") is not None else ""
    memory = mebibytes(row.get("peak_memory_bytes")) if row["status"] in ("measured", "partial") else ""
    cells = [row["network"], label, row["precision"], "on" if row["contender"] == "sweep" else _determinism(row),
             row.get("device_name") or "", images, median, minimum, warm_up, whole, memory, _status(row)]
    return "| " + " | ".join(cells) + " |"


def sweep_lines(row):
    if not row.get("runs"):
        return []
    lines = ["", f"`{row.get('command', 'Sweep.py')}` ({row.get('wall_s', 0):.1f} s wall, Sweep.py's process "
             "start to end):", "", "| seed | status | device | epoch s (training + evaluation) | "
             "started - finished |", "| ---: | --- | --- | ---: | --- |"]
    for run in row["runs"]:
        seconds = ", ".join(f"{value:.2f}" for value in run.get("epoch_s") or [])
        when = " - ".join(str(run.get(name) or "?") for name in ("started", "finished"))
        lines.append(f"| {run.get('seed', '?')} | {run.get('status', '?')} | {run.get('device') or 'not recorded'} | "
                     f"{seconds} | {when} |")
    return lines


def preflight_lines(preflight):
    lines = []
    for name, finding in preflight.items():
        text = "ok" if finding.get("ok") else f"unusable: {finding.get('reason')}"
        details = "; ".join(f"{key} {value}" for key, value in finding.get("details", {}).items() if value)
        lines.append(f"- pre-flight {name}: {text}" + (f" ({details})" if details else ""))
    return lines


def markdown(report):
    lines = ["# GPU check: LeNet-300-100, Conv6 and ResNet20 FreePruning at batch 25, the runner on JAX vs PyTorch",
             ""]
    if report["smoke"]:
        lines += [SMOKE_BANNER, ""]
    versions = ", ".join(f"{name} {value}" for name, value in sorted(report["versions"].items()) if value)
    jax_version = report["versions"].get("jax")
    lines += [f"- date: {report['date']}; device asked: {report['device_asked']}; found: "
              f"{', '.join(report['devices']) or 'none'}"
              + (f" (nvidia-smi: {report['nvidia_smi']})" if report.get("nvidia_smi") else ""),
              f"- versions: {versions}"
              + (f" (this project is tested on jax {TESTED_JAX}; this ran on jax {jax_version})"
                 if jax_version and jax_version != TESTED_JAX else ""),
              f"- command: `{report['command']}`",
              f"- time: {report['elapsed_s']:.0f} s of a {report['budget_s']:.0f} s budget (counted from the start of "
              f"the command); every row in its own process, at most {report['child_timeout_s']:.0f} s each",
              f"- each timed row: one warm-up epoch (compilation), then {report['epochs']} timed epoch(s); seconds per "
              "training epoch, each timer stopped after the device finished", *preflight_lines(report["preflight"]),
              ""]
    lines += ["| network | contender | precision | XLA determinism | device | training images | s/epoch median "
              "| min | warm-up epoch s | whole row s | peak device memory MiB | status |",
              "| --- | --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    lines += [contender_row(row) for row in report["rows"].values()]
    for row in report["rows"].values():
        if row["contender"] == "sweep":
            lines += sweep_lines(row)
    if report["ratios"]:
        lines += ["", "| ratio | value |", "| --- | ---: |"]
        lines += [f"| {name} | {value:.3f} |" for name, value in report["ratios"].items()]
    lines += ["", "| target | status | measured |", "| --- | --- | ---: |"]
    for target in report["targets"]:
        value = "" if target["value"] is None else f"{target['value']:g} ({target['unit']})"
        lines.append(f"| {target['target']} | {target['status']} | {value} |")
    lines += ["", "Precision: the runner's rows run with its `--precision` (RunConfig.precision, JAX's "
              "`jax_default_matmul_precision`); the PyTorch rows set `torch.backends.cuda.matmul.allow_tf32`, "
              "`torch.backends.cudnn.allow_tf32` and `torch.set_float32_matmul_precision` to match. Peak device "
              "memory: JAX `memory_stats()['peak_bytes_in_use']` (preallocation off), torch `max_memory_allocated()`, "
              "both with the training set on the device; for the runs sharing the GPU, the most nvidia-smi showed "
              "in use on the GPU while they ran; n/a on a CPU."]
    if not report["complete"]:
        lines += ["", "**Incomplete:** a row failed, was skipped, or the budget ended before every row was measured."]
    if report["smoke"]:
        lines += ["", SMOKE_BANNER]
    return "\n".join(lines)
