"""From a validated RunConfig to finished runs: seeds, data, one Experiment per seed."""

import dataclasses
import secrets

from datasets import load_dataset
from networks import STANDARD_DATASET
from training.loop import Experiment


def run_seeds(config):
    """Seeds of the --nruns runs: seed, seed+1, ...; --seed 0 draws a fresh first seed."""
    first = config.seed or secrets.randbelow(2**31 - 1 - config.nruns) + 1
    return [first + offset for offset in range(config.nruns)]


def load_data(config, print_line=print):
    dataset = load_dataset(config.dataset, STANDARD_DATASET[config.nettype], data_dir=config.data_dir,
                           limit=config.limit, test_normalization=config.test_normalization)
    if dataset.warning:
        print_line(f"Warning: {dataset.warning}")
    print_line(f"Data set: {dataset.name} ({len(dataset.x_train)} training, {len(dataset.x_val)} validation, "
               f"{len(dataset.x_test)} test examples) from {dataset.source}")
    return dataset


def run_all(config, print_line=print):
    dataset = load_data(config, print_line)
    logs = []
    for seed in run_seeds(config):
        run_config = dataclasses.replace(config, seed=seed)
        experiment = Experiment(run_config, dataset, print_line)
        print_line(f"Run {experiment.run_id}: {config.traintype} {config.nettype}, seed {seed}, "
                   f"masktype {config.resolved_masktype()}, writing to {experiment.folder}")
        logs.append(experiment.run())
    return logs
