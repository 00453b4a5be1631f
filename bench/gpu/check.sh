#!/usr/bin/env bash
# The GPU check in one command (gpu_check.py; bench/README.md, "GPU check"):
#   bash bench/gpu/check.sh [flags of bench/gpu/gpu_check.py]
# On the GPU machine (JAX and PyTorch with CUDA, no TensorFlow, no Keras, no network), the wheels that wheels.sh put
# in .whl/ are installed into /tmp/site first, and MNIST is read from .data/mnist/ when that folder exists. With $OUT
# set (the device tool's folder of files that come back), the whole output also goes to $OUT/gpu_check.log and the
# report to $OUT/gpu_check.{json,md}. Python: $PYTHON, else python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
# The check's --budget-s counts from here, so that installing the wheels is inside the budget.
GPU_CHECK_STARTED="$(date +%s.%N)"
export GPU_CHECK_STARTED PYTHONUNBUFFERED=1 GPU_CHECK_LAUNCHER="bash bench/gpu/check.sh"
PYTHON="${PYTHON:-python3}"
SITE="${GPU_CHECK_SITE:-/tmp/site}"

check() {
    wheels=(.whl/*.whl)
    # A Python that already has Keras (the development .venv) keeps its own: the wheels are for Python 3.12.
    if [ -e "${wheels[0]}" ] && "$PYTHON" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("keras") is not None)'; then
        echo "installing ${#wheels[@]} wheels from .whl/ into $SITE"
        "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$SITE" \
            "${wheels[@]}"
        export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
    fi
    data_arguments=()
    if [ -d .data/mnist ]; then
        data_arguments=(--mnist-dir .data/mnist)
    fi
    "$PYTHON" bench/gpu/gpu_check.py ${data_arguments[@]+"${data_arguments[@]}"} "$@"
}

if [ -n "${OUT:-}" ]; then
    mkdir -p "$OUT"
    check "$@" 2>&1 | tee "$OUT/gpu_check.log"
else
    check "$@"
fi
