#!/usr/bin/env bash
# Run HERE, where the package index can be reached: downloads into .whl/ (git-ignored) the wheels that the GPU
# machine lacks for bench/gpu/check.sh, for Python 3.12 on manylinux x86_64. That machine has absl-py, h5py,
# ml-dtypes, numpy, packaging, rich, pandas, matplotlib, jax 0.11.2, jaxlib, torch 2.11, tensorboard and scipy;
# of Keras' requirements it lacks keras itself, namex and optree (optree's typing-extensions comes with torch).
# The versions are those of this .venv, where the project is tested. A check at the end lists every requirement
# of the downloaded wheels that neither they nor the GPU machine provide.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV_PYTHON="${VENV_PYTHON:-.venv/bin/python}"

version_here() {
    "$VENV_PYTHON" -m pip show "$1" 2>/dev/null | sed -n 's/^Version: //p'
}

mkdir -p .whl
for name in keras namex optree; do
    version="$(version_here "$name")"
    if [ -z "$version" ]; then
        echo "$name is not installed in $VENV_PYTHON, so its version is unknown; install requirements.txt first" >&2
        exit 1
    fi
    python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 --platform manylinux1_x86_64 -d .whl "$name==$version"
done

python3 - <<'PYTHON'
import glob, re, sys, zipfile

on_gpu_machine = {"absl-py", "h5py", "ml-dtypes", "numpy", "packaging", "rich", "pandas", "matplotlib", "jax",
                  "jaxlib", "torch", "tensorboard", "scipy", "typing-extensions"}  # typing-extensions: torch's
def normal(name):
    return re.sub(r"[-_.]+", "-", name).lower()
wheels = sorted(glob.glob(".whl/*.whl"))
provided = {normal(wheel.split("/")[-1].split("-")[0]) for wheel in wheels}
missing = set()
for wheel in wheels:
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(name for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
        for line in archive.read(metadata).decode().splitlines():
            if line.startswith("Requires-Dist:") and "extra ==" not in line:
                name = normal(re.match(r"[A-Za-z0-9_.-]+", line.split(":", 1)[1].strip()).group(0))
                if name not in provided | on_gpu_machine:
                    missing.add(f"{name} (required by {wheel})")
print("\n".join(f"  {wheel}" for wheel in wheels))
if missing:
    sys.exit("missing on the GPU machine: " + "; ".join(sorted(missing)))
print(f"{len(wheels)} wheels in .whl/; every requirement is met there")
PYTHON
