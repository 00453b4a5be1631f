"""Whether NVIDIA's Multi-Process Service (MPS) is active on this machine; standard library only.

Several processes on one GPU (Sweep.py --workers N, or Ray's fractional GPUs) run time-sliced: the GPU runs one
process's kernels at a time and switches between them. With MPS, one server process holds the GPU and runs the
kernels of every client process at once, which fills a GPU that one small run leaves mostly idle. Started with
`nvidia-cuda-mps-control -d` (docs/GPUS.md, "Many runs on one GPU"); CUDA processes started afterwards are its
clients without any change of their own.

MPS counts as active when its daemon is found: a process named nvidia-cuda-mps-control or nvidia-cuda-mps-server
(in /proc, so in this machine's or container's process namespace), or, for a daemon outside it, its control pipe,
a named pipe `control` in CUDA_MPS_PIPE_DIRECTORY (default /tmp/nvidia-mps), which the daemon removes when it quits.
"""

import os
import stat

DEFAULT_PIPE_DIRECTORY = "/tmp/nvidia-mps"
DAEMON_NAME = "nvidia-cuda-mps"  # what /proc/PID/comm keeps (15 characters) of the control daemon's and server's


def daemon_pids(proc_root="/proc"):
    """The ids of MPS's processes: nvidia-cuda-mps-control and nvidia-cuda-mps-server."""
    pids = []
    try:
        entries = os.listdir(proc_root)
    except OSError:
        return pids
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(os.path.join(proc_root, entry, "comm"), encoding="utf-8", errors="replace") as handle:
                name = handle.read().strip()
        except OSError:
            continue
        if name.startswith(DAEMON_NAME):
            pids.append(int(entry))
    return sorted(pids)


def control_pipe(environ=None):
    """The path of MPS's control pipe where one exists, else None."""
    environ = os.environ if environ is None else environ
    path = os.path.join(environ.get("CUDA_MPS_PIPE_DIRECTORY") or DEFAULT_PIPE_DIRECTORY, "control")
    try:
        return path if stat.S_ISFIFO(os.stat(path).st_mode) else None
    except OSError:
        return None


def mps_status(environ=None, proc_root="/proc"):
    """(active, one phrase for the opening line of a sweep whose runs share a GPU)."""
    pids = daemon_pids(proc_root)
    if pids:
        return True, f"MPS active (its daemon is process {pids[0]})"
    pipe = control_pipe(environ)
    if pipe:
        return True, f"MPS active (control pipe {pipe})"
    return False, ("time-sliced: no MPS control daemon runs; `nvidia-cuda-mps-control -d` lets the runs share the GPU "
                   "at once (docs/GPUS.md)")
