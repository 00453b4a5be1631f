"""Where a run's files go: the reference's folder layout, and one short ID per run."""

import os
import secrets

from training.methods import get_method

FILE_SUFFIXES = {
    "logs": "_logs.json",
    "curves": "_curves.csv",
    "initial_weights": "_initial_weights.npz",
    "final_masks": "_final_masks.npz",
    "final_weights": "_final_weights.npz",
}


def configuration_folder(config):
    """{outputpath}/{traintype}/{nettype}/P1_{p1}/{masktype}_{activation}_{initializer}_LR{lr}, plus the
    settings of the lottery-ticket and pruning-at-initialisation methods (e.g. _original_R0.2)."""
    leaf = f"{config.resolved_masktype()}_{config.activation}_{config.resolved_initializer()}_LR{float(config.lr)}"
    leaf += get_method(config.traintype).folder_suffix(config)
    return os.path.join(config.outputpath, config.traintype, config.nettype, f"P1_{float(config.p1)}", leaf)


def reserve_run_id(folder):
    """A fresh 8-hex-digit ID whose logs file is created exclusively, so concurrent runs never share one."""
    os.makedirs(folder, exist_ok=True)
    while True:
        run_id = secrets.token_hex(4)
        try:
            handle = os.open(os.path.join(folder, run_id + FILE_SUFFIXES["logs"]),
                             os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            continue
        os.close(handle)
        return run_id


def run_file(folder, run_id, kind):
    return os.path.join(folder, run_id + FILE_SUFFIXES[kind])
