"""Deterministic GPU kernels without giving up XLA's autotuning: its choices persisted, per GPU model and software,
in a per-user cache folder; standard library only (it runs before JAX starts).

Without the cache, a JAX run on a GPU asks XLA for `--xla_gpu_deterministic_ops=true`, which also turns autotuning off:
XLA takes the first kernel configuration that compiles (measured on an H200: 19-41% slower epochs). With
`MASKTRAINER_XLA_AUTOTUNE_CACHE` set (`on`: the folder below; any other value: a folder of your own; `off` or unset:
no cache, the default until the cache has been checked on a GPU), a run asks instead for

- `--xla_gpu_exclude_nondeterministic_ops=true`: no operation whose result depends on the order of its threads
  (what makes `--xla_gpu_deterministic_ops` deterministic too), while XLA still autotunes;
- `--xla_gpu_per_fusion_autotune_cache_dir=FOLDER` with `--xla_gpu_experimental_autotune_cache_mode=
  AUTOTUNE_CACHE_MODE_UPDATE`: every kernel choice XLA makes is written there, one file per fused computation, the
  first time it is tuned, and read by every later compilation of it, so that the same program compiles to the same
  kernels again: two runs of a configuration give identical logs.

FOLDER is ROOT/<GPU model>-<key>: ROOT is `~/.cache/masktrainer/xla-autotune` (under XDG_CACHE_HOME where set),
and key a hash of what decides XLA's choices and its file format: the GPU model, the NVIDIA driver, jax, jaxlib
and the CUDA plugin's versions. A new model or version gets a folder of its own. FOLDER/key.json records them,
written when the folder is made, before any run uses it:
- a folder without key.json was left half made (its maker stopped): it is made again;
- a key.json that is not this folder's key, or a cache entry that is empty or unreadable (a write cut short), is
  refused in one sentence that says to remove the folder: redone silently, it would give kernels other than those
  the earlier runs used.
The user's XLA_FLAGS win: where they set any of these flags or `xla_gpu_deterministic_ops` themselves, nothing is
added.
"""

import hashlib
import json
import os
import re
import shutil

VARIABLE = "MASKTRAINER_XLA_AUTOTUNE_CACHE"
KEY_FILE = "key.json"
OUR_FLAGS = ("xla_gpu_exclude_nondeterministic_ops", "xla_gpu_per_fusion_autotune_cache_dir",
             "xla_gpu_experimental_autotune_cache_mode")
USER_DECIDES = (*OUR_FLAGS, "xla_gpu_deterministic_ops")
NVIDIA_GPUS_FOLDER = "/proc/driver/nvidia/gpus"
NVIDIA_VERSION_FILE = "/proc/driver/nvidia/version"
AUTOTUNE_NOTES = []  # what preparing the cache had to say, for the run's first lines (runner/process.py)


EXCLUDE_NONDETERMINISTIC_FLAG = "--xla_gpu_exclude_nondeterministic_ops=true"
DETERMINISTIC_OPS_FLAG = "--xla_gpu_deterministic_ops=true"


def kernel_choice(xla_flags):
    """What XLA_FLAGS ask of XLA's GPU kernels: ("autotuned", the cache folder), deterministic and their tuning kept;
    ("deterministic", None); or (None, None), kernels free to differ from run to run."""
    flags = xla_flags.split()
    deterministic = DETERMINISTIC_OPS_FLAG in flags or EXCLUDE_NONDETERMINISTIC_FLAG in flags
    cache = next((flag.split("=", 1)[1] for flag in flags
                  if flag.startswith("--xla_gpu_per_fusion_autotune_cache_dir=")), None)
    if deterministic and cache and EXCLUDE_NONDETERMINISTIC_FLAG in flags:
        return "autotuned", cache
    return ("deterministic" if deterministic else None), None


class AutotuneCacheError(ValueError):
    """The cache folder cannot be used as it is; one sentence saying what to do."""


def user_cache_root(environ, variable, name):
    """The folder the environment variable `variable` names: `on`, ~/.cache/masktrainer/NAME (under XDG_CACHE_HOME
    where set); `off` or unset, None; any other value, that folder."""
    value = (environ.get(variable) or "off").strip()
    if value.lower() == "off":
        return None
    if value.lower() == "on":
        base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        return os.path.join(base, "masktrainer", name)
    return os.path.abspath(os.path.expanduser(value))


def keyed_folder(root, key, device):
    """ROOT/<device>-<hash of key>: one folder per key, named after the device it is for."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return os.path.join(root, f"{re.sub(r'[^A-Za-z0-9]+', '-', device).strip('-')}-{digest}")


def cache_root(environ):
    """The folder MASKTRAINER_XLA_AUTOTUNE_CACHE names, or None when the cache is off."""
    return user_cache_root(environ, VARIABLE, "xla-autotune")


def cache_key(gpu, driver, versions):
    """What decides XLA's kernel choices and its cache's format: {gpu, driver, and each package's version}."""
    return {"gpu": gpu, "driver": driver, **{name: versions.get(name) for name in sorted(versions)}}


def described(key):
    return (f"{key.get('gpu') or 'an unknown GPU'} (driver {key.get('driver')}, jax {key.get('jax')}, jaxlib "
            f"{key.get('jaxlib')})")


def cache_folder(root, key):
    return keyed_folder(root, key, key["gpu"] or "gpu")


def prepared_folder(folder, key):
    """Makes `folder` for `key`, or checks the one there; returns a note to print, or None."""
    key_path = os.path.join(folder, KEY_FILE)
    note = None
    if os.path.isdir(folder) and not os.path.exists(key_path):
        shutil.rmtree(folder)
        note = f"The autotuning cache {folder} was left half made; it is made again."
    if not os.path.isdir(folder):
        os.makedirs(folder)
        temporary = key_path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(key, handle, sort_keys=True)
        os.replace(temporary, key_path)
        return note
    remove = f"remove it (rm -r {folder}) to tune anew, or set {VARIABLE} to another folder"
    try:
        with open(key_path, encoding="utf-8") as handle:
            found = json.load(handle)
    except (OSError, ValueError):
        found = None
    if found != key:
        held = described(found) if isinstance(found, dict) else "an unreadable key"
        raise AutotuneCacheError(f"The autotuning cache {folder} holds choices for {held}, not for this "
                                 f"{described(key)}: {remove}.")
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name == KEY_FILE or not os.path.isfile(path) or name.endswith(".tmp"):
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                readable = bool(handle.read().strip())
        except (OSError, UnicodeDecodeError):
            readable = False
        if not readable:
            raise AutotuneCacheError(f"The autotuning cache {folder} holds an empty or unreadable entry ({name}), "
                                     f"a write cut short: {remove}.")
    return note


def autotune_flags(environ, gpu, driver, versions):
    """(XLA flags to add, the cache folder or None, a note or None) for a JAX process that trains on a GPU."""
    root = cache_root(environ)
    user_flags = environ.get("XLA_FLAGS", "")
    if root is None or any(name in user_flags for name in USER_DECIDES):
        return [], None, None
    key = cache_key(gpu, driver, versions)
    folder = cache_folder(root, key)
    note = prepared_folder(folder, key)
    flags = [EXCLUDE_NONDETERMINISTIC_FLAG, f"--xla_gpu_per_fusion_autotune_cache_dir={folder}",
             "--xla_gpu_experimental_autotune_cache_mode=AUTOTUNE_CACHE_MODE_UPDATE"]
    return flags, folder, note


def gpu_and_driver(gpus_folder=NVIDIA_GPUS_FOLDER, version_file=NVIDIA_VERSION_FILE):
    """(the first GPU's model, the driver's version) from the NVIDIA driver's /proc files, without starting CUDA."""
    model = driver = None
    try:
        first = sorted(os.listdir(gpus_folder))[0]
        with open(os.path.join(gpus_folder, first, "information"), encoding="utf-8") as handle:
            model = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("Model:")), None)
    except (OSError, IndexError):
        pass
    try:
        with open(version_file, encoding="utf-8") as handle:
            found = re.search(r"Kernel Module\s+(?:for \S+\s+)?([\d.]+)", handle.read())
            driver = found.group(1) if found else None
    except OSError:
        pass
    return model, driver
