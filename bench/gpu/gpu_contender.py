"""One row of the GPU check, alone in its own process (so that JAX's and PyTorch's device allocators never share one):
a warm-up epoch, then the timed epochs, each timer stopped after the device finished.

    python bench/gpu/gpu_contender.py SPEC_JSON RESULT_PATH

SPEC_JSON (gpu_rows.run_row): framework "jax" (the product's runs, bench/runs.py, on Keras' JAX backend: one run's
training, or with `pack` N runs, each epoch trained and then recorded), "torch" (the masked PyTorch peer,
bench/torch_peers.py) or "conv_forms" (bench/conv_forms.py for `members` members at `batch_size`);
network, device ("gpu"/"cpu"), precision ("float32"/"tf32"), epochs (timed, after the warm-up), deterministic (JAX:
whether XLA_FLAGS must ask for deterministic GPU kernels), mnist_dir (LeNet; None: the committed subset) or
cifar_folder, limit (only the first N training images). RESULT_PATH is rewritten after every epoch, so that a process
stopped by its timeout leaves what it measured.
"""

import json
import os
import platform
import statistics
import sys
import time

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(BENCH)
sys.path[:0] = [path for path in (BENCH, REPO) if path not in sys.path]


class ContenderError(RuntimeError):
    """The row cannot measure what was asked (e.g. no GPU where one was asked for); one sentence."""


def load_data(spec):
    from datasets import load_dataset
    if spec["network"] == "LeNet":
        if spec.get("mnist_dir"):
            return load_dataset("mnist", "mnist", data_dir=spec["mnist_dir"], limit=spec.get("limit"),
                                allow_download=False)
        return load_dataset("mnist-subset", "mnist", limit=spec.get("limit"))
    return load_dataset("cifar10", "cifar10", data_dir=spec["cifar_folder"], limit=spec.get("limit"),
                        allow_download=False)


def write_result(path, result):
    with open(path + ".partial", "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)
    os.replace(path + ".partial", path)


def timing(epochs, count=None):
    """The row's figures from its epochs, the first the warm-up, each {"train_s", "loss", "accuracy"} and, for a pack
    row (`count` runs), "record_s": seconds per epoch are then training + record, and runs per hour follow."""
    seconds = [round(epoch["train_s"] + epoch.get("record_s", 0.0), 4) for epoch in epochs]
    figures = {"warm_up_s": seconds[0], "epoch_s": seconds[1:],
               "loss_accuracy": [[round(float(epoch["loss"]), 6), round(float(epoch["accuracy"]), 6)]
                                 for epoch in epochs]}
    if len(epochs) > 1:
        figures.update(median_s=round(statistics.median(seconds[1:]), 4), min_s=min(seconds[1:]))
    if count:
        from pack_speed import summarise_epochs
        summary = summarise_epochs(count, epochs)
        figures.update({f"{part}_s": [round(epoch[f"{part}_s"], 4) for epoch in epochs[1:]]
                        for part in ("train", "record")}, warm_up_train_s=round(epochs[0]["train_s"], 4),
                       warm_up_record_s=round(epochs[0]["record_s"], 4))
        figures.update({name: summary[name] for name in ("median_train_s", "median_record_s", "runs_per_hour",
                                                         "runs_per_hour_training_only") if name in summary})
    return figures


def time_epochs(epoch, epochs, publish, count=None):
    """One warm-up and `epochs` timed calls of epoch() (-> {"train_s", "loss", "accuracy"[, "record_s"]});
    publish(figures so far) after each."""
    measured = []
    for index in range(epochs + 1):
        measured.append(epoch())
        parts = ", ".join(f"{name} {measured[-1][f'{name}_s']:.3f} s" for name in ("train", "record")
                          if f"{name}_s" in measured[-1])
        print(f"  epoch {index}{' (warm-up)' if index == 0 else ''}: {parts}, loss {measured[-1]['loss']:.4f}",
              flush=True)
        publish(timing(measured, count))
    return timing(measured, count)


def cpu_model():
    import machine
    return machine.cpu_model()


def select_jax(device):
    """Keras on JAX for `device` ("gpu" / "cpu") through the product's own select_backend, as MaskTrainer.py does:
    JAX_PLATFORMS, XLA_FLAGS (deterministic kernels), TensorFlow marked absent, the device checked."""
    from cli.keras_backend import select_backend
    try:
        select_backend("jax", device=device)
    except ValueError as error:  # one sentence: the device or backend cannot be used
        raise ContenderError(str(error)) from None


def start_jax(spec):
    """Keras on JAX for the spec's device, checked as asked (platform, determinism), the spec's precision set as the
    product sets it; returns (jax, the facts every JAX row reports)."""
    select_jax(spec["device"])
    import jax
    import jaxlib
    import keras
    import numpy

    from devices import apply_precision
    from devices.autotune_cache import kernel_choice

    xla_flags = os.environ.get("XLA_FLAGS", "")
    # Deterministic kernels: XLA's first configuration that compiles, or autotuned ones without the operations whose
    # results depend on their threads' order (devices/autotune_cache.py).
    deterministic = kernel_choice(xla_flags)[0] is not None
    if deterministic != spec["deterministic"]:
        raise ContenderError(f"XLA_FLAGS is {xla_flags!r} after select_backend, but deterministic GPU kernels were "
                             f"{'asked for' if spec['deterministic'] else 'to be off'}.")
    platform_name = jax.default_backend()
    if (spec["device"] == "gpu") != (platform_name in ("gpu", "cuda")):
        raise ContenderError(f"JAX runs on {platform_name}, although the {spec['device']} was asked for (is the CUDA "
                             "build of jaxlib installed? for a CPU smoke run pass --quick).")
    apply_precision("jax", spec["precision"], "cpu" if platform_name == "cpu" else "gpu")
    device_name = cpu_model() if platform_name == "cpu" else jax.devices()[0].device_kind
    return jax, {"platform": platform_name, "device_name": device_name,
                 "precision": spec["precision"], "deterministic": deterministic, "xla_flags": xla_flags,
                 "xla_python_client_preallocate": os.environ.get("XLA_PYTHON_CLIENT_PREALLOCATE"),
                 "settings": {"jax_default_matmul_precision": str(jax.config.jax_default_matmul_precision)},
                 "versions": {"jax": jax.__version__, "jaxlib": jaxlib.__version__, "keras": keras.__version__,
                              "numpy": numpy.__version__}}


def peak_memory(jax):
    """JAX's peak device memory in use by this process (None on a CPU, which keeps no such figure)."""
    return (jax.devices()[0].memory_stats() or {}).get("peak_bytes_in_use")


def run_jax(spec, publish):
    jax, facts = start_jax(spec)
    from runs import Runs
    dataset = load_data(spec)
    count = spec.get("pack")
    started = time.perf_counter()
    runs = Runs(dataset, spec["network"], count or 1, backend="jax", precision=spec["precision"],
                device=spec["device"])
    facts.update(dataset=dataset.name, training_examples=len(dataset.x_train))
    if count:
        facts.update(validation_examples=len(dataset.x_val), test_examples=len(dataset.x_test), pack=count,
                     build_s=round(time.perf_counter() - started, 2),
                     estimated_memory_bytes=runs.estimated_memory_bytes())

    def epoch():
        if count:
            return runs.timed_epoch()
        started = time.perf_counter()
        loss, accuracy = runs.train_epoch()
        return {"train_s": time.perf_counter() - started, "loss": loss, "accuracy": accuracy}

    try:
        figures = time_epochs(epoch, spec["epochs"],
                              lambda figures: publish({**facts, **figures, "peak_memory_bytes": peak_memory(jax)}),
                              count)
    finally:
        runs.close()
    if sys.modules.get("tensorflow") is not None:
        raise ContenderError("The JAX contender imported TensorFlow.")
    return {**facts, **figures, "peak_memory_bytes": peak_memory(jax), "torch_imported": "torch" in sys.modules}


def run_conv_forms(spec, publish):
    """Whether vmapped convolutions are what makes a Conv6 pack slow, and what the alternatives cost."""
    jax, facts = start_jax(spec)
    from conv_forms import conv_forms
    facts.update(members=spec["members"], batch_size=spec["batch_size"])
    forms = conv_forms(spec["members"], spec["batch_size"], repetitions=spec["epochs"],
                       print_line=lambda line: print(line, flush=True),
                       after_form=lambda results: publish({**facts, "forms": dict(results),
                                                           "peak_memory_bytes": peak_memory(jax)}))
    return {**facts, "forms": forms, "peak_memory_bytes": peak_memory(jax)}


def run_torch(spec, publish):
    import numpy
    import torch

    from torch_peers import TorchPeer, precision_settings
    if spec["device"] == "gpu" and not torch.cuda.is_available():
        raise ContenderError(f"torch {torch.__version__} sees no CUDA GPU; for a CPU smoke run pass --quick.")
    on_gpu = spec["device"] == "gpu"
    dataset = load_data(spec)
    peer = TorchPeer(spec["network"], dataset.x_train, dataset.y_train, device="cuda" if on_gpu else "cpu",
                     precision=spec["precision"])
    facts = {"dataset": dataset.name, "training_examples": len(dataset.x_train), "platform": peer.device.type,
             "device_name": torch.cuda.get_device_name(0) if on_gpu else cpu_model(),
             "precision": spec["precision"], "deterministic": None,
             "jax_imported": "jax" in sys.modules, "keras_imported": "keras" in sys.modules,
             "settings": {"threads": torch.get_num_threads(), "cudnn_benchmark": torch.backends.cudnn.benchmark,
                          **precision_settings()},
             "versions": {"torch": torch.__version__, "torch_cuda": torch.version.cuda,
                          "cudnn": torch.backends.cudnn.version() if on_gpu else None, "numpy": numpy.__version__}}
    synchronize = torch.cuda.synchronize if on_gpu else (lambda: None)

    def epoch():
        synchronize()
        started = time.perf_counter()
        loss, accuracy = peer.train_epoch()
        synchronize()
        return {"train_s": time.perf_counter() - started, "loss": loss, "accuracy": accuracy}

    def memory():
        return {"peak_memory_bytes": torch.cuda.max_memory_allocated() if on_gpu else None,
                "peak_memory_reserved_bytes": torch.cuda.max_memory_reserved() if on_gpu else None}

    figures = time_epochs(epoch, spec["epochs"], lambda figures: publish({**facts, **figures, **memory()}))
    return {**facts, **figures, **memory()}


def main(argv):
    spec, result_path = json.loads(argv[0]), argv[1]
    run = {"jax": run_jax, "torch": run_torch, "conv_forms": run_conv_forms}[spec["framework"]]
    base = {"spec": spec, "python": platform.python_version(), "epochs_asked": spec["epochs"]}
    measured = {}  # the last epoch's figures, kept in the result if a later epoch fails

    def publish(partial):
        measured.update(partial)
        write_result(result_path, {**base, **partial, "finished": False})

    try:
        result = {**base, **run(spec, publish), "finished": True}
    except ContenderError as error:
        result = {**base, **measured, "error": str(error)}
    except Exception as error:  # noqa: BLE001 - a row fails in one sentence; the traceback goes to the JSON only
        import traceback
        text = " ".join(str(error).split()) or "no message"
        result = {**base, **measured, "traceback": traceback.format_exc(),
                  "error": f"{type(error).__name__}: {text[:300]}" + ("" if text.endswith(".") else ".")}
    write_result(result_path, result)
    if "error" in result:
        print(f"  FAILED: {result['error']}", flush=True)
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
