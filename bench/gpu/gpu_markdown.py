"""The Markdown report of the GPU check (gpu_check.md): the tables of its rows, packs, sharing rows and grids' rows,
the pre-flight findings and the targets judged (gpu_report.py computes them)."""

import gpu_grid_rows
from gpu_report import (
    PACK_EPOCHS_PER_RUN,
    PACKED,
    SHARING_RUNS,
    SMOKE_BANNER,
    TESTED_JAX,
    contender_label,
    pack_ratio,
    timed,
)


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
    if row["status"] == "partial" and "epochs_asked" in row:  # a row of epochs (not the gridtime row)
        text += f": {len(row.get('epoch_s', []))} of {row['epochs_asked']} timed epochs"
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
