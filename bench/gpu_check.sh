#!/usr/bin/env bash
# One-command GPU check (see bench/gpu_check.py): the runner on Keras' JAX backend vs. the PyTorch peer, on one GPU.
#   bash bench/gpu_check.sh [--compare-determinism] [other bench/gpu_check.py flags]
# On the GPU machine (JAX and PyTorch with CUDA, no TensorFlow, no Keras, no network): the wheels that
# bench/gpu_wheels.sh put in .whl/ are installed into /tmp/site first, and MNIST is read from .data/mnist/
# when that folder exists. Python: $PYTHON, else python3.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
SITE="${GPU_CHECK_SITE:-/tmp/site}"

wheels=(.whl/*.whl)
if [ -e "${wheels[0]}" ]; then
    # A Python that already has Keras (the development .venv) keeps its own: the wheels are for Python 3.12.
    if "$PYTHON" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("keras") is not None)'; then
        echo "installing ${#wheels[@]} wheels from .whl/ into $SITE"
        "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" "${wheels[@]}"
        export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
    else
        echo "$PYTHON already imports Keras: the wheels in .whl/ are not installed"
    fi
fi

data_arguments=()
if [ -d .data/mnist ]; then
    data_arguments=(--mnist-dir .data/mnist)
fi

export GPU_CHECK_LAUNCHER="bash bench/gpu_check.sh"
exec "$PYTHON" bench/gpu_check.py ${data_arguments[@]+"${data_arguments[@]}"} "$@"
