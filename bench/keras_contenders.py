"""The plain Keras contenders: a network as the product lays it out (networks.assemble_network) with Keras' own
Conv2D and Dense layers (export/plain_keras.py's PlainLayers), unmasked, so that its kernels train. Each has
`train_epoch()` (one epoch over the training set; returns (loss, accuracy)) and `close()`."""

import time

import keras
import numpy as np

from config import RunConfig
from export.plain_keras import PlainLayers
from networks import assemble_network
from runs import BATCH_SIZE, LEARNING_RATE
from training.batches import epoch_batches
from training.compiled_steps import compiled_steps
from training.driver import STEPS_PER_CALL


def augments(nettype):
    """Whether the network's runs augment their training images by default (the ResNets: shift-flip)."""
    return RunConfig(nettype=nettype).resolved_augmentation() != "none"


def plain_network(nettype, input_shape, seed=1):
    """For a network whose runs augment, Keras' own augmentation layers in front, doing what the runner's step does
    (training/augmentation.py): shifts of up to 10% (bilinear, nearest fill) and horizontal flips."""
    keras.utils.set_random_seed(seed)
    network = assemble_network(nettype, input_shape, 10, PlainLayers(), name=f"plain_{nettype}")
    if not augments(nettype):
        return network
    inputs = keras.Input(shape=input_shape)
    augmented = keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed)(inputs)
    augmented = keras.layers.RandomFlip("horizontal", seed=seed)(augmented)
    return keras.Model(inputs, network(augmented), name=f"plain_{nettype}_augmented")


class PlainSteps:
    """The unmasked network trained as the runner trains (`keras_steps`): the product's compiled steps, the runner's
    batch order, its chunks of training.driver.STEPS_PER_CALL steps per compiled call."""

    name = "unmasked Keras, same compiled-steps loop"

    def __init__(self, dataset, nettype="LeNet", seed=1):
        self.model = plain_network(nettype, dataset.x_train.shape[1:], seed)
        self.steps = compiled_steps(self.model, keras.optimizers.Adam(learning_rate=LEARNING_RATE),
                                    dataset.x_train, dataset.y_train, masked_layers=[])
        self.example_count = len(dataset.x_train)
        self.shuffle_generator = np.random.default_rng([seed, 1])  # the runner's batch order

    def train_epoch(self):
        indices, weights = epoch_batches(self.shuffle_generator, self.example_count, BATCH_SIZE)
        loss_sum = correct = examples = 0.0
        for start in range(0, len(indices), STEPS_PER_CALL):
            chunk = self.steps.train_range(indices, weights, start, min(start + STEPS_PER_CALL, len(indices)))
            loss_sum, correct, examples = loss_sum + chunk[0], correct + chunk[1], examples + chunk[2]
        return loss_sum / examples, correct / examples

    def close(self):
        pass


class PlainFit:
    """The unmasked network with stock Keras: compile() + fit(batch_size=25, epochs=1), jit_compile and
    steps_per_execution at Keras' defaults ("auto", 1) unless given; `best_fit_setting` picks the fastest."""

    name = "unmasked Keras, model.fit"

    def __init__(self, dataset, nettype="LeNet", seed=1, jit_compile="auto", steps_per_execution=1):
        self.model = plain_network(nettype, dataset.x_train.shape[1:], seed)
        self.model.compile(optimizer=keras.optimizers.Adam(learning_rate=LEARNING_RATE),
                           loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                           jit_compile=jit_compile, steps_per_execution=steps_per_execution)
        self.x, self.y = dataset.x_train, dataset.y_train

    @property
    def jit_compile(self):
        return self.model.jit_compile

    def train_epoch(self):
        history = self.model.fit(self.x, self.y, batch_size=BATCH_SIZE, epochs=1, verbose=0)
        return history.history["loss"][-1], history.history["accuracy"][-1]

    def close(self):
        pass


FIT_SETTINGS = [{"jit_compile": jit, "steps_per_execution": steps} for jit in (False, True) for steps in (1, 10, 100)]


def fit_settings(nettype):
    """The (jit_compile, steps_per_execution) settings to try. Not jit_compile=True in front of augmentation layers:
    Keras runs them (TensorFlow's image-transform kernel, which XLA lacks) without XLA whatever it is asked."""
    return [setting for setting in FIT_SETTINGS if not (augments(nettype) and setting["jit_compile"])]


def setting_label(setting):
    return f"jit_compile={setting['jit_compile']}, steps_per_execution={setting['steps_per_execution']}"


def best_fit_setting(make_fit, examples, settings=FIT_SETTINGS, print_line=print):
    """Times one epoch (after a warm-up epoch) of `make_fit(**setting)` on the first examples(setting) training
    examples for each setting; returns (the setting with the fewest seconds per 1,000 examples, {setting label:
    seconds per 1,000 examples})."""
    per_thousand = {}
    for setting in settings:
        label, count = setting_label(setting), examples(setting)
        fit = make_fit(**setting)
        fit.x, fit.y = fit.x[:count], fit.y[:count]
        fit.train_epoch()
        started = time.perf_counter()
        fit.train_epoch()
        per_thousand[label] = round((time.perf_counter() - started) * 1000 / count, 3)
        if fit.jit_compile != setting["jit_compile"]:
            raise RuntimeError(f"model.fit ran with jit_compile={fit.jit_compile} when asked for "
                               f"{setting['jit_compile']}.")
        print_line(f"  fit {label}: {per_thousand[label]:.2f}s per 1,000 examples ({count} timed)", flush=True)
    return min(settings, key=lambda setting: per_thousand[setting_label(setting)]), per_thousand
