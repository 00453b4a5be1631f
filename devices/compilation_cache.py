"""JAX's persistent compilation cache for the runs: a program compiled once on a machine is read back by every
later run that compiles the same program (the next seed of a grid, a resumed run, a Sweep.py worker's next run),
instead of being compiled again; standard library only (it runs before JAX starts).

`MASKTRAINER_JAX_CACHE`: `on` (the folder below), any other value (a folder of your own), `off` or unset (no cache,
the default until it has been measured on a GPU). A cached program is the executable XLA made, so a run that reads
it computes exactly what a run that compiles it does.

FOLDER is ROOT/<device>-<key>: ROOT is `~/.cache/masktrainer/jax-compilation` (under XDG_CACHE_HOME where set), and
key a hash of what an executable is only valid for: the CPU's model and instruction sets (a program compiled for
AVX-512 does not run where there is none: a home folder shared by a cluster's nodes holds one cache per kind of node),
the GPU model and the NVIDIA driver, and the versions of jax, jaxlib and the CUDA plugins. JAX keys each program
within the folder (its computation, the XLA flags, the device). Every program is kept, however quick its compilation
(JAX keeps only those that took 1 s by default): a run compiles a few dozen programs, most well under a second on a
CPU, and with JAX's threshold a second LeNet run compiled everything again (16.7 s of CPU against 16.3 s for the
first; with every program kept, 6.1 s). A Conv2 run keeps 76 programs, 0.7 MB. Where the user sets
JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS, that wins. Where the user sets JAX_COMPILATION_CACHE_DIR, JAX uses that
folder and nothing is added.

With a compilation cache (this one or the user's JAX_COMPILATION_CACHE_DIR) JAX also points XLA's per-fusion
autotuning cache into it, in place of the folder that XLA_FLAGS names (`--xla_gpu_per_fusion_autotune_cache_dir`:
the autotuning cache of devices/autotune_cache.py, or the user's own); where XLA_FLAGS names one, JAX is told not to
(JAX_PERSISTENT_CACHE_ENABLE_XLA_CACHES=none), so that the kernels' choices stay where the device line says they
are.
"""

import hashlib
import os
import re

from devices.autotune_cache import keyed_folder, user_cache_root

VARIABLE = "MASKTRAINER_JAX_CACHE"
USER_VARIABLE = "JAX_COMPILATION_CACHE_DIR"
MIN_COMPILE_TIME_VARIABLE = "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"
XLA_CACHES_VARIABLE = "JAX_PERSISTENT_CACHE_ENABLE_XLA_CACHES"
AUTOTUNE_FOLDER_FLAG = "xla_gpu_per_fusion_autotune_cache_dir"
OPTIONAL_SETTINGS = ("jax_persistent_cache_min_compile_time_secs", "jax_persistent_cache_enable_xla_caches")
CPU_INFO_FILE = "/proc/cpuinfo"
FOLDER_IN_USE = []  # the folder this process's JAX uses, for the run's device line (runner/process.py)


class CompilationCacheError(ValueError):
    """The cache folder cannot be used; one sentence saying what to do."""


def cache_root(environ):
    """The folder MASKTRAINER_JAX_CACHE names, or None when the cache is off or the user's JAX_COMPILATION_CACHE_DIR
    decides."""
    return None if environ.get(USER_VARIABLE) else user_cache_root(environ, VARIABLE, "jax-compilation")


def cpu_model_and_features(info_file=CPU_INFO_FILE):
    """(the CPU's model name, its sorted instruction-set flags) from /proc/cpuinfo; (None, "") where unreadable."""
    try:
        with open(info_file, encoding="utf-8") as handle:
            text = handle.read()
    except OSError:
        return None, ""
    model = re.search(r"^model name\s*:\s*(.+)$", text, re.MULTILINE)
    flags = re.search(r"^(?:flags|Features)\s*:\s*(.+)$", text, re.MULTILINE)
    return (model.group(1).strip() if model else None), " ".join(sorted(flags.group(1).split()) if flags else [])


def machine_key(cpu, cpu_features, gpu, driver, versions):
    """What a compiled executable is valid for: {cpu, cpu_features, gpu, driver, and each package's version}."""
    return {"cpu": cpu, "cpu_features": hashlib.sha256(cpu_features.encode()).hexdigest()[:16], "gpu": gpu,
            "driver": driver, **{name: versions.get(name) for name in sorted(versions)}}


def cache_folder(root, key):
    return keyed_folder(root, key, key.get("gpu") or key.get("cpu") or "cpu")


def prepared_cache_folder(environ, cpu, cpu_features, gpu, driver, versions):
    """The folder this process's JAX keeps its compiled programs in (made where missing), or None when off."""
    root = cache_root(environ)
    if root is None:
        return None
    folder = cache_folder(root, machine_key(cpu, cpu_features, gpu, driver, versions))
    try:
        os.makedirs(folder, exist_ok=True)
        if not os.access(folder, os.W_OK):
            raise PermissionError(13, "Permission denied", folder)
    except OSError as error:
        raise CompilationCacheError(f"The compilation cache {error.filename or folder} cannot be written "
                                    f"({error.strerror}); set {VARIABLE} to a folder you can write, or to "
                                    "off.") from None
    return folder


def jax_settings(folder, environ):
    """{JAX configuration option: value}: with a folder (None: the cache is off or the user's own), this process's
    compiled programs kept there, every one; in any case XLA's autotuning cache left where XLA_FLAGS names it (module
    docstring). What the user's variables set is left to them."""
    settings = {}
    if folder:
        settings["jax_compilation_cache_dir"] = folder
        if MIN_COMPILE_TIME_VARIABLE not in environ:
            settings["jax_persistent_cache_min_compile_time_secs"] = 0.0
    if AUTOTUNE_FOLDER_FLAG in environ.get("XLA_FLAGS", "") and XLA_CACHES_VARIABLE not in environ:
        settings["jax_persistent_cache_enable_xla_caches"] = "none"
    return settings
