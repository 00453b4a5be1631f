"""MaskTrainer.main once per named argument list, in one process, for the tests that train on JAX (a test process
runs Keras on TensorFlow, and a process has one backend).

    python tests/main_calls.py '{"name": [arguments...], ...}'

prints {name: {"code": exit code, "output": what it printed}} as JSON on its last line. Drivers that go on after the
runs call `main_calls` themselves (with tests/ on sys.path).
"""

import contextlib
import io
import json
import os
import sys


def main_calls(arguments):
    import MaskTrainer
    results = {}
    for name, argv in arguments.items():
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            code = MaskTrainer.main(argv)
        results[name] = {"code": code, "output": output.getvalue()}
    return results


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    print(json.dumps(main_calls(json.loads(sys.argv[1]))))
