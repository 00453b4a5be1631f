"""One contender of bench/gpu_check.py, alone in its own process (so that JAX's and PyTorch's GPU allocators
never share one): trains one warm-up epoch, then the timed epochs, and writes what it measured as JSON.

    python bench/gpu_contender.py SPEC_JSON RESULT_PATH

SPEC_JSON holds: framework ("jax": the project's runner, `training.loop.Experiment.train_epoch` on Keras'
JAX backend, through bench/keras_contenders.py's Runner; "torch": the masked PyTorch peer with
torch.compile; "pack": `pack` runs in one training.driver.EpochDriver, each epoch trained and recorded, timed apart
(bench/pack_speed.py's PackContender; 1: the solo runner); "conv_forms": Conv6's convolutions for `members`
members at `batch_size` in five forms, `epochs` timed calls each (bench/pack_speed.py's conv_forms), network
("LeNet", "Conv6" or "ResNet20"), device ("gpu" or "cpu"), precision ("float32" or "tf32"), epochs (timed, after
the warm-up), mnist_dir (LeNet; None: the committed subset) or cifar_folder (the others), limit (only the first N
training images), and for JAX deterministic (whether XLA_FLAGS, as cli/keras_backend.py leaves it, must ask for
deterministic GPU kernels).
RESULT_PATH is rewritten after every epoch, so that a process stopped by its timeout leaves what it measured.
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
    return load_dataset("cifar10", "cifar10", data_dir=spec["cifar_folder"], limit=spec.get("limit"),
                        allow_download=False)


def write_result(path, result):
    with open(path + ".partial", "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)
    os.replace(path + ".partial", path)


def timing_summary(seconds, loss_accuracy):
    timed = seconds[1:]
    summary = {"warm_up_s": round(seconds[0], 4), "epoch_s": [round(value, 4) for value in timed],
               "loss_accuracy": loss_accuracy}
    if timed:
        summary.update(median_s=round(statistics.median(timed), 4), min_s=round(min(timed), 4))
    return summary


def time_epochs(train_epoch, synchronize, epochs, after_epoch=lambda summary: None):
    """Seconds of one warm-up epoch (tracing and compilation) and of `epochs` timed ones; each timer stops
    only after `synchronize()` has waited for the device. after_epoch(summary so far) runs after each epoch."""
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
        after_epoch(timing_summary(seconds, loss_accuracy))
    return timing_summary(seconds, loss_accuracy)


def cpu_model():
    import machine
    return machine.cpu_model()


def select_jax(device):
    """Keras on JAX for `device` ("gpu" / "cpu") through the product's own select_backend, as MaskTrainer.py does
    before Keras is imported: JAX_PLATFORMS, XLA_FLAGS (deterministic kernels), TensorFlow marked absent, then a
    check that JAX has the device, refused in one sentence when it does not."""
    from cli.keras_backend import BackendError, select_backend
    try:
        select_backend("jax", device=device)
    except BackendError as error:
        raise ContenderError(str(error)) from None


def start_jax(spec):
    """Keras on JAX for the spec's device, checked as asked (platform, deterministic kernels), the spec's precision
    set as the product sets it (devices.apply_precision, which every Experiment calls again); returns (jax, the facts
    every JAX row reports: platform, device, precision, determinism, XLA flags, versions)."""
    select_jax(spec["device"])
    import jax
    import jaxlib
    import keras
    import numpy

    from cli.keras_backend import DETERMINISTIC_XLA_FLAG
    from devices import apply_precision

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
    apply_precision("jax", spec["precision"], "cpu" if platform_name == "cpu" else "gpu")
    device = jax.devices()[0]
    facts = {"platform": platform_name, "device_name": cpu_model() if platform_name == "cpu" else device.device_kind,
             "precision": spec["precision"], "deterministic": deterministic,
             "xla_flags": xla_flags, "xla_python_client_preallocate": os.environ.get("XLA_PYTHON_CLIENT_PREALLOCATE"),
             "settings": {"jax_default_matmul_precision": str(jax.config.jax_default_matmul_precision)},
             "versions": {"jax": jax.__version__, "jaxlib": jaxlib.__version__, "keras": keras.__version__,
                          "numpy": numpy.__version__}}
    return jax, facts


def peak_memory(jax):
    """JAX's peak device memory in use by this process (None on a CPU, which keeps no such figure)."""
    return (jax.devices()[0].memory_stats() or {}).get("peak_bytes_in_use")


def run_jax(spec, publish):
    jax, jax_facts = start_jax(spec)
    from keras_contenders import Runner
    dataset = load_data(spec)
    runner = Runner(dataset, nettype=spec["network"], backend="jax", epochs=spec["epochs"] + 1,
                    precision=spec["precision"], device=spec["device"])
    device = jax.devices()[0]
    facts = {"dataset": dataset.name, "training_examples": len(dataset.x_train), **jax_facts}

    def after_epoch(summary):
        memory = device.memory_stats() or {}  # None on a CPU
        publish({**facts, **summary, "peak_memory_bytes": memory.get("peak_bytes_in_use")})

    variables = runner.experiment.model.trainable_variables
    try:
        timing = time_epochs(runner.train_epoch, lambda: jax.block_until_ready([v.value for v in variables]),
                             spec["epochs"], after_epoch)
    finally:
        runner.close()
    if sys.modules.get("tensorflow") is not None:
        raise ContenderError("The JAX contender imported TensorFlow.")
    memory = device.memory_stats() or {}
    return {**facts, **timing, "peak_memory_bytes": memory.get("peak_bytes_in_use"),
            "tensorflow_imported": False, "torch_imported": "torch" in sys.modules}


def pack_timing(count, epochs):
    """The row's figures from its epochs (the first is the warm-up), each {"train_s", "record_s", ...}: median_s is the
    whole epoch (training + record), as bench/pack_speed.py times it, and runs per hour follow from it."""
    from pack_speed import summarise_epochs
    summary = summarise_epochs(count, epochs)
    totals = [round(epoch["train_s"] + epoch["record_s"], 4) for epoch in epochs]
    timing = {"warm_up_s": totals[0], "epoch_s": totals[1:], "train_s": [epoch["train_s"] for epoch in epochs[1:]],
              "record_s": [epoch["record_s"] for epoch in epochs[1:]],
              "warm_up_train_s": epochs[0]["train_s"], "warm_up_record_s": epochs[0]["record_s"],
              "loss_accuracy": [[round(epoch["loss"], 6), round(epoch["accuracy"], 6)] for epoch in epochs]}
    if len(epochs) > 1:
        timing.update(median_s=summary["median_epoch_s"], min_s=summary["min_epoch_s"],
                      median_train_s=summary["median_train_s"], median_record_s=summary["median_record_s"],
                      runs_per_hour=summary["runs_per_hour"],
                      runs_per_hour_training_only=summary["runs_per_hour_training_only"])
    return timing


def run_pack(spec, publish):
    """N runs in one training.driver.EpochDriver (N = 1: the solo runner, Experiment), built as MaskTrainer.py --nruns N
    --pack N builds them; each epoch trained, then recorded (write-back, evaluation, mask statistics, logs and
    checkpoints in a temporary folder), both timed."""
    import tempfile

    jax, jax_facts = start_jax(spec)
    from pack_speed import PackContender, estimated_bytes, make_experiments
    dataset = load_data(spec)
    count = spec["pack"]
    with tempfile.TemporaryDirectory(prefix="gpu-check-pack-") as output:
        started = time.perf_counter()
        experiments = make_experiments(dataset, spec["network"], count, output, precision=spec["precision"],
                                       device=spec["device"])
        contender = PackContender(experiments)
        facts = {"dataset": dataset.name, "training_examples": len(dataset.x_train),
                 "validation_examples": len(dataset.x_val), "test_examples": len(dataset.x_test), "pack": count,
                 "build_s": round(time.perf_counter() - started, 2),
                 "estimated_memory_bytes": estimated_bytes(experiments), **jax_facts}
        epochs = []
        for index in range(spec["epochs"] + 1):
            measured = contender.epoch()
            epochs.append({key: round(value, 4) for key, value in measured.items()})
            print(f"  epoch {index}{' (warm-up)' if index == 0 else ''}: training {measured['train_s']:.3f} s, record "
                  f"{measured['record_s']:.3f} s, {count} run(s), mean loss {measured['loss']:.4f}", flush=True)
            publish({**facts, **pack_timing(count, epochs), "peak_memory_bytes": peak_memory(jax)})
    if sys.modules.get("tensorflow") is not None:
        raise ContenderError("The JAX contender imported TensorFlow.")
    return {**facts, **pack_timing(count, epochs), "peak_memory_bytes": peak_memory(jax)}


def run_conv_forms(spec, publish):
    """Conv6's six convolutions, one training step of `members` members in five forms (bench/pack_speed.py's
    conv_forms): whether vmapped convolutions are what makes a Conv6 pack slow, and what the alternatives cost."""
    jax, jax_facts = start_jax(spec)
    from pack_speed import conv_forms
    facts = {"members": spec["members"], "batch_size": spec["batch_size"], **jax_facts}
    forms = conv_forms(spec["members"], spec["batch_size"], repetitions=spec["epochs"],
                       print_line=lambda line: print(line, flush=True),
                       after_form=lambda results: publish({**facts, "forms": dict(results),
                                                           "peak_memory_bytes": peak_memory(jax)}))
    return {**facts, "forms": forms, "peak_memory_bytes": peak_memory(jax)}


def torch_peer_class(network):
    """The masked PyTorch peer of a network (imported here: only the torch contenders need torch)."""
    if network == "LeNet":
        from torch_lenet import TorchPeer
        return TorchPeer
    if network == "Conv6":
        from torch_conv import TorchConvPeer
        return TorchConvPeer
    from torch_resnet import TorchResNetPeer
    return TorchResNetPeer


def run_torch(spec, publish):
    import numpy
    import torch

    if spec["device"] == "gpu" and not torch.cuda.is_available():
        raise ContenderError(f"torch {torch.__version__} sees no CUDA GPU; for a CPU smoke run pass --quick.")
    device = "cuda" if spec["device"] == "gpu" else "cpu"
    dataset = load_data(spec)
    peer_class = torch_peer_class(spec["network"])
    options = dict(compile=True, device=device, precision=spec["precision"])
    if spec["network"] == "LeNet":
        peer = peer_class(dataset.x_train, dataset.y_train, **options)
    else:
        peer = peer_class(spec["network"], dataset.x_train, dataset.y_train, **options)  # channels-last by default
    from torch_lenet import precision_settings
    on_gpu = device == "cuda"
    facts = {"dataset": dataset.name, "training_examples": len(dataset.x_train), "platform": device,
             "device_name": torch.cuda.get_device_name(0) if on_gpu else cpu_model(),
             "precision": spec["precision"], "deterministic": None,
             "jax_imported": "jax" in sys.modules, "keras_imported": "keras" in sys.modules,
             "settings": {"threads": torch.get_num_threads(), "cudnn_benchmark": torch.backends.cudnn.benchmark,
                          **precision_settings()},
             "versions": {"torch": torch.__version__, "torch_cuda": torch.version.cuda,
                          "cudnn": torch.backends.cudnn.version() if on_gpu else None, "numpy": numpy.__version__}}

    def memory():
        return {"peak_memory_bytes": torch.cuda.max_memory_allocated() if on_gpu else None,
                "peak_memory_reserved_bytes": torch.cuda.max_memory_reserved() if on_gpu else None}

    synchronize = torch.cuda.synchronize if on_gpu else (lambda: None)
    try:
        timing = time_epochs(peer.train_epoch, synchronize, spec["epochs"],
                             lambda summary: publish({**facts, **summary, **memory()}))
    finally:
        peer.close()
    return {**facts, **timing, **memory()}


def one_sentence(error):
    text = " ".join(str(error).split()) or "no message"
    return f"{type(error).__name__}: {text[:300]}" + ("" if text.endswith(".") else ".")


def main(argv):
    spec, result_path = json.loads(argv[0]), argv[1]
    run = {"jax": run_jax, "torch": run_torch, "pack": run_pack, "conv_forms": run_conv_forms}[spec["framework"]]
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
        result = {**base, **measured, "error": one_sentence(error), "traceback": traceback.format_exc()}
    write_result(result_path, result)
    if "error" in result:
        print(f"  FAILED: {result['error']}", flush=True)
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
