"""The environment of a run's process when several runs share GPUs (Sweep.py's backends); standard library only.

Policy:
- A run that has a whole GPU to itself (share 1) keeps its backend's defaults: JAX preallocates 75% of the GPU's
  memory up front, which is the fastest, and nothing else wants that GPU.
- A run that shares a GPU with others (0 < share < 1) gets, for JAX, XLA_PYTHON_CLIENT_PREALLOCATE=false and
  XLA_PYTHON_CLIENT_MEM_FRACTION = 0.9 x share, rounded down to 3 decimals (0.45 for half a GPU): without them
  every process would try to preallocate 75% of the GPU, and the second would fail or fall back to the CPU.
  With preallocation off, XLA's allocator still never holds more than the fraction, so runs that share a GPU
  cannot take each other's memory. The 10% left over is headroom for what each process holds outside XLA's
  allocator (its CUDA context, cuDNN and cuBLAS workspaces), a few hundred MB per process.
  For TensorFlow, TF_FORCE_GPU_ALLOW_GROWTH=true (TensorFlow would otherwise take nearly all the memory of the
  GPU; it has no variable that caps it). Both sets are given to every run: each backend reads only its own.
- A worker pinned to one GPU (the local backend) gets CUDA_VISIBLE_DEVICES=<that GPU>; on Ray and Slurm the
  scheduler sets it itself.
- The user's settings win: when the environment already holds any XLA_PYTHON_CLIENT_* variable, none of the
  XLA_PYTHON_CLIENT_* part is added (e.g. XLA_PYTHON_CLIENT_ALLOCATOR=platform with a fraction of ours would mix
  two policies); TF_FORCE_GPU_ALLOW_GROWTH set by the user is kept too.
"""

import math

JAX_PREFIX = "XLA_PYTHON_CLIENT_"
TENSORFLOW_GROWTH = "TF_FORCE_GPU_ALLOW_GROWTH"
HEADROOM = 0.9  # of a run's share of the GPU's memory, for XLA's allocator; the rest for the CUDA context etc.


def memory_fraction(share):
    """XLA_PYTHON_CLIENT_MEM_FRACTION for a run that gets `share` of a GPU: 0.9 x share, rounded down to 3
    decimals (the small tolerance keeps 0.9 / 3 at 0.3 despite float rounding), and at least 0.001."""
    return max(math.floor(HEADROOM * share * 1000 + 1e-6), 1) / 1000


def shared_gpu_environment(environ, share, gpu=None):
    """The variables to add to `environ` (the environment the run would otherwise get) for a run that gets
    `share` (0 < share <= 1) of one GPU, pinned to GPU `gpu` when given; see the module's policy."""
    if not 0 < share <= 1:
        raise ValueError(f"a run's share of a GPU is in (0, 1], got {share}")
    added = {} if gpu is None else {"CUDA_VISIBLE_DEVICES": str(gpu)}
    if share == 1:
        return added
    if not any(name.startswith(JAX_PREFIX) for name in environ):
        added.update(XLA_PYTHON_CLIENT_PREALLOCATE="false",
                     XLA_PYTHON_CLIENT_MEM_FRACTION=f"{memory_fraction(share):g}")
    if TENSORFLOW_GROWTH not in environ:
        added[TENSORFLOW_GROWTH] = "true"
    return added


def user_memory_settings(environ):
    """The GPU memory variables the user set (XLA_PYTHON_CLIENT_*, TF_FORCE_GPU_ALLOW_GROWTH): passed on to runs
    on other machines (Ray), whose processes do not inherit the sweep's environment."""
    return {name: value for name, value in environ.items()
            if name.startswith(JAX_PREFIX) or name == TENSORFLOW_GROWTH}


def worker_gpu(slot, workers, gpus):
    """(GPU, share) of the local worker `slot` (0, 1, ...) of `workers` running at once on the GPUs `gpus`:
    worker i on GPU i mod G, each GPU shared equally by the ceil(workers / G) workers it holds at most."""
    return gpus[slot % len(gpus)], 1 / math.ceil(workers / len(gpus))
