"""Whether a pack fits in the device's memory, estimated before it trains, and the largest pack that would.

Per member, a packed step holds: the member's own Keras variables, their stacked copy and its donated update
(three copies of weights, scores and BatchNorm statistics), Adam's two moments of every trainable variable
(three copies as well), the gradients, and the activations of a training batch, which the backward pass keeps.
The data set is held once for the whole pack. This is an estimate meant to refuse the packs that clearly cannot
fit, with headroom (HEADROOM) for what it leaves out; bench/gpu/gpu_check.py measures the real peak.

The activation factors are calibrated on an H200 (2026-12-04, bench/results/gpu_check_pack.json, XLA's
deterministic kernels): LeNet's dense activations, counted three times (forward values, their gradients, XLA's
temporaries), put a pack of 64 at 1,046 MiB against 1,034 measured; Conv6's image-shaped ones took about 30 times a
batch's forward values per member (a pack of 8 peaked at 7,108 MiB, and the factor 3 had said 2,033), which
convolution workspaces and layout copies explain, so they count 32 times.
"""

import math
import os

import numpy as np

from devices import DeviceError

FLOAT_BYTES = 4
COPIES_OF_STATE = 3
ACTIVATION_FACTOR = {"dense": 3, "image": 32}  # by the rank of a layer's output: (batch, units), (batch, h, w, c)
HEADROOM = 0.8  # of the memory the process may use


class PackTooLarge(DeviceError):
    """The pack would not fit; one sentence with the largest that would."""


def member_bytes(model, optimizer, batch_size):
    variables = sum(math.prod(variable.shape) for variable in model.variables)
    trainable = sum(math.prod(variable.shape) for variable in model.trainable_variables)
    optimizer_values = sum(math.prod(variable.shape) for variable in optimizer.variables)
    activations = sum(ACTIVATION_FACTOR["image" if len(layer.output.shape) == 4 else "dense"]
                      * math.prod(layer.output.shape[1:]) for layer in model.layers
                      if getattr(layer, "output", None) is not None and None not in layer.output.shape[1:])
    return FLOAT_BYTES * (COPIES_OF_STATE * (variables + optimizer_values) + trainable + batch_size * activations)


def device_memory_bytes():
    """What this process may allocate on its device: the JAX allocator's limit on a GPU, the available memory on
    a CPU; None when unknown."""
    import jax
    device = jax.devices()[0]
    if device.platform == "gpu":
        stats = device.memory_stats() or {}
        limit, used = stats.get("bytes_limit"), stats.get("bytes_in_use", 0)
        return None if limit is None else limit - used
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_pack_fits(experiments, available=None):
    """Raises PackTooLarge when the pack's estimate exceeds HEADROOM of the device's memory."""
    first = experiments[0]
    per_member = member_bytes(first.model, first.optimizer, first.config.batchsize)
    shared = FLOAT_BYTES * (np.asarray(first.dataset.x_train).size + len(first.dataset.y_train))
    available = device_memory_bytes() if available is None else available
    if available is None:
        return
    budget = HEADROOM * available - shared
    needed = per_member * len(experiments)
    if needed <= budget:
        return
    largest = max(int(budget // per_member), 0)
    advice = f"use --pack {largest} or fewer" if largest >= 1 else "train these runs one at a time (leave --pack out)"
    raise PackTooLarge(f"A pack of {len(experiments)} {first.config.nettype} runs at batch {first.config.batchsize} "
                       f"needs about {gibibytes(needed + shared)} of device memory ({gibibytes(per_member)} per run), "
                       f"and {gibibytes(available)} is free: {advice}.")


def gibibytes(count):
    return f"{count / 2**30:.1f} GiB"
