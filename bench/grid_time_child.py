"""One setting of bench/grid_time.py (a solo run, a pack, or W workers) timed in child processes of its own, on random
data of the runs' shapes (Keras takes one backend per process):

    python bench/grid_time_child.py SETTINGS_JSON   # prints the measurements as one JSON line

SETTINGS: grid (a paper grid file's name), network, backend, device, pack (members), examples (training images),
epochs (timed, after a warm-up epoch).
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
sys.path[:0] = [path for path in (BENCH, REPO) if path not in sys.path]


def shaped_dataset(name, folder, examples):
    """Random images of the data set's shapes, read by the product's own reader: `examples` training images and
    the full validation and test splits (so that the record is timed as a run's)."""
    import numpy as np

    from cifar_shaped import write_cifar_shaped
    from datasets import load_dataset
    from grid_time import FULL_SPLITS
    _, validation, test = FULL_SPLITS[name]
    if name == "cifar10":
        write_cifar_shaped(folder, examples, test_examples=test)
    else:  # Keras' mnist.npz layout, which the MNIST reader accepts
        generator = np.random.default_rng(0)
        np.savez(os.path.join(folder, "mnist.npz"),
                 x_train=generator.integers(0, 256, (validation + examples, 28, 28), dtype=np.uint8),
                 y_train=generator.integers(0, 10, validation + examples).astype(np.uint8),
                 x_test=generator.integers(0, 256, (test, 28, 28), dtype=np.uint8),
                 y_test=generator.integers(0, 10, test).astype(np.uint8))
    return load_dataset(name, name, data_dir=folder, allow_download=False)


# One setting, in child processes ----------------------------------------------------------------------------------
def child(settings):
    """Builds and times one setting's run (or pack) in this process; prints its measurements as one JSON line."""
    started = time.perf_counter()
    from cli.keras_backend import select_backend
    select_backend(settings["backend"], device=settings["device"])
    from grid_time import paper_grids
    from runs import NeverStop
    from training.driver import EpochDriver
    from training.loop import Experiment
    config = paper_grids([settings["grid"]])[settings["network"]]["config"]
    examples = settings["examples"]
    with tempfile.TemporaryDirectory(prefix="grid-time-") as folder:
        dataset = shaped_dataset(config.dataset, folder, examples)
        start_s = time.perf_counter() - started
        count = settings["pack"]
        config = config.replace(outputpath=folder, backend=settings["backend"], device=settings["device"],
                                maxepochs=1000, nruns=count, pack=count, data_dir=None, dataset=config.dataset,
                                tensorboard=False).validate()
        built = time.perf_counter()
        experiments = [Experiment(config.replace(seed=seed), dataset, print_line=lambda line: None)
                       for seed in range(1, count + 1)]
        driver = EpochDriver(experiments, print_line=lambda line: None)
        build_s = time.perf_counter() - built
        epochs = []
        for epoch in range(1, settings["epochs"] + 2):
            began = time.perf_counter()
            results = driver.train_epoch(epoch, NeverStop())
            driver.raise_failure()
            trained = time.perf_counter()
            driver.record(epoch, results, began)
            driver.raise_failure()
            epochs.append({"train_s": trained - began, "record_s": time.perf_counter() - trained})
    timed = epochs[1:]
    train_s = statistics.median(epoch["train_s"] for epoch in timed)
    record_s = statistics.median(epoch["record_s"] for epoch in timed)
    from devices import describe_current
    print(json.dumps({"device": describe_current(settings["backend"]).describe(), "start_s": start_s,
                      "build_s": build_s, "warm_up_s": sum(epochs[0].values()),
                      "train_s": train_s, "record_s": record_s, "epochs": epochs,
                      "training_examples": len(dataset.x_train)}))


def measure(settings, processes=1, timeout=3600):
    """The child's measurements of `settings`, run in `processes` processes at once (workers): each one's, or the
    reason the setting did not run."""
    command = [sys.executable, os.path.abspath(__file__), json.dumps(settings)]
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory(prefix="grid-time-workers-") as folder:
        # Each worker's output in files of its own: a pipe read after another worker's could fill and stall it.
        outputs = [(open(os.path.join(folder, f"{number}.out"), "w+"), open(os.path.join(folder, f"{number}.err"),
                                                                            "w+")) for number in range(processes)]
        children = [subprocess.Popen(command, cwd=REPO, stdout=out, stderr=err, text=True) for out, err in outputs]
        try:
            for process in children:
                try:
                    process.wait(timeout=max(deadline - time.monotonic(), 1))
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        finally:  # a worker still running (Ctrl-C) must not go on into the next setting's timing
            for process in children:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        texts = []
        for handles in outputs:
            texts.append([])
            for handle in handles:
                handle.seek(0)
                texts[-1].append(handle.read())
                handle.close()
    results = []
    for process, (text, error) in zip(children, texts):
        if process.returncode != 0:
            lines = [line for line in error.strip().splitlines() if line.strip()] or ["no output"]
            return {"not_run": f"exit {process.returncode}: {lines[-1][:300]}"}
        results.append(json.loads(text.strip().splitlines()[-1]))
    return {"processes": results}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print("usage: python bench/grid_time_child.py SETTINGS_JSON (bench/grid_time.py starts it; see its docstring).",
              file=sys.stderr)
        sys.exit(2)
    child(json.loads(sys.argv[1]))
