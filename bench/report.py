"""Renders a benchmark's JSON results as the Markdown tables of bench/README.md: lenet_speed.py's, conv_speed.py's
(one table per network) and pack_speed.py's.

    .venv/bin/python bench/report.py [bench/results/lenet_speed.json]
"""

import json
import os
import sys

RECORD = {"runner_eval_stats": "runner: per-epoch `record_epoch` (eval val+test, mask stats, log + checkpoint)",
          "runner_eval_val": "&nbsp;&nbsp;breakdown: evaluate val",
          "runner_eval_test": "&nbsp;&nbsp;breakdown: evaluate test",
          "runner_mask_counts": "&nbsp;&nbsp;breakdown: mask statistics"}
LENET = {"runner": "runner: `Experiment.train_epoch` (masked)",
         "keras_steps": "unmasked Keras Dense, same compiled-steps loop",
         "keras_fit": "unmasked Keras Dense, `model.fit` at Keras' defaults",
         "keras_fit_best": "unmasked Keras Dense, `model.fit` at its fastest setting",
         "torch": "PyTorch masked, `torch.compile` (peer)",
         "runner_jax": "runner on Keras' JAX backend: `Experiment.train_epoch` (masked; child process)",
         **RECORD, "runner_eval_val": RECORD["runner_eval_val"] + " (5,000)",
         "runner_eval_test": RECORD["runner_eval_test"] + " (10,000)"}
CONV = {"runner": LENET["runner"], "keras_fit": "plain Keras, unmasked, `model.fit` (defaults)",
        "keras_fit_best": "plain Keras, unmasked, `model.fit` at its fastest setting", "torch": LENET["torch"],
        "floor": "TensorFlow's conv/matmul kernels of an epoch, run on their own", **RECORD,
        "flops_floor": "arithmetic floor: training FLOPs / forward-kernel throughput",
        "kernel_floor": "arithmetic floor: sum of TensorFlow's conv/matmul kernels at the layers' shapes"}
CONV_FORMS = {
    "loop": "each member's step compiled alone, N calls from Python (N solo runs)",
    "vmap": "jax.vmap over the members (PackedJaxSteps' form: grouped convolutions)",
    "folded": "members folded into the channels by hand (feature_group_count=N)",
    "lax.map": "members one after another in one compiled program (lax.map)",
    "unrolled": "members one after another in one compiled program (unrolled Python loop in jax.jit)",
}


def setting_label(setting):
    return f"jit_compile={setting['jit_compile']}, steps_per_execution={setting['steps_per_execution']}"


def contender_table(rows, labels, timed, fit_best, compile_column):
    """One line per contender of `labels` that has a row: median, min, max, quiet epochs of `timed`, first epoch."""
    lines = ["| contender | s/epoch (median) | min | max | quiet epochs | first epoch s |"
             + (" compile s (first - median) |" if compile_column else ""),
             "| --- | ---: | ---: | ---: | ---: | ---: |" + (" ---: |" if compile_column else "")]
    for name, label in labels.items():
        row = rows.get(name)
        if row is None or name in ("flops_floor", "kernel_floor"):
            continue
        if name == "keras_fit_best" and fit_best:
            label += f" ({setting_label(fit_best)})"
        line = (f"| {label} | {row['median_s_per_epoch']:.3f} | {row['min_s']:.3f} | {row['max_s']:.3f} | "
                f"{row['quiet_epochs']} of {timed} | {row['first_epoch_s']:.2f} |")
        if compile_column:
            line += f" {row['compile_s_estimate']:.2f}{'' if row['warm_up_quiet'] else ' (warm-up disturbed)'} |"
        lines.append(line)
    return lines


def ratio_table(ratios):
    return ["", "| ratio | value |", "| --- | ---: |"] + [f"| {name} | {value:.3f} |" for name, value in ratios.items()]


def targets_line(targets):
    return ["", "Targets: " + "; ".join(f"{name}: {'met' if ok else 'MISSED'}" for name, ok in targets.items()) + "."]


def setup_line(result):
    machine, versions, threads = result["machine"], result["versions"], result["threads"]
    return (f"{machine['nproc']} cores ({machine['cpu_model']}); Python {versions['python']}, TensorFlow "
            f"{versions['tensorflow']}, Keras {versions['keras']}, torch {versions['torch']}, numpy "
            f"{versions['numpy']}; threads: TF intra/inter-op {threads['tf_intra_op']}/{threads['tf_inter_op']} "
            f"(0 = TF default), torch {threads['torch_num_threads']}")


def lenet_markdown(result):
    machine = result["machine"]
    lines = [f"{result['date']}; {result['training_examples']:,} training examples, batch {result['batch_size']}; "
             f"{setup_line(result)}; `model.fit` jit_compile resolved to {result['keras_fit_jit_compile']}.", ""]
    lines += contender_table(result["seconds_per_epoch"], LENET, len(result["rounds"]) - 1,
                             (result.get("keras_fit_best") or {}).get("setting"), compile_column=True)
    lines += ratio_table(result["ratios"]) + targets_line(result["targets"])
    quiet = ("every contender got the asked quiet epochs" if machine["quiet"]
             else "the machine stayed busy: see quiet epochs")
    return "\n".join(lines + ["", f"Machine load: 1-min load average {machine['load_average_at_start']} at start, "
                                  f"{machine['load_average_at_end']} at end; other processes used at most "
                                  f"{machine['other_processes_cores_max']} cores during an epoch "
                                  f"(quiet = at most {machine.get('busy_cores_threshold')}); {quiet}."])


def network_markdown(nettype, network, result):
    floor, labels = network["floor"], {**CONV, **network.get("labels", {})}
    lines = [f"**{nettype}** ({floor['training_gflop_per_epoch']} GFLOP of conv/matmul per training epoch of "
             f"{result['training_examples']:,} images)", ""]
    lines += contender_table(network["seconds_per_epoch"], labels, len(network["rounds"]) - 1,
                             network.get("fit_best_setting"), compile_column=False)
    lines += [f"| {labels['flops_floor']} | {floor['flops_floor_s']:.3f} | | | | |",
              f"| {labels['kernel_floor']} | {floor['kernel_floor_s']:.3f} | | | | |"]
    lines += ratio_table(network["ratios"])
    if "evaluation_batch_sizes" in network:
        sizes = network["evaluation_batch_sizes"]
        lines += ["", "Evaluation, s per 1,000 validation images, by batch size: " + ", ".join(
            f"{size}: {value:.3f}" for size, value in sizes["seconds_per_1000"].items())
            + f" (accuracy {'identical' if sizes['accuracy_identical'] else 'NOT identical'} across them; "
              f"the runner uses {sizes['chosen']})."]
    if "fit_settings_s_per_1000" in network:
        lines += ["", "`model.fit` settings tried, s per 1,000 examples: " + "; ".join(
            f"{label}: {value:.2f}" for label, value in network["fit_settings_s_per_1000"].items()) + "."]
    return lines + targets_line(network["targets"]) + [""]


def conv_markdown(result):
    machine = result["machine"]
    lines = [f"{result['date']}; {result['training_examples']:,} training, {result['validation_examples']:,} "
             f"validation, {result['test_examples']:,} test images (random, CIFAR-shaped), batch "
             f"{result['batch_size']}, FreePruning; {setup_line(result)}; load average "
             f"{machine['load_average_at_start']} at start, {machine['load_average_at_end']} at end.", ""]
    for nettype, network in result["networks"].items():
        lines += network_markdown(nettype, network, result)
    return "\n".join(lines + [f"Command: `{result['command']}`"])


def pack_markdown(result):
    machine = result["machine"]
    lines = [f"# Packed runs (`--pack N`) on {machine['cpu_model']}: runs per hour against N", "",
             f"- date: {result['date']}; {machine['nproc']} cores; load average {machine['load_average_at_start']} at "
             f"the start, {machine['load_average_at_end']} at the end; other processes kept up to "
             f"{machine['other_processes_cores_max']} cores busy during an epoch",
             "- versions: " + ", ".join(f"{name} {value}" for name, value in result["versions"].items()),
             f"- command: `{result['command']}`",
             f"- FreePruning, batch {result['batch_size']}, Adam lr {result['learning_rate']:g}, JAX backend, "
             f"{result['device']}; one warm-up epoch, then the median of {result['epochs']} timed epoch(s), "
             "contenders interleaved epoch by epoch",
             f"- runs per hour: N x 3600 / ({result['epochs_per_run']} x s per epoch), epoch = training + record "
             "(write-back, evaluation of validation and test, mask statistics, logs and checkpoints); start-up, "
             "compilation and epoch 0 left out; x solo = runs per hour / the solo runner's (N = 1)", ""]
    for network, measured in result["networks"].items():
        lines += [f"**{network}**: {measured['training_examples']:,} training, {measured['validation_examples']:,} "
                  f"validation, {measured['test_examples']:,} test images ({measured['dataset']})", "",
                  "| N | training s/epoch | record s/epoch | epoch s | per run s | runs per hour | x solo | "
                  "x solo, training only | first epoch s | estimated memory MiB |",
                  "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for count, summary in measured["packs"].items():
            if summary.get("median_epoch_s") is None:
                continue
            warm = summary["warm_up"]
            lines.append(f"| {count}{' (solo runner)' if summary['pack'] == 1 else ''} | "
                         f"{summary['median_train_s']:.3f} | "
                         f"{summary['median_record_s']:.3f} | {summary['median_epoch_s']:.3f} | "
                         f"{summary['median_epoch_s'] / summary['pack']:.3f} | {summary['runs_per_hour']:,.1f} | "
                         f"{summary.get('ratio_to_solo', float('nan')):.2f} | "
                         f"{summary.get('ratio_to_solo_training_only', float('nan')):.2f} | "
                         f"{warm['train_s'] + warm['record_s']:.1f} | "
                         f"{summary['estimated_memory_bytes'] / 2**20:,.0f} |")
        lines.append("")
    forms = result.get("conv_forms")
    if forms:
        lines += [f"**Conv6's convolutions, one training step of {forms['members']} members** (batch "
                  f"{forms['batch_size']}, forward + backward, plain kernels), s per step of all members:", "",
                  "| form | s | per member s | x the loop | compile s |", "| --- | ---: | ---: | ---: | ---: |"]
        lines += [f"| `{form}`: {CONV_FORMS[form]} | {figures['seconds']:.4f} | {figures['per_member_s']:.4f} | "
                  f"{figures.get('over_loop', 1.0):.2f} | {figures['compile_s']:.1f} |"
                  for form, figures in forms["forms"].items()] + [""]
    return "\n".join(lines)


def markdown(result):
    if "epochs_per_run" in result:
        return pack_markdown(result)
    return conv_markdown(result) if "networks" in result else lenet_markdown(result)


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "results", "lenet_speed.json")
    with open(path) as handle:
        print(markdown(json.load(handle)))
