"""What every run of a process needs before it trains: the backend's check, determinism, the device line and the
data set."""

import os

import keras

from config import ConfigError
from datasets import load_dataset
from methods.recipes import far_from_own
from networks import network_entry


def make_deterministic(config):
    """Same seed, same machine: identical results (measured on TensorFlow: no cost on LeNet, see docs/RUNS.md). On JAX,
    cli/keras_backend.py asks XLA for deterministic GPU kernels before JAX starts; XLA on a CPU is deterministic."""
    if keras.backend.backend() != config.backend:
        raise ConfigError(f"This process runs Keras on {keras.backend.backend()}, but the run is a --backend "
                          f"{config.backend} run; start it in a new process (MaskTrainer.py selects the backend "
                          "before loading Keras).")
    if config.backend == "tensorflow":
        import tensorflow as tf
        tf.config.experimental.enable_op_determinism()


def device_line(config):
    """The first line of a run: where it trains and how precisely."""
    from devices import describe_current
    device = describe_current(config.backend)
    line = f"Device: {device.describe()}; Keras on {config.backend}, {config.precision} products"
    if device.platform == "gpu" and config.backend == "jax":
        from devices.autotune_cache import kernel_choice
        choice, cache = kernel_choice(os.environ.get("XLA_FLAGS", ""))
        line += {"autotuned": f", deterministic kernels, autotuned (their choices kept in {cache})",
                 "deterministic": ", deterministic kernels"}.get(choice, ", NON-deterministic kernels (XLA_FLAGS)")
    if config.backend == "jax":
        from devices.compilation_cache import FOLDER_IN_USE
        line += f", compiled programs kept in {FOLDER_IN_USE[0]}" if FOLDER_IN_USE else ""
    return line


def load_data(config, print_line=print):
    dataset = load_dataset(config.dataset, network_entry(config.nettype).standard_dataset, data_dir=config.data_dir,
                           limit=config.limit, test_normalization=config.test_normalization)
    if dataset.warning:
        print_line(f"Warning: {dataset.warning}")
    print_line(f"Data set: {dataset.name} ({len(dataset.x_train)} training, {len(dataset.x_val)} validation, "
               f"{len(dataset.x_test)} test examples) from {dataset.source}")
    return dataset


def prepare_process(config, print_line=print):
    """Backend check, determinism and the device line (after a note when the method trains far from its own recipe,
    methods/recipes.py); returns the run's data set."""
    make_deterministic(config)
    from devices.autotune_cache import AUTOTUNE_NOTES
    for line in AUTOTUNE_NOTES:
        print_line(line)
    AUTOTUNE_NOTES.clear()  # said once, by the process's first run
    note = far_from_own(config)
    if note:
        print_line(note)
    print_line(device_line(config))
    return load_data(config, print_line)
