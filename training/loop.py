"""One run: its network, optimizer, data order, logs and checkpoints, and the hooks through which its method
trains it. training/driver.py trains it, alone (a pack of one) or in a pack: epoch 0 evaluates the untrained
network, then epochs and phases follow, and the results are written.

After every epoch the whole state goes into a checkpoint, so an interrupted run resumes exactly
(see training/checkpoint.py); `Experiment.resume` continues one.
"""

import math
import os
import time

import keras
import numpy as np

from devices import apply_precision, describe_current
from masking import masked_layers, unmasked_variables
from masking.declarations import flips
from networks import build_network, uses_xla
from results import atomic
from results.events import EpochEvents, epoch_scalars
from results.paths import reserve_run_id, run_file
from results.run_log import RunLog, write_encoded
from training import checkpoint
from training.augmentation import draw_shifts
from training.batches import epoch_batches
from training.compiled_steps import compiled_steps
from training.console import epoch_line
from training.driver import (
    NEW_PHASE,
    SAME_CURVES,
    STEPS_PER_CALL,
    EpochDriver,
    EpochPlan,
    TrainingFailed,
    TrainingInterrupted,
)
from training.optimizers import build_optimizer
from training.schedule import learning_rate_at, parse_drops

__all__ = ["NEW_PHASE", "SAME_CURVES", "STEPS_PER_CALL", "Experiment", "TrainingFailed", "TrainingInterrupted",
           "kernels", "mask_arrays"]


def kernels(layers):
    return {layer.name: np.array(layer.kernel) for layer in layers}  # copies: they may be written later


def mask_arrays(layers):
    return {layer.name: np.array(layer.mask_values()) for layer in layers}


class Experiment:
    """Trains one run of a RunConfig (config/run_config.py) whose `method` says how the layers train."""

    def __init__(self, config, dataset, print_line=print, run_id=None):
        self.config = config
        self.dataset = dataset
        self.print_line = print_line
        self.method = config.method
        # Before anything compiles: the precision holds for every program of this process.
        apply_precision(config.backend, config.precision, describe_current(config.backend).platform)
        keras.utils.set_random_seed(config.seed)
        # JAX compiles everything with XLA; --xla chooses for TensorFlow only.
        self.use_xla = config.backend == "jax" or uses_xla(config.xla, config.nettype)
        self.model = build_network(
            config.nettype, dataset.x_train.shape[1:], dataset.num_classes,
            activation=config.activation, initializer=config.resolved_initializer(), p1=config.p1,
            seed=config.seed, masking=config.masking_options(), xla=self.use_xla,
            resnet_variant=config.resnet_variant, batchnorm_affine=config.batchnorm_affine)
        self.layers = masked_layers(self.model)
        self.learning_rate_drops = parse_drops(config.resolved_lr_drops())
        self.optimizer = build_optimizer(config.optimizer, config.starting_learning_rate(), config.momentum,
                                         config.weight_decay)
        self.steps = self.compiled_steps()
        # The optimizer as built, before any step: what reset_optimizer returns to.
        self.fresh_optimizer_values = [np.array(variable) for variable in self.optimizer.variables]
        self.shuffle_generator = np.random.default_rng([config.seed, 1])
        self.folder = config.folder()
        self.run_id = run_id or reserve_run_id(self.folder)
        self.log = RunLog(self.run_id, config, dataset, self.layers)
        self.epoch_in_progress = None  # set while an epoch is cut short by Ctrl-C
        self.events = None  # TensorBoard writer while run() runs (--tensorboard)
        self.alone = None  # the driver of this run alone, once asked for (run, train_epoch, record_epoch)
        self.writer = None  # results/writer.py's BackgroundWriter while a driver runs; else files are written at once

    @classmethod
    def resume(cls, config, dataset, run_id, print_line=print, saved=None):
        """The run continued from its newest readable checkpoint, or from `saved` (one of checkpoint.saved_states)."""
        experiment = cls(config, dataset, print_line, run_id=run_id)
        # before the checkpoint's values replace the kernels built from the seed
        checkpoint.restore_initial_weights(experiment.path("initial_weights"), kernels(experiment.layers), print_line)
        model_values, optimizer_values, state = saved or checkpoint.load_checkpoint(experiment.folder, run_id,
                                                                                    print_line)
        for variable, value in zip(experiment.model.variables, model_values, strict=True):
            variable.assign(value)
        for variable, value in zip(experiment.optimizer.variables, optimizer_values, strict=True):
            variable.assign(value)
        experiment.shuffle_generator.bit_generator.state = state["generator"]
        experiment.epoch_in_progress = state["epochInProgress"]
        experiment.log.data = state["log"]
        experiment.log.data.update(status="running", failureReason=None, finishedAt=None)
        experiment.log.record_resume(config)
        experiment.restore_method_state(state.get("method"), state["methodArrays"])
        return experiment

    def compiled_steps(self):
        return compiled_steps(self.model, self.optimizer, self.dataset.x_train, self.dataset.y_train, self.layers,
                              jit_compile=self.use_xla)

    def path(self, kind):
        return run_file(self.folder, self.run_id, kind)

    def completed_epochs(self):
        return len(self.log.data["testLoss"]) - 1

    def write(self, task):
        """Runs task() (a write of data made beforehand) in the background writer's order, or at once."""
        if self.writer is None:
            task()
        else:
            self.writer.submit(task)

    def write_logs(self):
        files = self.log.encoded(self.folder)
        self.write(lambda: write_encoded(files))

    def save_checkpoint(self, values=None):
        """values: (model values, optimizer values) on the host, copied from the device once for a whole pack
        (training/driver.py); else read from the variables."""
        method_state, method_arrays = self.method_state()
        state = {"generator": self.shuffle_generator.bit_generator.state,
                 "epochInProgress": self.epoch_in_progress, "log": self.log.data, "method": method_state}
        model_values, optimizer_values = values or ([np.array(v) for v in self.model.variables],
                                                    [np.array(v) for v in self.optimizer.variables])
        arrays = checkpoint.checkpoint_arrays(model_values, optimizer_values, state, method_arrays)
        self.write(lambda: checkpoint.write_checkpoint(self.folder, self.run_id, arrays))

    def open_events(self):
        """The TensorBoard writer (--tensorboard), told where a resumed run starts again; else None."""
        if not self.config.tensorboard:
            return None
        resumed = self.completed_epochs() >= 0
        return EpochEvents(self.path("tensorboard"), self.log.data.get("recordedEpochs", 0) if resumed else None)

    def driver_alone(self):
        if self.alone is None:
            self.alone = EpochDriver([self], self.print_line)
        return self.alone

    def run(self):
        """Trains this run alone (a pack of one) to its end; returns its logs."""
        return self.driver_alone().run()[0]

    def train_epoch(self, epoch, stop):
        """(mean loss, accuracy) of one epoch of this run alone (tests check it; bench/runs.py times the same
        driver)."""
        driver = self.driver_alone()
        results = driver.train_epoch(epoch, stop)
        driver.raise_failure()
        return results[0]

    def record_epoch(self, epoch, train_result, started):
        """Evaluates and records an epoch of this run alone, as its driver does."""
        driver = self.driver_alone()
        driver.record(epoch, {0: train_result}, started)
        driver.raise_failure()

    def discard(self):
        """Removes what creating this never-started run wrote: its reserved, still empty logs file and the folders
        made for it that hold nothing else."""
        logs = self.path("logs")
        if os.path.isfile(logs) and os.path.getsize(logs) == 0:
            os.remove(logs)
        root, folder = os.path.abspath(self.config.outputpath), os.path.abspath(self.folder)
        while folder.startswith(root + os.sep) and os.path.isdir(folder) and not os.listdir(folder):
            os.rmdir(folder)
            folder = os.path.dirname(folder)

    def mark_failed(self, failure):
        self.log.finish("failed", str(failure))
        self.write_logs()
        self.write(lambda: checkpoint.remove_checkpoints(self.folder, self.run_id))  # a failed run is not resumed

    def finish(self):
        self.write_final_files()
        self.log.finish("finished")
        self.write_logs()
        self.write(lambda: checkpoint.remove_checkpoints(self.folder, self.run_id))
        return self.log

    # The hooks through which a method trains the run (training/driver.py calls them, on the run's variables).
    def start(self):
        """Before epoch 0 of a new run: the logs (so that a run killed at any moment after its first checkpoint has
        a readable logs file to be found and resumed by) and the initial weights are written, then the method
        prepares."""
        self.write_logs()
        initial = kernels(self.layers)
        self.write(lambda: atomic.write_npz(self.path("initial_weights"), initial))
        self.prepare_new_run()

    def prepare_new_run(self):
        """Before epoch 0 of a new run (not called on resume); must be deterministic given the seed."""

    def phase_epochs(self):
        """Epochs of the current phase; training moves on to `next_phase` after them."""
        return self.config.maxepochs

    def next_phase(self):
        """Starts the next phase: NEW_PHASE when its epoch 0 is to be recorded (the driver evaluates it),
        SAME_CURVES when training goes on without one; False when the run is complete."""
        return False

    def epoch_trained(self, epoch):
        """After an epoch's steps, before it is evaluated (the variables hold the epoch's values)."""

    def record(self, epoch, train_result, evaluation, started):
        """Records an epoch from `evaluation` (training/driver.py's EpochEvaluation); train_result None at an
        epoch 0, whose training split is evaluated instead."""
        if train_result is None:
            (train_result,) = evaluation.splits(self, ("train",))
        validation, test = evaluation.splits(self, ("val", "test"))
        self.record_evaluated_epoch(epoch, train_result, validation, test, evaluation.mask_counts(self), started,
                                    evaluation.host_values(self))

    def method_state(self):
        """(JSON-able state, dict of arrays) a method needs beyond the model, optimizer and logs."""
        return None, {}

    def restore_method_state(self, state, arrays):
        """Inverse of `method_state`, on resume."""

    def write_final_files(self):
        files = {"final_masks": mask_arrays(self.layers)}
        if self.method.kernel_trainable:
            files["final_weights"] = kernels(self.layers)
        others = {variable.path: np.array(variable) for variable in unmasked_variables(self.model, self.layers)}
        if others:  # BatchNorm's scales, offsets and moving statistics: the rest of what the network computes with
            files["final_batchnorm"] = others
        for kind, arrays in files.items():
            self.write(lambda kind=kind, arrays=arrays: atomic.write_npz(self.path(kind), arrays))

    def reset_optimizer(self):
        """The optimizer as if new (step 0, zero moments). Assigning its variables in place, rather than making a
        new optimizer, keeps the compiled steps, which would otherwise compile again."""
        for variable, value in zip(self.optimizer.variables, self.fresh_optimizer_values, strict=True):
            variable.assign(value)

    def interrupted(self):
        self.log.finish("interrupted", "stopped by Ctrl-C")
        if self.epoch_in_progress:  # between epochs, the epoch's own checkpoint already holds the state
            self.save_checkpoint()
        self.write_logs()
        return TrainingInterrupted(f"Interrupted; the state is saved. Resume with: python MaskTrainer.py "
                                   f"--resume {self.path('logs')}")

    def epoch_plan(self, epoch):
        """The EpochPlan of the epoch to train, continuing a saved partial epoch; sets the epoch's learning rate."""
        progress = self.epoch_in_progress or {"epoch": epoch, "step": 0, "losses": [], "correct": [],
                                              "seconds": 0.0,
                                              "generator": self.shuffle_generator.bit_generator.state}
        self.shuffle_generator.bit_generator.state = progress["generator"]
        indices, weights = epoch_batches(self.shuffle_generator, len(self.dataset.x_train), self.config.batchsize)
        shifts = self.augmentation_shifts(indices.shape)
        self.optimizer.learning_rate.assign(
            learning_rate_at(epoch, self.config.starting_learning_rate(), self.learning_rate_drops,
                             self.config.lr_schedule, self.phase_epochs()))
        return EpochPlan(progress, indices, weights, shifts)

    def augmentation_shifts(self, batch_shape):
        """The epoch's augmentation (training/augmentation.py), or None. Drawn from the run seed and the number of
        epochs recorded so far, which is unique across rounds and candidates and is restored on resume."""
        if self.config.resolved_augmentation() == "none":
            return None
        height, width = self.dataset.x_train.shape[1:3]
        return draw_shifts(self.config.seed, self.log.data.get("recordedEpochs", 0), batch_shape, height, width)

    def record_evaluated_epoch(self, epoch, train_result, validation, test, counts, started, values=None):
        """Logs, TensorBoard, checkpoint and console line of an epoch whose (loss, accuracy) pairs and mask counts
        are known; values: as save_checkpoint takes them."""
        (val_loss, val_accuracy), (test_loss, test_accuracy) = validation, test
        for name, value in (("validation", val_loss), ("test", test_loss)):
            if not math.isfinite(value):
                raise TrainingFailed(f"The {name} loss became {value} in epoch {epoch}, so the run stopped "
                                     "and is marked failed in its logs; try a smaller --lr.")
        self.log.append_epoch((train_result[0], val_loss, test_loss),
                              (train_result[1], val_accuracy, test_accuracy), counts, time.time() - started)
        step = self.log.data.get("recordedEpochs", 0)  # across rounds and candidates: TensorBoard's step
        self.log.data["recordedEpochs"] = step + 1
        if self.events:  # before the checkpoint: see results/events.py
            trained = "kernel" if self.method.kernel_trainable else "score"
            self.events.write(step, epoch_scalars(self.log.data, flips(self.config.resolved_masktype())),
                              {f"{trained}/{layer.name}": np.asarray(getattr(layer, trained)) for layer in self.layers})
        self.save_checkpoint(values)
        self.write_logs()
        self.print_line(epoch_line(epoch, self.config.maxepochs, self.log, counts))
