"""The Keras contenders: the project's runner, and a plain (unmasked) Dense LeNet-300-100.

Each contender has `train_epoch()` (one epoch over the training set, returns (loss, accuracy)).
The runner also has `evaluate_and_record(epoch, train_result)`: its per-epoch evaluation of the
validation and test sets, the mask statistics and the log write, i.e. `Experiment.record_epoch`.
"""

import inspect
import tempfile
import time

import keras
import numpy as np

from config.run_config import RunConfig
from training import loop
from training.batches import epoch_batches
from training.loop import Experiment
from training.steps import CompiledSteps


class NeverStop:
    """Stands in for the Ctrl-C StopRequest that Experiment.train_epoch polls."""

    requested = False


class Runner:
    """The real code path: `training.loop.Experiment` for LeNet FreePruning."""

    name = "runner (masked, Experiment.train_epoch)"

    def __init__(self, dataset, batch_size=25, lr=1e-3, seed=1, epochs=10):
        self.output = tempfile.TemporaryDirectory(prefix="lenet-speed-")
        config = RunConfig(nettype="LeNet", traintype="FreePruning", batchsize=batch_size, lr=lr,
                           seed=seed, maxepochs=epochs, outputpath=self.output.name).validate()
        self.experiment = Experiment(config, dataset, print_line=lambda line: None)
        self.epoch = 0
        self.extra = (NeverStop(),) if len(inspect.signature(self.experiment.train_epoch).parameters) > 1 else ()

    def train_epoch(self):
        self.epoch += 1
        self.last_result = self.experiment.train_epoch(self.epoch, *self.extra)
        return self.last_result

    def evaluate_and_record(self):
        """Times Experiment.record_epoch (val + test evaluation, mask counts, log and checkpoint
        write), then, for a breakdown, its parts once more on their own. Returns seconds by name."""
        seconds = {}
        started = time.perf_counter()
        self.experiment.record_epoch(self.epoch, self.last_result, time.time())
        seconds["runner_eval_stats"] = time.perf_counter() - started
        data, steps = self.experiment.dataset, self.experiment.steps
        parts = {"runner_eval_val": lambda: steps.evaluate(data.x_val, data.y_val),
                 "runner_eval_test": lambda: steps.evaluate(data.x_test, data.y_test),
                 "runner_mask_counts": lambda: np.asarray(steps.mask_counts())}
        for name, part in parts.items():
            started = time.perf_counter()
            part()
            seconds[name] = time.perf_counter() - started
        return seconds

    def close(self):
        self.output.cleanup()


def plain_lenet(input_shape, seed=1):
    """Ordinary Keras: Dense 784-300-100-10, no biases, relu, softmax; He normal kernels."""
    initializer = keras.initializers.HeNormal
    return keras.Sequential([
        keras.Input(shape=input_shape),
        keras.layers.Flatten(),
        keras.layers.Dense(300, activation="relu", use_bias=False, kernel_initializer=initializer(seed)),
        keras.layers.Dense(100, activation="relu", use_bias=False, kernel_initializer=initializer(seed + 1)),
        keras.layers.Dense(10, activation="softmax", use_bias=False, kernel_initializer=initializer(seed + 2)),
    ], name="plain_lenet")


class PlainCompiledSteps:
    """The unmasked model trained exactly like the runner: CompiledSteps, same batches, and the
    runner's chunking of an epoch into compiled calls (training.loop.STEPS_PER_CALL steps each)."""

    name = "unmasked Keras, same CompiledSteps loop"

    def __init__(self, dataset, batch_size=25, lr=1e-3, seed=1):
        keras.utils.set_random_seed(seed)
        self.model = plain_lenet(dataset.x_train.shape[1:], seed)
        self.steps = CompiledSteps(self.model, keras.optimizers.Adam(learning_rate=lr),
                                   dataset.x_train, dataset.y_train, masked_layers=[])
        self.example_count = len(dataset.x_train)
        self.batch_size = batch_size
        self.shuffle_generator = np.random.default_rng([seed, 1])  # the runner's batch order

    def train_epoch(self):
        indices, weights = epoch_batches(self.shuffle_generator, self.example_count, self.batch_size)
        chunk = getattr(loop, "STEPS_PER_CALL", len(indices))
        loss_sum = correct = examples = 0.0
        for start in range(0, len(indices), chunk):
            chunk_loss, chunk_correct, chunk_examples = self.steps.train_range(
                indices, weights, start, min(start + chunk, len(indices)))
            loss_sum, correct = loss_sum + float(chunk_loss), correct + float(chunk_correct)
            examples += float(chunk_examples)
        return loss_sum / examples, correct / examples

    def close(self):
        pass


class PlainFit:
    """The unmasked model with stock Keras: compile() + fit(batch_size, epochs=1), jit_compile default."""

    name = "unmasked Keras, model.fit"

    def __init__(self, dataset, batch_size=25, lr=1e-3, seed=1):
        keras.utils.set_random_seed(seed)
        self.model = plain_lenet(dataset.x_train.shape[1:], seed)
        self.model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr),
                           loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        self.x, self.y = dataset.x_train, dataset.y_train
        self.batch_size = batch_size

    @property
    def jit_compile(self):
        return self.model.jit_compile

    def train_epoch(self):
        history = self.model.fit(self.x, self.y, batch_size=self.batch_size, epochs=1, verbose=0)
        return history.history["loss"][-1], history.history["accuracy"][-1]

    def close(self):
        pass
