"""Which device a run trains on (`--device auto|cpu|gpu`), chosen before Keras starts and checked after.

The rule: a run never lands on the CPU silently when a GPU was asked for or is visible.
- cpu: the CPU only (JAX_PLATFORMS=cpu; TensorFlow's GPUs hidden), whatever the machine has.
- gpu: the backend must see a GPU; otherwise the run is refused in one sentence that says why (no CUDA build
  of jaxlib, a CUDA plugin of another version than jaxlib, no device visible, a CPU-only TensorFlow).
- auto: the GPU when the NVIDIA driver shows one to this process, else the CPU. A GPU that is visible but that
  the backend cannot use is refused as under `gpu`, with `--device cpu` named as the way to train on the CPU.
JAX itself falls back to the CPU with one warning when its CUDA plugin fails; JAX_PLATFORMS=cuda, set here
before JAX is imported, turns that fallback into an error that `check` explains.

What the driver shows is read from /proc/driver/nvidia/gpus (one entry per GPU) and CUDA_VISIBLE_DEVICES (Ray
and Slurm set it per task), so a process can tell without importing JAX, e.g. to give runs their GPU shares.
"""

import dataclasses
import importlib.metadata
import os
import re

DEVICES = ("auto", "cpu", "gpu")
DEFAULT_DEVICE = "auto"
NVIDIA_GPUS_FOLDER = "/proc/driver/nvidia/gpus"
DEVICE_FILES_FOLDER = "/dev"
CUDA_PLUGINS = ("jax-cuda13-plugin", "jax-cuda13-pjrt", "jax-cuda12-plugin", "jax-cuda12-pjrt")


class DeviceError(RuntimeError):
    """The device asked for cannot be used; one sentence."""


@dataclasses.dataclass(frozen=True)
class Device:
    """Where the runs of this process train: platform "cpu" or "gpu", the device's name and how many the
    backend sees."""
    platform: str
    name: str
    count: int = 1
    requested: str = DEFAULT_DEVICE

    def describe(self):
        more = f" (the first of {self.count} visible)" if self.platform == "gpu" and self.count > 1 else ""
        return f"{self.platform.upper()}: {self.name}{more}"

    def to_dict(self):
        return dataclasses.asdict(self)


_current = None


def current():
    """The Device that `check` found in this process, or None before it ran."""
    return _current


def driver_gpu_count():
    """How many NVIDIA GPUs the driver has: its /proc entries, or its /dev/nvidiaN device files where /proc/driver
    is not mounted (some containers)."""
    try:
        return len(os.listdir(NVIDIA_GPUS_FOLDER))
    except OSError:
        pass
    try:
        return sum(1 for name in os.listdir(DEVICE_FILES_FOLDER) if re.fullmatch(r"nvidia\d+", name))
    except OSError:
        return 0


def visible_gpus(environ=None):
    """The ids of the NVIDIA GPUs a process started with `environ` (default: this one's) may use: the driver's
    GPUs, restricted by CUDA_VISIBLE_DEVICES ("" or "-1" hides them all). No JAX import."""
    environ = os.environ if environ is None else environ
    ids = [str(index) for index in range(driver_gpu_count())]
    restriction = environ.get("CUDA_VISIBLE_DEVICES")
    if restriction is None or not ids:
        return ids
    chosen = []
    for item in restriction.split(","):
        item = item.strip()
        if not item or item.startswith("-") or (item.isdigit() and item not in ids):
            break  # CUDA ignores an invalid entry and everything after it
        chosen.append(item)  # an index, or a GPU-/MIG- UUID, which CUDA resolves
    return chosen


def refusal_opening(device):
    """(how the sentence opens, how it ends) of a refusal under --device gpu or auto."""
    if device == "gpu":
        return "--device gpu asks for a GPU, but", ""
    return "A GPU is visible, but", ", or pass --device cpu to train on the CPU"


def prepare(backend, device):
    """Before Keras (and JAX or TensorFlow) is imported: makes the backend see the devices `device` allows."""
    if device not in DEVICES:
        return  # the command line's own check refuses it
    if backend == "jax":
        if device == "cpu":
            os.environ["JAX_PLATFORMS"] = "cpu"
        elif device == "gpu" or (visible_gpus() and not os.environ.get("JAX_PLATFORMS")):
            # Without this JAX would fall back to the CPU with only a warning when its CUDA plugin fails.
            os.environ["JAX_PLATFORMS"] = "cuda"
        elif not os.environ.get("JAX_PLATFORMS"):
            os.environ["JAX_PLATFORMS"] = "cpu"  # no GPU: skip JAX's search for one (and its warnings)


def check(backend, device):
    """After the backend is imported: the Device the runs train on, or DeviceError saying why `device` cannot
    be had. Records the answer for `current()`."""
    global _current
    found = _check_jax(device) if backend == "jax" else _check_tensorflow(device)
    _current = dataclasses.replace(found, requested=device)
    return _current


def _cpu_name():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or platform.machine() or "CPU"


def _cpu_device():
    return Device("cpu", _cpu_name(), os.cpu_count() or 1)


def _check_jax(device):
    import jax
    try:
        devices = jax.devices()
    except Exception as error:  # JAX raises RuntimeError, or an AssertionError when no platform initialised
        raise DeviceError(jax_gpu_problem(error, device)) from None
    gpus = [item for item in devices if item.platform == "gpu"]
    if gpus:
        return Device("gpu", gpus[0].device_kind, len(gpus))
    if device == "gpu":
        raise DeviceError(jax_gpu_problem(None, device))
    return _cpu_device()


def installed_versions(names):
    """{distribution: version} of those of `names` that are installed."""
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return versions


def jax_gpu_problem(error, device):
    """Why JAX cannot use a GPU here, in one sentence."""
    import jaxlib
    plugins = installed_versions(CUDA_PLUGINS)
    fix = "install the CUDA build of the same JAX version (make setup-gpu, or pip install -r requirements-gpu.txt)"
    asked, hint = refusal_opening(device)
    if not visible_gpus():
        build = "" if plugins else f", and JAX {jaxlib.__version__} here is the CPU-only build"
        return (f"{asked} no NVIDIA GPU is visible to this process (none in {NVIDIA_GPUS_FOLDER}, or "
                f"CUDA_VISIBLE_DEVICES hides them){build}.")
    if not plugins:
        return f"{asked} JAX {jaxlib.__version__} here is the CPU-only build (no CUDA plugin): {fix}{hint}."
    mismatched = {name: version for name, version in plugins.items() if version != jaxlib.__version__}
    if mismatched:
        names = ", ".join(f"{name} {version}" for name, version in mismatched.items())
        return f"{asked} JAX cannot use it: {names} does not match jaxlib {jaxlib.__version__}; {fix}{hint}."
    reason = str(error).strip().splitlines()[0] if error is not None and str(error).strip() else "no CUDA device"
    return f"{asked} JAX could not start it ({reason}); check the NVIDIA driver (nvidia-smi){hint}."


def _check_tensorflow(device):
    import tensorflow as tf
    gpus = tf.config.list_physical_devices("GPU")
    if device == "cpu":
        if gpus:
            tf.config.set_visible_devices([], "GPU")
        return _cpu_device()
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return Device("gpu", details.get("device_name", gpus[0].name), len(gpus))
    if device == "gpu" or visible_gpus():
        asked, hint = refusal_opening(device)
        raise DeviceError(f"{asked} TensorFlow here cannot use one (this project installs the CPU-only "
                          f"tensorflow-cpu): train on the GPU with --backend jax{hint}.")
    return _cpu_device()


def describe_current(backend):
    """The Device of this process: what `check` found, else (a library caller that never asked) what the backend
    uses now, never refused."""
    if _current is not None:
        return _current
    try:
        return check(backend, DEFAULT_DEVICE)
    except DeviceError:
        return _cpu_device()
