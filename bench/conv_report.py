"""Renders bench/results/conv_speed.json as the Markdown tables of bench/README.md and the README.

    .venv/bin/python bench/conv_report.py [bench/results/conv_speed.json]
"""

import json
import os
import sys

ROWS = [
    ("runner", "runner: `Experiment.train_epoch` (masked)"),
    ("keras_fit", "plain Keras, unmasked, `model.fit` (defaults)"),
    ("keras_fit_best", "plain Keras, unmasked, `model.fit` at its fastest setting"),
    ("torch", "PyTorch masked, `torch.compile` (peer)"),
    ("floor", "TensorFlow's conv/matmul kernels of an epoch, run on their own"),
]
EVAL_ROWS = [
    ("runner_eval_stats", "runner: per-epoch `record_epoch` (eval val+test, mask stats, log + checkpoint)"),
    ("runner_eval_val", "&nbsp;&nbsp;breakdown: evaluate val"),
    ("runner_eval_test", "&nbsp;&nbsp;breakdown: evaluate test"),
    ("runner_mask_counts", "&nbsp;&nbsp;breakdown: mask statistics"),
]


def network_tables(nettype, network, result):
    rows, floor, labels = network["seconds_per_epoch"], network["floor"], network.get("labels", {})
    timed = len(network["rounds"]) - 1
    lines = [f"**{nettype}** ({floor['training_gflop_per_epoch']} GFLOP of conv/matmul per training epoch of "
             f"{result['training_examples']:,} images)", "",
             "| contender | s/epoch (median) | min | max | quiet epochs | first epoch s |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name, label in ROWS + EVAL_ROWS:
        label = labels.get(name, label)
        if name in rows:
            row = rows[name]
            if name == "keras_fit_best":
                setting = network["fit_best_setting"]
                label += (f" (jit_compile={setting['jit_compile']}, "
                          f"steps_per_execution={setting['steps_per_execution']})")
            lines.append(f"| {label} | {row['median_s_per_epoch']:.3f} | {row['min_s']:.3f} | {row['max_s']:.3f} | "
                         f"{row['quiet_epochs']} of {timed} | {row['first_epoch_s']:.2f} |")
    flops_label = labels.get("flops_floor", "arithmetic floor: training FLOPs / forward-kernel throughput")
    kernel_label = labels.get("kernel_floor", "arithmetic floor: sum of TensorFlow's conv/matmul kernels at the "
                                              "layers' shapes")
    lines.append(f"| {flops_label} | {floor['flops_floor_s']:.3f} | | | | |")
    lines.append(f"| {kernel_label} | {floor['kernel_floor_s']:.3f} | | | | |")
    lines += ["", "| ratio | value |", "| --- | ---: |"]
    lines += [f"| {name} | {value:.3f} |" for name, value in network["ratios"].items()]
    if "evaluation_batch_sizes" in network:
        sizes = network["evaluation_batch_sizes"]
        lines += ["", "Evaluation, s per 1,000 validation images, by batch size: " + ", ".join(
            f"{size}: {value:.3f}" for size, value in sizes["seconds_per_1000"].items())
            + f" (accuracy {'identical' if sizes['accuracy_identical'] else 'NOT identical'} across them; "
              f"the runner uses {sizes['chosen']})."]
    if "fit_settings_s_per_1000" in network:
        lines += ["", "`model.fit` settings tried, s per 1,000 examples: " + "; ".join(
            f"{label}: {value:.2f}" for label, value in network["fit_settings_s_per_1000"].items()) + "."]
    lines += ["", "Targets: " + "; ".join(f"{name}: {'met' if ok else 'MISSED'}"
                                         for name, ok in network["targets"].items()) + ".", ""]
    return lines


def markdown(result):
    machine, versions, threads = result["machine"], result["versions"], result["threads"]
    lines = [
        f"{result['date']}; {result['training_examples']:,} training, {result['validation_examples']:,} validation, "
        f"{result['test_examples']:,} test images (random, CIFAR-shaped), batch {result['batch_size']}, FreePruning; "
        f"{machine['nproc']} cores ({machine['cpu_model']}); Python {versions['python']}, TensorFlow "
        f"{versions['tensorflow']}, Keras {versions['keras']}, torch {versions['torch']}, numpy {versions['numpy']}; "
        f"threads: TF intra/inter-op {threads['tf_intra_op']}/{threads['tf_inter_op']} (0 = TF default), "
        f"torch {threads['torch_num_threads']}; load average {machine['load_average_at_start']} at start, "
        f"{machine['load_average_at_end']} at end.", "",
    ]
    for nettype, network in result["networks"].items():
        lines += network_tables(nettype, network, result)
    lines.append(f"Command: `{result['command']}`")
    return "\n".join(lines)


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "results", "conv_speed.json")
    with open(path) as handle:
        print(markdown(json.load(handle)))
