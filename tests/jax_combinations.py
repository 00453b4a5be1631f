"""Runs MaskTrainer.main once per command line, in this one process, with TensorFlow impossible to import (as on
the GPU machines, which have none), and prints what each run gave as one JSON line (tests/test_combinations_jax.py).

    python tests/jax_combinations.py COMMANDS.json

COMMANDS.json: a list of command lines, each with its own --outputpath, which is removed after the run. Printed:
{"tensorflow": how importing it failed before the runs, "tensorflow modules": those loaded after them, "backend":
Keras' backend, "runs": [{"code", "stderr", "logs": [[status, seed] of each *_logs.json under --outputpath],
"seconds", "cpu seconds"}, ...]}.
"""

import contextlib
import importlib.abc
import io
import json
import os
import shutil
import sys
import time
import traceback
from pathlib import Path


class NoTensorFlow(importlib.abc.MetaPathFinder):
    """First on sys.meta_path: `import tensorflow` (or any of its modules) fails as where it is not installed."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "tensorflow":
            raise ModuleNotFoundError(f"No module named '{name}' (tests/jax_combinations.py)", name=name)
        return None


sys.meta_path.insert(0, NoTensorFlow())
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import MaskTrainer  # noqa: E402 - the finder first: nothing may import TensorFlow before it is in place


def tensorflow_import_error():
    try:
        import tensorflow  # noqa: F401
    except ImportError as error:
        return f"{type(error).__name__}: {error}"
    return None


def status_and_seed(path):
    """A run that crashes before its first log leaves the empty file that reserved its ID (results/paths.py)."""
    try:
        logs = json.loads(path.read_text())
    except ValueError:
        return ["unreadable", None]
    return [logs["status"], logs["seed"]]


def run(arguments):
    stderr, start, cpu = io.StringIO(), time.perf_counter(), time.process_time()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
            code = MaskTrainer.main(arguments)
    except BaseException:  # noqa: B036 - SystemExit or a crash: main must return a code, never raise
        code, stderr = None, io.StringIO(stderr.getvalue() + traceback.format_exc())
    outputpath = Path(arguments[arguments.index("--outputpath") + 1])
    logs = [status_and_seed(path) for path in sorted(outputpath.rglob("*_logs.json"))]
    shutil.rmtree(outputpath, ignore_errors=True)
    return {"code": code, "stderr": stderr.getvalue(), "logs": logs,
            "seconds": round(time.perf_counter() - start, 2), "cpu seconds": round(time.process_time() - cpu, 2)}


def main(path):
    commands = json.loads(Path(path).read_text())
    absent = tensorflow_import_error()
    runs = [run(arguments) for arguments in commands]
    import keras
    loaded = sorted(name for name, module in sys.modules.items() if name.split(".")[0] == "tensorflow" and module)
    print(json.dumps({"tensorflow": absent, "tensorflow modules": loaded, "backend": keras.backend.backend(),
                      "runs": runs}))


if __name__ == "__main__":
    main(sys.argv[1])
