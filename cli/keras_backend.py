"""Chooses Keras' backend for this process, before Keras is imported (Keras reads KERAS_BACKEND once).

The backend of a run is that of the run being resumed or the pack file's runs, else `--backend`, else
KERAS_BACKEND, else tensorflow (MaskTrainer.py reads its whole command line first, Keras-free). On JAX, XLA is
asked for deterministic GPU kernels (same seed, same machine: identical results); on TensorFlow, op determinism is
enabled by the runner.
The device (`--device`, devices/selection.py) is prepared before the import and checked right after it.
"""

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


def check_environment_backend():
    """Raises BackendError when KERAS_BACKEND names a backend this tool does not run on."""
    backend = environment_backend()
    if backend not in BACKENDS:
        raise BackendError(f"KERAS_BACKEND is {backend}, which this tool does not run on; set it to "
                           f"{' or '.join(BACKENDS)}, or unset it.")


def backend_and_device(given, config, resumed=None, packed=None, source="the run"):
    """Where MaskTrainer.py's command line trains: (backend, device). given: the flags given ({name: value});
    config: the RunConfig of the flags; resumed: the stored settings of the run --resume continues; packed: the
    first RunConfig of --pack-file's runs; source: what they are, for messages ("the run X", "the runs of F").
    A resumed or packed run trains on its own backend (an explicit other --backend is refused) and, without
    --device, on its own device."""
    own = resumed.get("backend", DEFAULT_BACKEND) if resumed is not None else packed.backend if packed else None
    if own is not None and "backend" in given and given["backend"] != own:
        flag = "--resume" if resumed is not None else "--pack-file"
        raise BackendError(f"{source[0].upper()}{source[1:]} trains on {own}, and {flag} continues there; leave "
                           f"--backend {given['backend']} out.")
    if own is None and "backend" not in given:
        check_environment_backend()
    device = given.get("device")
    if device is None and resumed is not None:
        device = resumed.get("device")
    if device is None and packed is not None:
        device = packed.device
    return own or config.backend, device or config.device


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
        added = autotuning_flags() if os.environ.get("JAX_PLATFORMS") == "cuda" else []
        if not added and "xla_gpu_deterministic_ops" not in flags and "xla_gpu_exclude_nondeterministic" not in flags:
            added = [DETERMINISTIC_XLA_FLAG]
        os.environ["XLA_FLAGS"] = " ".join([flags, *added]).strip()
        folder = compilation_cache_folder()
        import jax
        import keras  # noqa: F401

        from devices.compilation_cache import OPTIONAL_SETTINGS, jax_settings
        for option, value in jax_settings(folder, os.environ).items():  # before the first compilation
            # a tuning option that a later JAX drops is left out; the cache's folder itself is not optional
            if option in jax.config.values or option not in OPTIONAL_SETTINGS:
                jax.config.update(option, value)
    else:
        from quiet_tensorflow import import_tensorflow_quietly
        import_tensorflow_quietly()


def autotuning_flags():
    """The XLA flags of deterministic autotuned kernels (devices/autotune_cache.py) where MASKTRAINER_XLA_AUTOTUNE_CACHE
    asks for them, else none; a cache that cannot be used is a BackendError."""
    from devices.autotune_cache import AUTOTUNE_NOTES, AutotuneCacheError, autotune_flags, gpu_and_driver
    from devices.selection import installed_versions
    versions = installed_versions(("jax", "jaxlib", "jax-cuda12-plugin", "jax-cuda13-plugin"))
    try:
        flags, _, note = autotune_flags(os.environ, *gpu_and_driver(), versions)
    except AutotuneCacheError as error:
        raise BackendError(str(error)) from None
    except OSError as error:
        raise BackendError(f"The autotuning cache cannot be written ({error.strerror}: {error.filename}); set "
                           f"MASKTRAINER_XLA_AUTOTUNE_CACHE to a folder you can write, or to off.") from None
    if note:
        AUTOTUNE_NOTES.append(note)
    return flags


def compilation_cache_folder():
    """The folder of JAX's persistent compilation cache (devices/compilation_cache.py) where MASKTRAINER_JAX_CACHE asks
    for one, else None; a folder that cannot be written is a BackendError."""
    from devices.autotune_cache import gpu_and_driver
    from devices.compilation_cache import (
        FOLDER_IN_USE,
        CompilationCacheError,
        cache_root,
        cpu_model_and_features,
        prepared_cache_folder,
    )
    from devices.selection import installed_versions
    FOLDER_IN_USE.clear()
    if cache_root(os.environ) is None:
        return None
    versions = installed_versions(("jax", "jaxlib", "jax-cuda12-plugin", "jax-cuda13-plugin"))
    try:
        folder = prepared_cache_folder(os.environ, *cpu_model_and_features(), *gpu_and_driver(), versions)
    except CompilationCacheError as error:
        raise BackendError(str(error)) from None
    FOLDER_IN_USE.append(folder)
    return folder


def select_installed_backend():
    """For the tools that read Keras' registry without training (scripts/flags_reference.py): Keras as already loaded,
    else on KERAS_BACKEND's backend, else on the first installed."""
    import importlib.util
    if "keras" in sys.modules:
        return
    preferred = environment_backend()
    candidates = ([preferred] if preferred in BACKENDS else []) + list(BACKENDS)
    installed = [backend for backend in candidates if importlib.util.find_spec(backend) is not None]
    if not installed:
        raise BackendError("Neither TensorFlow nor JAX is installed in this Python; install requirements.txt.")
    select_backend(installed[0])
