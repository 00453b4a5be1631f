"""Pre-flight of the GPU check: can this Python train the runner on JAX, and can torch.compile build here?

    python bench/gpu/gpu_preflight.py jax gpu|cpu      # Keras' own requirements, Keras on JAX, the device
    python bench/gpu/gpu_preflight.py torch gpu|cpu    # torch, CUDA, a C compiler, one tiny torch.compile

Each probe runs in its own short-lived process (a hung GPU initialisation or compiler cannot hang the check), side by
side, and prints one JSON line: {"ok": bool, "reason": one sentence when not ok, "details": {...}}. A failed probe
skips its framework's rows (the JAX one: the runner's, the packs and the sweep); neither ends the check.
"""

import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys

GPU = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(GPU)
REPO = os.path.dirname(BENCH)
# Keras' own requirements (its wheel's Requires-Dist), then Keras and JAX: what the GPU machine may lack.
KERAS_REQUIREMENTS = ("absl", "rich", "optree", "ml_dtypes", "namex", "h5py", "packaging", "numpy")
DISTRIBUTIONS = ("keras", "jax", "jaxlib", "jax-cuda13-plugin", "jax-cuda12-plugin", "optree", "namex", "ml-dtypes",
                 "numpy", "torch", "triton")
C_COMPILERS = ("cc", "gcc", "clang")


def first_line(error):
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:240]


def probe_jax(device):
    missing = []
    for name in (*KERAS_REQUIREMENTS, "jax"):  # Keras itself is imported below, through the product's select_backend
        try:
            importlib.import_module(name)
        except Exception as error:  # noqa: BLE001 - an ImportError, or a wheel built for another Python
            missing.append(f"{name} ({first_line(error)})")
    if importlib.util.find_spec("keras") is None:
        missing.append("keras (not installed)")
    if missing:
        return {"ok": False, "reason": f"{sys.executable} cannot import {', '.join(missing)}: run bench/gpu/wheels.sh "
                                       "here and name .whl in the run's carry (bench/README.md, GPU check)."}
    sys.path[:0] = [GPU, BENCH, REPO]
    from gpu_contender import ContenderError, select_jax

    from devices.selection import installed_versions
    try:
        select_jax(device)
    except ContenderError as error:
        return {"ok": False, "reason": str(error)}
    import jax
    devices = jax.devices()
    platform = devices[0].platform
    if (device == "gpu") != (platform == "gpu"):
        return {"ok": False, "reason": f"JAX runs on {platform} although {device} was asked for."}
    return {"ok": True, "details": {"platform": platform, "device": devices[0].device_kind, "count": len(devices),
                                    **installed_versions(DISTRIBUTIONS)}}


def c_compiler():
    candidates = ((os.environ.get("CC"),) if os.environ.get("CC") else ()) + C_COMPILERS
    return next((shutil.which(name) for name in candidates if shutil.which(name)), None)


def probe_torch(device):
    try:
        import torch
    except ImportError:
        return {"ok": False, "reason": f"torch is not installed in {sys.executable}, so the PyTorch peers cannot run."}
    details = {"torch": torch.__version__, "cuda": torch.version.cuda}
    if device == "gpu" and not torch.cuda.is_available():
        return {"ok": False, "reason": f"torch {torch.__version__} sees no CUDA GPU.", "details": details}
    compiler = c_compiler()
    if compiler is None:
        return {"ok": False, "reason": f"No C compiler ({', '.join(C_COMPILERS)}, or $CC) is on the PATH, and "
                                       "torch.compile needs one to build its kernels.", "details": details}
    details["compiler"] = compiler
    where = "cuda" if device == "gpu" else "cpu"
    try:
        function = torch.compile(lambda values: torch.relu(values) * 2.0 + 1.0)
        values = torch.linspace(-1.0, 1.0, 64, device=where)
        if not torch.allclose(function(values), torch.relu(values) * 2.0 + 1.0):
            return {"ok": False, "reason": "torch.compile built a function that computes wrong values.",
                    "details": details}
    except Exception as error:  # noqa: BLE001 - Inductor and Triton raise many kinds; one sentence is enough
        return {"ok": False, "reason": f"torch.compile cannot build here ({type(error).__name__}: "
                                       f"{first_line(error)}).", "details": details}
    if where == "cuda":
        details.update(device=torch.cuda.get_device_name(0), cudnn=torch.backends.cudnn.version())
    return {"ok": True, "details": details}


def start_probe(framework, device, environment):
    """The probe's process, its output captured (one JSON line at the end)."""
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), framework, device], cwd=REPO,
                            env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def finish_probe(process, timeout):
    import signal
    try:
        output, _ = process.communicate(timeout=max(timeout, 1))
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # its own process group: the compiler workers it started too
        process.communicate()
        return {"ok": False, "reason": f"the probe did not finish within {timeout:.0f} s."}
    for line in reversed(output.splitlines()):
        try:
            finding = json.loads(line)
        except ValueError:
            continue
        if isinstance(finding, dict) and "ok" in finding:
            return finding
    last = output.strip().splitlines()[-1:] or ["no output"]
    return {"ok": False, "reason": f"the probe ended with exit code {process.returncode} ({last[0][:240]})."}


def run_preflight(device, environments, timeout, frameworks=("jax", "torch")):
    """{"jax": finding, "torch": finding}, the probes of `frameworks` run side by side. environments: {framework:
    env}."""
    processes = {framework: start_probe(framework, device, environments[framework]) for framework in frameworks}
    return {framework: finish_probe(process, timeout) for framework, process in processes.items()}


def main(argv):
    framework, device = argv
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        finding = probe_jax(device) if framework == "jax" else probe_torch(device)
    except Exception as error:  # noqa: BLE001 - whatever breaks, the check gets one sentence
        finding = {"ok": False, "reason": f"{type(error).__name__}: {first_line(error)}"}
    print(json.dumps(finding), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
