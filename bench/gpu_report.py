"""Ratios, targets and the Markdown report of bench/gpu_check.py's results (see that file)."""

CIFAR10_TRAINING_EXAMPLES = 45_000
CONV6_TARGET_SECONDS = 3.0
SMOKE_BANNER = ("**SMOKE RUN (--quick or --device cpu): NOT A GPU RESULT.** Small data or the CPU: it only shows that "
                "the check runs end to end; its timings stand for nothing.")
LABELS = {
    "runner": "runner on JAX: `Experiment.train_epoch` (deterministic XLA kernels, the default)",
    "runner_nondeterministic": "runner on JAX, `XLA_FLAGS=--xla_gpu_deterministic_ops=false`",
    "torch": "PyTorch masked peer, `torch.compile`",
}


def contender_key(network, name):
    return f"{network}/{name}"


def median(results, network, name):
    result = results.get(contender_key(network, name)) or {}
    return result.get("median_s")


def ratios(results, networks):
    values = {}
    for network in networks:
        runner, torch, free = (median(results, network, name)
                               for name in ("runner", "torch", "runner_nondeterministic"))
        if runner and torch:
            values[f"{network}: runner / torch"] = round(runner / torch, 3)
        memory = [(results.get(contender_key(network, name)) or {}).get("peak_memory_bytes")
                  for name in ("runner", "torch")]
        if all(memory):
            values[f"{network}: runner / torch peak device memory"] = round(memory[0] / memory[1], 3)
        if runner and free:
            values[f"{network}: runner deterministic / non-deterministic (cost of determinism)"] = \
                round(runner / free, 3)
    return values


def targets(results, smoke):
    """The issue's targets, each {"target", "status": met / missed / not judged: why, "value", "unit"}."""
    judged = []
    conv6 = results.get(contender_key("Conv6", "runner")) or {}
    target = f"Conv6 runner epoch (45,000 images, batch 25) at most {CONV6_TARGET_SECONDS:g} s on an H100"
    if smoke:
        judged.append({"target": target, "status": "not judged: smoke run", "value": None})
    elif "median_s" not in conv6:
        judged.append({"target": target, "status": "not judged: no Conv6 runner result", "value": None})
    elif conv6["training_examples"] != CIFAR10_TRAINING_EXAMPLES:
        judged.append({"target": target, "status": f"not judged: {conv6['training_examples']:,} training images, "
                       f"not {CIFAR10_TRAINING_EXAMPLES:,}", "value": conv6["median_s"], "unit": "s/epoch"})
    else:
        status = "met" if conv6["median_s"] <= CONV6_TARGET_SECONDS else "missed"
        if "H100" not in conv6["device_name"]:
            status += f" (on {conv6['device_name']}, not an H100)"
        judged.append({"target": target, "status": status, "value": conv6["median_s"], "unit": "s/epoch"})
    runner, torch = median(results, "LeNet", "runner"), median(results, "LeNet", "torch")
    target = "LeNet-300-100 runner on JAX faster per epoch than the torch.compile peer"
    if smoke:
        judged.append({"target": target, "status": "not judged: smoke run", "value": None})
    elif runner is None or torch is None:
        judged.append({"target": target, "status": "not judged: a LeNet result is missing", "value": None})
    else:
        judged.append({"target": target, "status": "met" if runner < torch else "missed",
                       "value": round(runner / torch, 3), "unit": "runner / torch"})
    return judged


def mebibytes(value):
    return "n/a" if value is None else f"{value / 2**20:,.0f}"


def contender_row(network, name, result):
    label = LABELS[name] + (", channels-last" if name == "torch" and network != "LeNet" else "")
    if "median_s" not in result:
        return f"| {network} | {label} | | failed: {result.get('error', 'no result')} | | | |"
    return (f"| {network} | {label} | {result['training_examples']:,} ({result['dataset']}) | "
            f"{result['median_s']:.3f} | {result['min_s']:.3f} | {result['warm_up_s']:.1f} | "
            f"{mebibytes(result.get('peak_memory_bytes'))} |")


def markdown(report):
    lines = ["# GPU check: LeNet-300-100 and Conv6 FreePruning, batch 25, the runner on JAX vs PyTorch", ""]
    if report["smoke"]:
        lines += [SMOKE_BANNER, ""]
    versions = ", ".join(f"{name} {value}" for name, value in sorted(report["versions"].items()) if value)
    lines += [f"- date: {report['date']}", f"- device: {', '.join(report['devices']) or 'unknown'}"
              + (f" (nvidia-smi: {report['nvidia_smi']})" if report.get("nvidia_smi") else ""),
              f"- versions: {versions}", f"- command: `{report['command']}`",
              f"- each contender in its own process: one warm-up epoch (compilation), then {report['epochs']} timed "
              "epoch(s); seconds per training epoch, the timer stopped after the device finished", ""]
    lines += ["| network | contender | training images (data set) | s/epoch median | min | warm-up epoch s "
              "| peak device memory MiB |", "| --- | --- | --- | ---: | ---: | ---: | ---: |"]
    for key, result in report["contenders"].items():
        network, name = key.split("/")
        lines.append(contender_row(network, name, result))
    if report["ratios"]:
        lines += ["", "| ratio | value |", "| --- | ---: |"]
        lines += [f"| {name} | {value:.3f} |" for name, value in report["ratios"].items()]
    lines += ["", "| target | status | measured |", "| --- | --- | ---: |"]
    for target in report["targets"]:
        value = "" if target["value"] is None else f"{target['value']:.3f} ({target['unit']})"
        lines.append(f"| {target['target']} | {target['status']} | {value} |")
    lines += ["", "Peak device memory: JAX `memory_stats()['peak_bytes_in_use']` (preallocation off), torch "
              "`max_memory_allocated()`; both include the training set held on the device; n/a on a CPU."]
    if not report["complete"]:
        lines += ["", "**Incomplete:** the check stopped or a contender failed before every row was measured."]
    if report["smoke"]:
        lines += ["", SMOKE_BANNER]
    return "\n".join(lines)
