"""Ratios, targets and the Markdown report of the GPU check's results (gpu_check.py).

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
        return CONTENDERS["runner"] + (", autotuning cache written" if row["autotune"] == 1 else
                                       ", autotuning cache read")
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


def mebibytes(value):
    return "n/a" if value is None else f"{value / 2**20:,.0f}"


def _determinism(row):
    if row["contender"] == "torch":
        return "PyTorch defaults"
    if row.get("autotune"):
        return "on, autotuned"
    return "on" if row.get("deterministic") is not False else "off"


def _status(row):
    text = row["status"]
    if row["status"] == "partial":
        text += f": {len(row.get('epoch_s', []))} of {row.get('epochs_asked', '?')} timed epochs"
    return text + (f": {row['reason']}" if row.get("reason") else "")


def contender_row(row):
    """One table line: network, contender, precision, determinism, device, training images, median, min, warm-up,
    the row's whole process (start-up, data, compilation, epochs), peak memory, status."""
    label = contender_label(row) + (", channels-last" if row["contender"] == "torch"
                                           and row["network"] != "LeNet" else "")
    images, median, minimum, warm_up = "", "", "", ""
    if row["contender"] == "sweep":
        count = row.get("runs_asked", SHARING_RUNS)
        label = f"{count} runs sharing the device: `Sweep.py --workers {count}`" + (
            ", with MPS" if row.get("mps") else ", time-sliced" if "mps" in row else "")
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


def pack_lines(report):
    """The pack rows' table and the conv forms' table (none when the pack group was not planned)."""
    rows = report["rows"]
    packs = [row for row in rows.values() if row["contender"] == "pack"]
    lines = []
    if packs:
        lines += ["", f"Packed runs (`--pack N`, the product's code path): FreePruning, batch 25; each epoch "
                  "trained, then recorded (write-back, evaluation of the validation and test splits, mask statistics, "
                  f"every member's logs and checkpoint); runs per hour = N x 3600 / ({PACK_EPOCHS_PER_RUN} x epoch s); "
                  "x solo = that over the solo runner's (N = 1) of the same network:", "",
                  "| network | N | device | training / val / test images | training s/epoch | record s/epoch | epoch s "
                  "(median) | runs per hour | x solo | x solo, training only | warm-up epoch s | whole row s | "
                  "peak device memory MiB | estimated MiB (training/pack_memory.py) | status |",
                  "| --- | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
                  "| --- |"]
        for row in packs:
            figures = [""] * 7
            if timed(row) is not None:
                ratio, training_ratio = pack_ratio(rows, row), pack_ratio(rows, row, training_only=True)
                figures = [f"{row['median_train_s']:.3f}", f"{row['median_record_s']:.3f}", f"{row['median_s']:.3f}",
                           f"{row['runs_per_hour']:,.1f}", "" if ratio is None else f"{ratio:.2f}",
                           "" if training_ratio is None else f"{training_ratio:.2f}", f"{row['warm_up_s']:.1f}"]
            images = (f"{row['training_examples']:,} / {row['validation_examples']:,} / {row['test_examples']:,}"
                      if row.get("validation_examples") is not None else "")
            measured = row["status"] in ("measured", "partial")
            size = str(row["pack"]) + (f" ({row['form']})" if row.get("form") else "")
            cells = [row["network"], size, row.get("device_name") or "", images, *figures,
                     f"{row['process_s']:.0f}" if row.get("process_s") is not None else "",
                     mebibytes(row.get("peak_memory_bytes")) if measured else "",
                     mebibytes(row.get("estimated_memory_bytes")) if row.get("estimated_memory_bytes") else "",
                     _status(row)]
            lines.append("| " + " | ".join(cells) + " |")
    for row in rows.values():
        if row["contender"] != "conv-forms":
            continue
        lines += ["", f"Conv6's six convolutions (relu, max-pooling; plain kernels, no masks, no optimizer), one "
                  f"training step (forward + backward) of {row.get('members')} members at batch "
                  f"{row.get('batch_size', '?')}, on {row.get('device_name') or '?'}: {_status(row)}"]
        if row.get("forms"):
            lines += ["", "| form | s per step of all members | per member s | x the loop | compile s |",
                      "| --- | ---: | ---: | ---: | ---: |"]
            for form, figures in row["forms"].items():
                lines.append(f"| {form} | {figures['seconds']:.5f} | {figures['per_member_s']:.5f} | "
                             f"{figures.get('over_loop', 1.0):.2f} | {figures['compile_s']:.1f} |")
            lines += ["", "loop: each member's step compiled alone, N calls; vmap: PackedJaxSteps' form (grouped "
                      "convolutions); folded: the members folded into the channels by hand (feature_group_count=N); "
                      "lax.map and unrolled: the members one after another inside one compiled program."]
    return lines


def preflight_lines(preflight):
    lines = []
    for name, finding in preflight.items():
        text = "ok" if finding.get("ok") else f"unusable: {finding.get('reason')}"
        details = "; ".join(f"{key} {value}" for key, value in finding.get("details", {}).items() if value)
        lines.append(f"- pre-flight {name}: {text}" + (f" ({details})" if details else ""))
    return lines


def markdown(report):
    lines = ["# GPU check: LeNet-300-100, Conv6 and ResNet20 FreePruning at batch 25, the runner on JAX vs PyTorch; "
             "packed runs", ""]
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
              f"the command); every row in its own process, at most {report['child_timeout_s']:.0f} s each"
              + (f" (pack and conv-forms rows {report['pack_timeout_s']:.0f} s)" if report.get("pack_timeout_s")
                 and any(row["contender"] in PACKED for row in report["rows"].values()) else ""),
              f"- each timed row: one warm-up epoch (compilation), then {report['epochs']} timed epoch(s); seconds per "
              "training epoch, each timer stopped after the device finished", *preflight_lines(report["preflight"]),
              ""]
    plain = [row for row in report["rows"].values() if row["contender"] not in PACKED]
    if plain or not report["rows"]:
        lines += ["| network | contender | precision | XLA determinism | device | training images | s/epoch median "
                  "| min | warm-up epoch s | whole row s | peak device memory MiB | status |",
                  "| --- | --- | --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |"]
        lines += [contender_row(row) for row in plain]
    for row in plain:
        if row["contender"] == "sweep":
            lines += sweep_lines(row)
    lines += pack_lines(report)[0 if plain else 1:]
    lines += gpu_grid_rows.lines(report)
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
