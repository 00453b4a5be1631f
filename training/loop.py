"""Runs one experiment: build the network, evaluate it untrained (epoch 0), train, write the results."""

import math
import time

import keras
import numpy as np

from masking import masked_layers
from networks import build_network
from results import atomic
from results.layout import configuration_folder, reserve_run_id, run_file
from results.run_log import RunLog
from training.batches import epoch_batches
from training.console import EpochProgress, epoch_line
from training.methods import get_method
from training.steps import CompiledSteps


class TrainingFailed(RuntimeError):
    """The run could not go on (e.g. a NaN loss); its logs are kept and marked failed."""


def kernels(layers):
    return {layer.name: np.asarray(layer.kernel) for layer in layers}


def mask_arrays(layers):
    return {layer.name: np.asarray(layer.mask_values()) for layer in layers}


class Experiment:
    def __init__(self, config, dataset, print_line=print):
        self.config = config
        self.dataset = dataset
        self.print_line = print_line
        self.method = get_method(config.traintype)
        keras.utils.set_random_seed(config.seed)
        self.model = build_network(
            config.nettype, dataset.x_train.shape[1:], dataset.num_classes,
            activation=config.activation, initializer=config.initializer, p1=config.p1,
            seed=config.seed, masking=self.method.masking_options(config.resolved_masktype()))
        self.layers = masked_layers(self.model)
        self.optimizer = keras.optimizers.Adam(learning_rate=config.lr)
        self.steps = CompiledSteps(self.model, self.optimizer, dataset.x_train, dataset.y_train, self.layers)
        self.shuffle_generator = np.random.default_rng([config.seed, 1])
        self.folder = configuration_folder(config)
        self.run_id = reserve_run_id(self.folder)
        self.log = RunLog(self.run_id, config, dataset, self.layers)

    def path(self, kind):
        return run_file(self.folder, self.run_id, kind)

    def run(self):
        atomic.write_npz(self.path("initial_weights"), kernels(self.layers))
        try:
            self.record_epoch(0, self.evaluate_split(self.dataset.x_train, self.dataset.y_train), time.time())
            for epoch in range(1, self.config.maxepochs + 1):
                started = time.time()
                self.record_epoch(epoch, self.train_epoch(epoch), started)
        except TrainingFailed as failure:
            self.log.finish("failed", str(failure))
            self.log.write(self.folder)
            raise
        except KeyboardInterrupt:
            self.log.finish("interrupted", "stopped by the user (Ctrl-C)")
            self.log.write(self.folder)
            raise
        atomic.write_npz(self.path("final_masks"), mask_arrays(self.layers))
        if self.method.kernel_trainable:
            atomic.write_npz(self.path("final_weights"), kernels(self.layers))
        self.log.finish("finished")
        self.log.write(self.folder)
        return self.log

    def evaluate_split(self, images, labels):
        return self.steps.evaluate(images, labels)

    def train_epoch(self, epoch):
        indices, weights = epoch_batches(self.shuffle_generator, len(self.dataset.x_train), self.config.batchsize)
        progress = EpochProgress(len(indices))
        loss_sum = correct_sum = examples = 0.0
        for start in range(0, len(indices), progress.chunk):
            stop = min(start + progress.chunk, len(indices))
            chunk_loss, chunk_correct, chunk_examples = self.steps.train_range(indices, weights, start, stop)
            loss_sum += float(chunk_loss)
            correct_sum += float(chunk_correct)
            examples += float(chunk_examples)
            if not math.isfinite(loss_sum):
                progress.close()
                raise TrainingFailed(f"The training loss became {loss_sum} in epoch {epoch}, so the run "
                                     "stopped and is marked failed in its logs; try a smaller --lr.")
            progress.update(stop, loss_sum / examples)
        progress.close()
        return loss_sum / examples, correct_sum / examples

    def record_epoch(self, epoch, train_result, started):
        val_loss, val_accuracy = self.evaluate_split(self.dataset.x_val, self.dataset.y_val)
        test_loss, test_accuracy = self.evaluate_split(self.dataset.x_test, self.dataset.y_test)
        for name, value in (("validation", val_loss), ("test", test_loss)):
            if not math.isfinite(value):
                raise TrainingFailed(f"The {name} loss became {value} in epoch {epoch}, so the run stopped "
                                     "and is marked failed in its logs; try a smaller --lr.")
        counts = np.asarray(self.steps.mask_counts())
        self.log.append_epoch((train_result[0], val_loss, test_loss),
                              (train_result[1], val_accuracy, test_accuracy), counts, time.time() - started)
        self.log.write(self.folder)
        self.print_line(epoch_line(epoch, self.config.maxepochs, self.log, counts))
