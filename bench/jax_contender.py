"""The runner on Keras' JAX backend as a contender in a TensorFlow benchmark process.

A process has one Keras backend, so the JAX runner trains in a child process, one epoch per request
(`python bench/jax_contender.py SETTINGS_JSON`, lines on stdin/stdout). The parent times each epoch
from request to answer (the pipe costs well under a millisecond of an epoch of seconds), and the
child reports the CPU time it used, so that a load meter does not count it as another process.
"""

import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class JaxRunner:
    name = "runner on JAX (masked, Experiment.train_epoch)"

    def __init__(self, data_dir, limit=None, nettype="LeNet"):
        settings = {"data_dir": data_dir, "limit": limit, "nettype": nettype}
        self.process = subprocess.Popen([sys.executable, os.path.abspath(__file__), json.dumps(settings)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
        ready = json.loads(self._read_line())
        self.versions = ready["versions"]
        self.child_cpu_seconds = 0.0

    def _read_line(self):
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the JAX child process ended (exit code {self.process.wait()})")
        return line

    def train_epoch(self):
        self.process.stdin.write("epoch\n")
        self.process.stdin.flush()
        answer = json.loads(self._read_line())
        self.child_cpu_seconds = answer["cpu_seconds"]
        return answer["loss"], answer["accuracy"]

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.write("quit\n")
            self.process.stdin.flush()
            self.process.wait(timeout=60)


def child(settings):
    sys.path[:0] = [REPO, os.path.dirname(os.path.abspath(__file__))]
    from cli.keras_backend import select_backend
    select_backend("jax")
    import jax
    import keras

    from datasets import load_dataset
    from runs import Runs

    dataset = load_dataset("mnist", "mnist", data_dir=settings["data_dir"], limit=settings["limit"])
    runs = Runs(dataset, nettype=settings["nettype"], backend="jax")
    if sys.modules.get("tensorflow") is not None:
        raise RuntimeError("the JAX runner imported TensorFlow")
    print(json.dumps({"versions": {"jax": jax.__version__, "keras": keras.__version__}}), flush=True)
    try:
        for request in sys.stdin:
            if request.strip() != "epoch":
                break
            cpu_before = time.process_time()
            loss, accuracy = runs.train_epoch()
            print(json.dumps({"loss": loss, "accuracy": accuracy, "cpu_seconds": time.process_time() - cpu_before}),
                  flush=True)
    finally:
        runs.close()


if __name__ == "__main__":
    child(json.loads(sys.argv[1]))
