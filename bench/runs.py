"""The product's own runs as a contender: FreePruning at batch 25, Adam lr 1e-3, seeds 1..N, built as MaskTrainer.py
builds them (`--nruns N --pack N` for N > 1, JAX only) and trained by its training.driver.EpochDriver. One run is
what the `runner` rows time; N runs, a pack (pack_speed.py, the GPU check's pack rows)."""

import statistics
import tempfile
import time

import numpy as np

BATCH_SIZE = 25
LEARNING_RATE = 1e-3


class NeverStop:
    """Stands in for the Ctrl-C StopRequest that EpochDriver.train_epoch polls."""

    requested = False


class Runs:
    name = "runner (masked, EpochDriver.train_epoch)"

    def __init__(self, dataset, nettype="LeNet", count=1, backend="tensorflow", **settings):
        """settings: further RunConfig fields, e.g. precision and device (MaskTrainer.py's --precision, --device)."""
        from config import RunConfig
        from training.driver import EpochDriver
        from training.loop import Experiment
        self.output = tempfile.TemporaryDirectory(prefix="bench-runs-")  # their logs and checkpoints
        packed = {"nruns": count, "pack": count} if count > 1 else {}
        config = RunConfig(nettype=nettype, traintype="FreePruning", batchsize=BATCH_SIZE, lr=LEARNING_RATE, seed=1,
                           maxepochs=1000, outputpath=self.output.name, backend=backend, **packed,
                           **settings).validate()
        self.experiments = [Experiment(config.replace(seed=seed), dataset, print_line=lambda line: None)
                            for seed in range(1, count + 1)]
        self.driver = EpochDriver(self.experiments, print_line=lambda line: None)
        self.count = count
        self.epoch, self.results, self.started = 0, None, None

    def synchronize(self):
        """Waits for the device (JAX dispatches asynchronously; TensorFlow's calls return when done)."""
        import keras
        if keras.backend.backend() == "jax":
            import jax
            jax.block_until_ready([variable.value for experiment in self.experiments
                                   for variable in experiment.model.trainable_variables])

    def train_epoch(self):
        """One epoch of every run; the runs' mean (loss, accuracy)."""
        self.epoch += 1
        self.started = time.time()
        self.results = self.driver.train_epoch(self.epoch, NeverStop())
        self.driver.raise_failure()
        self.synchronize()
        return tuple(statistics.fmean(values) for values in zip(*self.results.values()))

    def record(self):
        """What a run does after each epoch: evaluation of the validation and test splits, mask statistics, logs and
        checkpoint."""
        self.driver.record(self.epoch, self.results, self.started)
        self.driver.raise_failure()
        self.synchronize()

    def timed_epoch(self):
        """{"train_s", "record_s", "loss", "accuracy"} of one epoch trained, then recorded."""
        started = time.perf_counter()
        loss, accuracy = self.train_epoch()
        trained = time.perf_counter()
        self.record()
        return {"train_s": trained - started, "record_s": time.perf_counter() - trained, "loss": loss,
                "accuracy": accuracy}

    def evaluate_and_record(self):
        """Seconds of record() (`runner_eval_stats`), then, as a breakdown, of its parts on their own."""
        data, steps = self.experiments[0].dataset, self.experiments[0].steps
        parts = {"runner_eval_stats": self.record,
                 "runner_eval_val": lambda: steps.evaluate(data.x_val, data.y_val),
                 "runner_eval_test": lambda: steps.evaluate(data.x_test, data.y_test),
                 "runner_mask_counts": lambda: np.asarray(steps.mask_counts())}
        seconds = {}
        for name, part in parts.items():
            started = time.perf_counter()
            part()
            seconds[name] = time.perf_counter() - started
        return seconds

    def estimated_memory_bytes(self):
        """training/pack_memory.py's estimate of the pack, by which `--pack` is refused: its per-member figure times
        N, plus the training set, held once."""
        from training.pack_memory import FLOAT_BYTES, member_bytes
        first = self.experiments[0]
        data = FLOAT_BYTES * (np.asarray(first.dataset.x_train).size + len(first.dataset.y_train))
        return member_bytes(first.model, first.optimizer, BATCH_SIZE) * len(self.experiments) + data

    def close(self):
        self.output.cleanup()
