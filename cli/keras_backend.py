"""Chooses Keras' backend for this process, before Keras is imported (Keras reads KERAS_BACKEND once).

The backend of a run is `--backend` when given, else that of the run being resumed (from its logs),
else KERAS_BACKEND, else tensorflow. On JAX, XLA is asked for deterministic GPU kernels (same seed,
same machine: identical results); on TensorFlow, op determinism is enabled by the runner.
The device (`--device`, devices/selection.py) is prepared before the import and checked right after it.
"""

import json
import os
import sys

BACKENDS = ("tensorflow", "jax")
DEFAULT_BACKEND = "tensorflow"
DETERMINISTIC_XLA_FLAG = "--xla_gpu_deterministic_ops=true"


class BackendError(ValueError):
    """The backend or device asked for cannot be used; one sentence."""


def environment_backend():
    """KERAS_BACKEND when set, else tensorflow (the value --backend defaults to)."""
    return os.environ.get("KERAS_BACKEND") or DEFAULT_BACKEND


def _flag_value(argv, flag):
    for index, argument in enumerate(argv):
        if argument == flag and index + 1 < len(argv):
            return argv[index + 1]
        if argument.startswith(flag + "="):
            return argument.split("=", 1)[1]
    return None


def run_backend(target, outputpath):
    """The backend stored in the logs of a run (its _logs.json file, or its run ID under outputpath), or None if
    they cannot be read (the caller then reports why)."""
    return run_setting(target, outputpath, "backend", DEFAULT_BACKEND)


def run_setting(target, outputpath, name, default):
    """A setting stored in the logs of a run (default when the logs predate it), or None if they cannot be read."""
    from results import paths
    if not os.path.isfile(target):
        matches = paths.find_run(target, outputpath) if paths.is_run_id(target) else []
        if len(matches) != 1:
            return None
        target = matches[0]
    try:
        with open(target, encoding="utf-8") as handle:
            return json.load(handle)["config"].get(name, default)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def pack_file_setting(path, name, default):
    """A setting of the first run of a pack file (MaskTrainer.py --pack-file), or None if the file cannot be read
    (its reader, runner/packs.py, then says why)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)["runs"][0].get(name, default)
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None


def requested_backend(argv):
    """The backend a command line asks for (see the module docstring)."""
    backend = _flag_value(argv, "--backend")
    pack_file = _flag_value(argv, "--pack-file")
    if backend is None and pack_file is not None:
        backend = pack_file_setting(pack_file, "backend", DEFAULT_BACKEND)
    resumed = _flag_value(argv, "--resume")
    if resumed is not None:
        own = run_backend(resumed, _flag_value(argv, "--outputpath") or "Outputs")
        if backend is not None and own is not None and backend != own:
            raise BackendError(f"The run {resumed} trains on {own}, and --resume continues it there; leave "
                               f"--backend {backend} out.")
        backend = own or backend
    if backend is None:
        backend = environment_backend()
        if backend not in BACKENDS:
            raise BackendError(f"KERAS_BACKEND is {backend}, which this tool does not run on; set it to "
                               f"{' or '.join(BACKENDS)}, or unset it.")
    return backend


def requested_device(argv):
    """The --device of a command line; without the flag, that of the run being resumed, else auto."""
    from devices import DEFAULT_DEVICE
    device, resumed = _flag_value(argv, "--device"), _flag_value(argv, "--resume")
    pack_file = _flag_value(argv, "--pack-file")
    if device is None and resumed is not None:
        device = run_setting(resumed, _flag_value(argv, "--outputpath") or "Outputs", "device", DEFAULT_DEVICE)
    if device is None and pack_file is not None:
        device = pack_file_setting(pack_file, "device", DEFAULT_DEVICE)
    return device or DEFAULT_DEVICE


def select_backend(backend, device=None):
    """Makes `backend` Keras' backend in this process and imports Keras (TensorFlow without its start-up
    chatter). A backend outside BACKENDS is left to the command line's own check. device (auto, cpu, gpu):
    prepare and check it (devices/selection.py); None, for the tools that train nothing: leave the devices as the
    backend finds them."""
    if backend not in BACKENDS:
        backend = DEFAULT_BACKEND
    _import_backend(backend, device)
    if device is not None:
        import devices
        try:
            devices.check(backend, device)
        except devices.DeviceError as error:
            raise BackendError(str(error)) from None


def _import_backend(backend, device):
    if "keras" in sys.modules:
        import keras
        if keras.backend.backend() != backend:
            raise BackendError(f"Keras already runs on {keras.backend.backend()} in this process, so it cannot "
                               f"train on {backend}; start a new process with --backend {backend}.")
        return
    import importlib.util
    if importlib.util.find_spec(backend) is None:
        raise BackendError(f"{backend} is not installed in this Python, so --backend {backend} cannot run; install "
                           f"requirements.txt (or pass --backend {' / '.join(set(BACKENDS) - {backend})}).")
    os.environ["KERAS_BACKEND"] = backend
    if device is not None:
        import devices
        devices.prepare(backend, device)
    if backend == "jax":
        # Keras imports TensorFlow on any backend when it is installed (keras.utils.set_random_seed seeds it
        # too): seconds and about a gigabyte that a JAX run never uses. Marked absent, it is skipped.
        sys.modules.setdefault("tensorflow", None)
        flags = os.environ.get("XLA_FLAGS", "")
        if "xla_gpu_deterministic_ops" not in flags:
            os.environ["XLA_FLAGS"] = f"{flags} {DETERMINISTIC_XLA_FLAG}".strip()
        import keras  # noqa: F401
    else:
        from quiet_tensorflow import import_tensorflow_quietly
        import_tensorflow_quietly()


def select_installed_backend():
    """For the tools that train nothing (Sweep.py, Plotter.py): Keras as already loaded, else on KERAS_BACKEND's
    backend, else on the first installed."""
    import importlib.util
    if "keras" in sys.modules:
        return
    preferred = environment_backend()
    candidates = ([preferred] if preferred in BACKENDS else []) + list(BACKENDS)
    installed = [backend for backend in candidates if importlib.util.find_spec(backend) is not None]
    if not installed:
        raise BackendError("Neither TensorFlow nor JAX is installed in this Python; install requirements.txt.")
    select_backend(installed[0])
