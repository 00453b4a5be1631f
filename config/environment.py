"""The environment variables that change what the tool does, and those it sets for its runs, in one list:
scripts/flags_reference.py writes it into docs/FLAGS.md beside the flags, and tests/test_docs.py checks that every
MASKTRAINER_* variable the code names is here. Flags are the way to configure a run; these variables are for what
belongs to a machine or a whole session (caches, data downloads, a cluster's address) and for the libraries
underneath. Left out: what Slurm and Ray set for their own tasks (SLURM_JOB_ID, its array's IDs), which the tool
only reads."""

from dataclasses import dataclass


@dataclass(frozen=True)
class EnvironmentVariable:
    name: str  # a name, or a prefix ending in "*"
    values: str  # what it takes, and its default
    effect: str
    explained: str  # the document that explains it


SET_BY_THE_TOOL = "set by the tool"

VARIABLES = (
    EnvironmentVariable("KERAS_BACKEND", "tensorflow, jax; default tensorflow",
                        "the backend of runs that pass no `--backend` (and of a grid's runs without "
                        "`--keras-backend`)", "docs/GPUS.md"),
    EnvironmentVariable("MASKTRAINER_NO_DOWNLOAD", "1 (any value but empty or 0); default unset",
                        "never download a data set: a run without `--data-dir` and without Keras' cached copy is "
                        "refused instead (`--dataset auto` on MNIST falls back to the subset)", "docs/RUNS.md"),
    EnvironmentVariable("KERAS_HOME", "a folder; default ~/.keras",
                        "where Keras keeps downloaded data sets (`datasets/`), read before downloading",
                        "docs/RUNS.md"),
    EnvironmentVariable("MASKTRAINER_JAX_CACHE", "on, off or a folder; default off",
                        "JAX runs keep every program they compile and read it back in later runs "
                        "(~/.cache/masktrainer/jax-compilation, one folder per kind of machine)", "docs/GPUS.md"),
    EnvironmentVariable("MASKTRAINER_XLA_AUTOTUNE_CACHE", "on, off or a folder; default off",
                        "JAX runs on a GPU: deterministic kernels chosen by autotuning, the choices kept "
                        "(~/.cache/masktrainer/xla-autotune)", "docs/GPUS.md"),
    EnvironmentVariable("XDG_CACHE_HOME", "a folder; default ~/.cache",
                        "where the two caches above go when set to `on`", "docs/GPUS.md"),
    EnvironmentVariable("JAX_COMPILATION_CACHE_DIR", "a folder; default unset",
                        "JAX's own compilation cache; where set, MASKTRAINER_JAX_CACHE adds nothing", "docs/GPUS.md"),
    EnvironmentVariable("JAX_PERSISTENT_CACHE_*", "JAX's settings of its compilation cache; default JAX's, but with "
                        "MASKTRAINER_JAX_CACHE every program is kept",
                        "yours win over the tool's (the shortest compile time of a program kept, XLA's caches moved "
                        "into it)", "docs/GPUS.md"),
    EnvironmentVariable("MASKTRAINER_PACK_FORM", "vmap, unrolled, folded; default: chosen per device and network",
                        "how a pack (`--pack N`) computes its members, for measuring the forms", "docs/GPUS.md"),
    EnvironmentVariable("MASKTRAINER_CLAIM_STALE_S", "seconds; default 300",
                        "how long another host's claim on a run may go unrefreshed before the run counts as "
                        "abandoned and is taken over", "docs/RUNS.md"),
    EnvironmentVariable("XLA_FLAGS", "XLA's flags; default: JAX runs get `--xla_gpu_deterministic_ops=true` (with "
                        "MASKTRAINER_XLA_AUTOTUNE_CACHE on a GPU, its own flags instead)",
                        "yours win: a determinism flag of your own replaces the tool's", "docs/GPUS.md"),
    EnvironmentVariable("JAX_PLATFORMS", "cpu, cuda; default: set from `--device` before JAX starts",
                        "with `--device auto`, yours is kept", "docs/GPUS.md"),
    EnvironmentVariable("XLA_PYTHON_CLIENT_*", "JAX's memory settings; default: set by a sweep whose runs share a GPU",
                        "any one you set, and the sweep sets none of them", "experiments/README.md"),
    EnvironmentVariable("TF_FORCE_GPU_ALLOW_GROWTH", "true, false; default: true for runs sharing a GPU",
                        "TensorFlow's GPU memory growth; yours wins", "experiments/README.md"),
    EnvironmentVariable("CUDA_VISIBLE_DEVICES", "GPU indices; default: every GPU",
                        "the GPUs runs may use; a local sweep spreads its workers over them", "experiments/README.md"),
    EnvironmentVariable("CUDA_MPS_PIPE_DIRECTORY", "a folder; default /tmp/nvidia-mps",
                        "where an MPS daemon's control pipe is found, for a sweep's \"MPS active\" or \"time-sliced\"",
                        "docs/GPUS.md"),
    EnvironmentVariable("RAY_ADDRESS", "a Ray cluster's address; default unset",
                        "Sweep.py `--executor ray` joins it, as `--address` would", "docs/GRIDS.md"),
    EnvironmentVariable("RAY_AUTH_MODE, RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH", "Ray's; default: the sweep's own "
                        "local instance takes a token of its own",
                        "a joined cluster with token authentication needs `RAY_AUTH_MODE=token` and its token (else "
                        "Ray reads ~/.ray/auth_token)", "docs/GRIDS.md"),
    EnvironmentVariable("RAY_TMPDIR", "a folder; default $TMPDIR, else /tmp",
                        "Ray's temporary folder, where the sweep looks for a cluster running on the machine",
                        "experiments/README.md"),
    EnvironmentVariable("SLURM_CONF", "a file; default Slurm's own",
                        "the Slurm cluster Sweep.py `--executor slurm` submits to", "docs/GRIDS.md"),
    EnvironmentVariable("MASKTRAINER_JOB", SET_BY_THE_TOOL,
                        "the Ray task a run's process belongs to, so that the task retried takes its own claim on "
                        "the run back (results/claims.py)", "docs/RUNS.md"),
)


def markdown_table():
    """The Markdown table of VARIABLES (docs/FLAGS.md)."""
    lines = ["| variable | values | what it does | explained in |", "| --- | --- | --- | --- |"]
    lines += [f"| `{variable.name}` | {variable.values} | {variable.effect} | {variable.explained} |"
              for variable in VARIABLES]
    return "\n".join(lines)


def named(name):
    """Whether VARIABLES covers the variable `name` (by name, or by a prefix ending in "*")."""
    for variable in VARIABLES:
        for entry in variable.name.split(", "):
            if entry == name or (entry.endswith("*") and name.startswith(entry[:-1])):
                return True
    return False
