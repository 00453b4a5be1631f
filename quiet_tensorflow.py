"""Imports TensorFlow without the C++ start-up chatter it writes straight to file descriptor 2.

TF_CPP_MIN_LOG_LEVEL does not silence the lines logged before absl is initialised, and they would
bury the one-sentence errors the command-line tools print. Python errors still reach stderr.
"""

import os


def import_tensorflow_quietly():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    saved_stderr = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import keras  # noqa: F401
        import tensorflow
        # Retracing notices appear when several runs share a process (--nruns, tests); they are expected.
        tensorflow.get_logger().setLevel("ERROR")
    finally:
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)
        os.close(devnull)
