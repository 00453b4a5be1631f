"""Makes the repository importable and TensorFlow quiet for every test."""

import os
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
SHARED_MNIST = REPOSITORY.parent / "shared" / "data" / "mnist"

sys.path.insert(0, str(REPOSITORY))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MASKTRAINER_NO_DOWNLOAD", "1")

from quiet_tensorflow import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()
