"""Renders bench/results/lenet_speed.json as the Markdown table of bench/README.md.

    .venv/bin/python bench/report.py [bench/results/lenet_speed.json]
"""

import json
import os
import sys

ROWS = [
    ("runner", "runner: `Experiment.train_epoch` (masked)"),
    ("keras_steps", "unmasked Keras Dense, same compiled-steps loop"),
    ("keras_fit", "unmasked Keras Dense, `model.fit` at Keras' defaults"),
    ("keras_fit_best", "unmasked Keras Dense, `model.fit` at its fastest setting"),
    ("torch", "PyTorch masked, `torch.compile` (peer)"),
    ("runner_jax", "runner on Keras' JAX backend: `Experiment.train_epoch` (masked; child process)"),
    ("runner_eval_stats", "runner: per-epoch `record_epoch` (eval val+test, mask stats, log + checkpoint)"),
    ("runner_eval_val", "&nbsp;&nbsp;breakdown: evaluate val (5,000)"),
    ("runner_eval_test", "&nbsp;&nbsp;breakdown: evaluate test (10,000)"),
    ("runner_mask_counts", "&nbsp;&nbsp;breakdown: mask statistics"),
]


def markdown(result):
    machine, versions, threads = result["machine"], result["versions"], result["threads"]
    lines = [
        f"{result['date']}; {result['training_examples']:,} training examples, batch {result['batch_size']}; "
        f"{machine['nproc']} cores ({machine['cpu_model']}); Python {versions['python']}, TensorFlow "
        f"{versions['tensorflow']}, Keras {versions['keras']}, torch {versions['torch']}, numpy {versions['numpy']}; "
        f"threads: TF intra/inter-op {threads['tf_intra_op']}/{threads['tf_inter_op']} (0 = TF default), "
        f"torch {threads['torch_num_threads']}; `model.fit` jit_compile resolved to {result['keras_fit_jit_compile']}.",
        "",
        "| contender | s/epoch (median) | min | max | quiet epochs | first epoch s | compile s (first - median) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, label in ROWS:
        row = result["seconds_per_epoch"].get(name)
        if row is None:
            continue
        note = "" if row["warm_up_quiet"] else " (warm-up disturbed)"
        if name == "keras_fit_best" and result.get("keras_fit_best"):
            setting = result["keras_fit_best"]["setting"]
            label += f" (jit_compile={setting['jit_compile']}, steps_per_execution={setting['steps_per_execution']})"
        lines.append(f"| {label} | {row['median_s_per_epoch']:.3f} | {row['min_s']:.3f} | {row['max_s']:.3f} | "
                     f"{row['quiet_epochs']} of {len(result['rounds']) - 1} | "
                     f"{row['first_epoch_s']:.2f} | {row['compile_s_estimate']:.2f}{note} |")
    ratios = result["ratios"]
    lines += ["", "| ratio | value |", "| --- | ---: |"]
    lines += [f"| {name} | {value:.3f} |" for name, value in ratios.items()]
    quiet = ("every contender got the asked quiet epochs" if machine["quiet"]
             else "the machine stayed busy: see quiet epochs")
    lines += ["", "Targets: " + "; ".join(f"{name}: {'met' if ok else 'MISSED'}"
                                          for name, ok in result["targets"].items()) + ".", "",
              f"Machine load: 1-min load average {machine['load_average_at_start']} at start, "
              f"{machine['load_average_at_end']} at end; other processes used at most "
              f"{machine['other_processes_cores_max']} cores during an epoch "
              f"(quiet = at most {machine.get('busy_cores_threshold')}); "
              f"{quiet}."]
    return "\n".join(lines)


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "results", "lenet_speed.json")
    with open(path) as handle:
        print(markdown(json.load(handle)))
