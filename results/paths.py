"""Every file name and the folder layout, in one place; every reader and writer asks this module.

A run's files lie in its configuration folder (the 2020 reference's layout):

    {outputpath}/{traintype}/{nettype}/P1_{p1}/{masktype}_{activation}_{initializer}_LR{lr}{suffix}/

where the suffix carries the optimizer settings other than the 2020 code's (e.g. _sgd_M0.9_WD0.0005_cosine) and
the settings of the lottery-ticket and pruning-at-initialisation methods,
and each file name starts with the run's 8-hex-digit ID: {id}_logs.json, {id}_curves.csv, ...
"""

import os
import re
import secrets

RUN_FILES = {
    "logs": "_logs.json",
    "curves": "_curves.csv",
    "initial_weights": "_initial_weights.npz",
    "final_masks": "_final_masks.npz",
    "final_weights": "_final_weights.npz",
    "final_batchnorm": "_final_batchnorm.npz",  # the ResNets: BatchNorm's variables by path
    "checkpoint": "_checkpoint.npz",
    "previous_checkpoint": "_checkpoint.previous.npz",
    "supermask": "_supermask.npz",  # Export.py
    "keras_model": "_model.keras",  # Export.py
    "tensorboard": "_tensorboard",  # a folder: MaskTrainer.py --tensorboard
}
LOGS_SUFFIX = RUN_FILES["logs"]
RUN_ID_PATTERN = re.compile(r"[0-9a-f]{8}")
# Levels between the output path and a configuration folder: traintype, nettype, P1_{p1}, leaf.
CONFIGURATION_DEPTH = 4

# What Plotter.py writes.
FIGURES_FOLDER = "figures"
MERGED_STEM = "merged"  # merged.npz and merged_curves.{png,pdf} beside a configuration's runs
PAPER_TABLE = "paper_table"  # .md, .csv, .tex
LOTTERY_TABLE = "lottery_table"  # .md, .csv
PRUNING_TABLE = "pruning_at_init"  # .md, .csv
COMPARISON_TABLE = "comparison_table"  # .md, .csv, .tex: the paired comparisons beside the paper table
SANITY_TABLE = "sanity_checks"  # .md, .csv, and the figures sanity_checks_{net}_{dataset}.{png,pdf}
TRADEOFF_FIGURE = "tradeoff"  # tradeoff_{net}_{dataset}.{png,pdf}: accuracy against compression and speed-up


def configuration_folder(outputpath, traintype, nettype, p1, masktype, activation, initializer, lr, suffix=""):
    leaf = f"{masktype}_{activation}_{initializer}_LR{float(lr)}{suffix}"
    return os.path.join(outputpath, traintype, nettype, f"P1_{float(p1)}", leaf)


def output_root(logs_path):
    """The output path a run was written under, from the path of its logs file."""
    folder = os.path.dirname(os.path.abspath(logs_path))
    for _ in range(CONFIGURATION_DEPTH):
        folder = os.path.dirname(folder)
    return folder


def run_file(folder, run_id, kind):
    return os.path.join(folder, run_id + RUN_FILES[kind])


def run_id_of(logs_path):
    """The run ID of a logs file's path."""
    return os.path.basename(logs_path)[:-len(LOGS_SUFFIX)]


def round_masks_file(folder, run_id, round_index):
    """IMP: the masks at the end of a round."""
    return os.path.join(folder, f"{run_id}_round{round_index}_masks.npz")


def checkpoint_files(folder, run_id):
    """(current, previous) checkpoint of a run."""
    return run_file(folder, run_id, "checkpoint"), run_file(folder, run_id, "previous_checkpoint")


def split_logs_path(logs_path):
    """(folder, run ID) of a logs file."""
    return os.path.dirname(logs_path), os.path.basename(logs_path)[: -len(LOGS_SUFFIX)]


def has_checkpoint(logs_path):
    return any(os.path.isfile(path) for path in checkpoint_files(*split_logs_path(logs_path)))


def reserve_run_id(folder):
    """A fresh run ID whose logs file is created exclusively, so concurrent runs never share one."""
    os.makedirs(folder, exist_ok=True)
    while True:
        run_id = secrets.token_hex(4)
        try:
            handle = os.open(run_file(folder, run_id, "logs"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666)
        except FileExistsError:
            continue
        os.close(handle)
        return run_id


def is_run_id(text):
    return bool(RUN_ID_PATTERN.fullmatch(text))


def find_logs_files(root):
    """Every logs file below root (or root itself, if it is one), sorted, skipping hidden files and folders
    (atomic writes use hidden temporary files)."""
    if os.path.isfile(root):
        return [root] if os.path.basename(root).endswith(LOGS_SUFFIX) else []
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        found += [os.path.join(folder, name) for name in sorted(files)
                  if name.endswith(LOGS_SUFFIX) and not name.startswith(".")]
    return found


def find_run(run_id, root):
    """The logs files of a run ID below root (a list: none, one, or, by accident, several)."""
    return [path for path in find_logs_files(root) if split_logs_path(path)[1] == run_id]
