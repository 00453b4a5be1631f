"""Per-run overhead of Sweep.py's Ray backend against the local pool, on 8 short LeNet runs, 2 at a time.

    .venv/bin/python bench/sweep_overhead.py [--rounds 2]

Each round runs the same grid (LeNet FreePruning/MinPruning x 4 seeds, 300 MNIST-subset images, 2 epochs)
with `--executor local --workers 2` and with `--executor ray` (a local Ray instance, 1 CPU per run on this 2-core
machine: 2 at a time), each into a fresh folder, alternating; wall times of the whole Sweep.py command.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GRID = {"description": "8 short LeNet runs", "machine": "runs here",
        "base": {"dataset": "mnist-subset", "limit": 300, "maxepochs": 2, "batchsize": 25},
        "grid": {"traintype": ["FreePruning", "MinPruning"]}, "rules": [], "seeds": [1, 2, 3, 4]}
BACKENDS = {"local": ["--executor", "local", "--workers", "2"], "ray": ["--executor", "ray", "--cpus-per-run", "1"]}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=2)
    rounds = parser.parse_args().rounds
    seconds = {name: [] for name in BACKENDS}
    with tempfile.TemporaryDirectory(prefix="sweep-overhead-") as folder:
        grid = os.path.join(folder, "grid.json")
        with open(grid, "w") as handle:
            json.dump(GRID, handle)
        for round_number in range(rounds):
            for name, flags in BACKENDS.items():
                output = os.path.join(folder, f"{name}-{round_number}")
                started = time.perf_counter()
                result = subprocess.run([sys.executable, "Sweep.py", grid, "--outputpath", output, *flags],
                                        cwd=REPO, capture_output=True, text=True)
                seconds[name].append(time.perf_counter() - started)
                if result.returncode != 0:
                    raise SystemExit(f"{name} failed: {result.stderr.strip()}")
                print(f"round {round_number} {name:5s} {seconds[name][-1]:6.1f} s", flush=True)
    runs = len(GRID["grid"]["traintype"]) * len(GRID["seeds"])
    local, ray = statistics.median(seconds["local"]), statistics.median(seconds["ray"])
    print(f"median wall time for {runs} runs: local {local:.1f} s, ray {ray:.1f} s; "
          f"Ray's overhead {(ray - local) / runs:+.2f} s per run")


if __name__ == "__main__":
    main()
