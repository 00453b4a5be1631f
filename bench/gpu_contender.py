"""One contender of bench/gpu_check.py, alone in its own process (so that JAX's and PyTorch's GPU allocators
never share one): trains one warm-up epoch, then the timed epochs, and writes what it measured as JSON.

    python bench/gpu_contender.py SPEC_JSON RESULT_PATH

SPEC_JSON holds: framework ("jax": the project's runner, `training.loop.Experiment.train_epoch` on Keras'
JAX backend, through bench/keras_contenders.py's Runner; "torch": the masked PyTorch peer with
torch.compile), network ("LeNet" or "Conv6"), device ("gpu" or "cpu"), epochs (timed, after the warm-up),
mnist_dir and limit (LeNet) or cifar_folder (Conv6), and for JAX deterministic (whether XLA_FLAGS, as
cli/keras_backend.py leaves it, must ask for deterministic GPU kernels).
"""

import json
import os
import platform
import statistics
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
for _path in (BENCH, REPO):
    if _path not in sys.path:
        sys.path.insert(0, _path)


class ContenderError(RuntimeError):
    """The contender cannot measure what was asked (e.g. no GPU where one was asked for); one sentence."""


def load_data(spec):
    from datasets import load_dataset
    if spec["network"] == "LeNet":
        if spec.get("mnist_dir"):
            return load_dataset("mnist", "mnist", data_dir=spec["mnist_dir"], limit=spec.get("limit"),
                                allow_download=False)
        return load_dataset("mnist-subset", "mnist", limit=spec.get("limit"))
    return load_dataset("cifar10", "cifar10", data_dir=spec["cifar_folder"], allow_download=False)


def time_epochs(train_epoch, synchronize, epochs):
    """Seconds of one warm-up epoch (tracing and compilation) and of `epochs` timed ones; each timer stops
    only after `synchronize()` has waited for the device."""
    seconds, loss_accuracy = [], []
    for _ in range(epochs + 1):
        synchronize()
        started = time.perf_counter()
        loss, accuracy = train_epoch()
        synchronize()
        seconds.append(time.perf_counter() - started)
        loss_accuracy.append([round(float(loss), 6), round(float(accuracy), 6)])
        print(f"  epoch {len(seconds) - 1}{' (warm-up)' if len(seconds) == 1 else ''}: {seconds[-1]:.3f} s, "
              f"loss {loss:.4f}, accuracy {accuracy:.4f}", flush=True)
    timed = seconds[1:]
    return {"warm_up_s": round(seconds[0], 4), "epoch_s": [round(value, 4) for value in timed],
            "median_s": round(statistics.median(timed), 4), "min_s": round(min(timed), 4),
            "loss_accuracy": loss_accuracy}


def cpu_model():
    import machine
    return machine.cpu_model()


def run_jax(spec):
    from cli.keras_backend import DETERMINISTIC_XLA_FLAG, select_backend
    select_backend("jax")  # before Keras is imported: KERAS_BACKEND, XLA_FLAGS, TensorFlow marked absent
    import jax
    import jaxlib
    import keras
    import numpy

    xla_flags = os.environ.get("XLA_FLAGS", "")
    deterministic = DETERMINISTIC_XLA_FLAG in xla_flags.split()
    if deterministic != spec["deterministic"]:
        raise ContenderError(f"XLA_FLAGS is {xla_flags!r} after select_backend, but deterministic GPU kernels were "
                             f"{'asked for' if spec['deterministic'] else 'to be off'}.")
    platform_name = jax.default_backend()
    if spec["device"] == "gpu" and platform_name not in ("gpu", "cuda"):
        raise ContenderError(f"JAX runs on {platform_name}, not on a GPU (is the CUDA build of jaxlib installed?); "
                             "for a CPU smoke run pass --quick.")
    if spec["device"] == "cpu" and platform_name != "cpu":
        raise ContenderError(f"JAX runs on {platform_name} although the CPU was asked for (JAX_PLATFORMS=cpu).")

    from keras_contenders import Runner
    dataset = load_data(spec)
    runner = Runner(dataset, nettype=spec["network"], backend="jax", epochs=spec["epochs"] + 1)
    variables = runner.experiment.model.trainable_variables
    try:
        timing = time_epochs(runner.train_epoch, lambda: jax.block_until_ready([v.value for v in variables]),
                             spec["epochs"])
    finally:
        runner.close()
    if sys.modules.get("tensorflow") is not None:
        raise RuntimeError("the JAX contender imported TensorFlow")
    device = jax.devices()[0]
    memory = device.memory_stats() or {}  # None on a CPU
    return {**timing, "dataset": dataset.name, "training_examples": len(dataset.x_train),
            "platform": platform_name,
            "device_name": cpu_model() if platform_name == "cpu" else device.device_kind,
            "peak_memory_bytes": memory.get("peak_bytes_in_use"),
            "xla_flags": xla_flags, "deterministic_xla": deterministic,
            "xla_python_client_preallocate": os.environ.get("XLA_PYTHON_CLIENT_PREALLOCATE"),
            "tensorflow_imported": False, "torch_imported": "torch" in sys.modules,
            "settings": {"jax_default_matmul_precision": str(jax.config.jax_default_matmul_precision)},
            "versions": {"jax": jax.__version__, "jaxlib": jaxlib.__version__, "keras": keras.__version__,
                         "numpy": numpy.__version__}}


def run_torch(spec):
    import numpy
    import torch

    if spec["device"] == "gpu" and not torch.cuda.is_available():
        raise ContenderError(f"torch {torch.__version__} sees no CUDA GPU; for a CPU smoke run pass --quick.")
    device = "cuda" if spec["device"] == "gpu" else "cpu"
    dataset = load_data(spec)
    if spec["network"] == "LeNet":
        from torch_lenet import TorchPeer
        peer = TorchPeer(dataset.x_train, dataset.y_train, compile=True, device=device)
    else:
        from torch_conv import TorchConvPeer  # channels-last by default
        peer = TorchConvPeer(spec["network"], dataset.x_train, dataset.y_train, compile=True, device=device)
    synchronize = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    try:
        timing = time_epochs(peer.train_epoch, synchronize, spec["epochs"])
    finally:
        peer.close()
    on_gpu = device == "cuda"
    return {**timing, "dataset": dataset.name, "training_examples": len(dataset.x_train),
            "platform": device,
            "device_name": torch.cuda.get_device_name(0) if on_gpu else cpu_model(),
            "peak_memory_bytes": torch.cuda.max_memory_allocated() if on_gpu else None,
            "peak_memory_reserved_bytes": torch.cuda.max_memory_reserved() if on_gpu else None,
            "jax_imported": "jax" in sys.modules, "keras_imported": "keras" in sys.modules,
            "settings": {"threads": torch.get_num_threads(), "cudnn_benchmark": torch.backends.cudnn.benchmark,
                         "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
                         "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32},
            "versions": {"torch": torch.__version__, "torch_cuda": torch.version.cuda,
                         "cudnn": torch.backends.cudnn.version() if on_gpu else None, "numpy": numpy.__version__}}


def main(argv):
    spec, result_path = json.loads(argv[0]), argv[1]
    run = run_jax if spec["framework"] == "jax" else run_torch
    try:
        result = run(spec)
    except ContenderError as error:
        result = {"error": str(error)}
    result.update(spec=spec, python=platform.python_version())
    with open(result_path, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
