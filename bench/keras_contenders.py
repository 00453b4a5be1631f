"""The Keras contenders: the project's runner, and the same networks unmasked in plain Keras layers.

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
from training.compiled_steps import compiled_steps
from training.loop import Experiment


class NeverStop:
    """Stands in for the Ctrl-C StopRequest that Experiment.train_epoch polls."""

    requested = False


class Runner:
    """The real code path: `training.loop.Experiment` for FreePruning on a network (LeNet by default)."""

    name = "runner (masked, Experiment.train_epoch)"

    def __init__(self, dataset, batch_size=25, lr=1e-3, seed=1, epochs=10, nettype="LeNet", backend="tensorflow",
                 precision=None, device=None):
        """precision ("float32" / "tf32") and device ("auto" / "cpu" / "gpu") go into the RunConfig, as
        MaskTrainer.py's --precision and --device; None keeps RunConfig's default."""
        self.output = tempfile.TemporaryDirectory(prefix="speed-")
        settings = {name: value for name, value in (("precision", precision), ("device", device)) if value is not None}
        config = RunConfig(nettype=nettype, traintype="FreePruning", batchsize=batch_size, lr=lr,
                           seed=seed, maxepochs=epochs, outputpath=self.output.name, backend=backend,
                           **settings).validate()
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


def plain_resnet(nettype, input_shape, seed=1):
    """The ResNet of networks.build_network with each masked layer replaced by an ordinary Conv2D / Dense of the
    same filters, kernel size, strides, padding and activation (no biases, He normal kernels), BatchNorm, Add and
    pooling cloned as they are; in front, Keras' stock augmentation layers doing what the runner's step does
    (training/augmentation.py): shifts of up to 10% (bilinear, nearest fill) and horizontal flips."""
    from masking import MaskedConv2D, MaskedDense
    from networks import build_network
    initializer_seeds = iter(range(seed, seed + 10_000))

    def plain_layer(layer):
        initializer = keras.initializers.HeNormal(next(initializer_seeds))
        if isinstance(layer, MaskedConv2D):
            return keras.layers.Conv2D(layer.filters, layer.kernel_size, strides=layer.strides, padding=layer.padding,
                                       activation=layer.activation, use_bias=False, kernel_initializer=initializer,
                                       name=layer.name)
        if isinstance(layer, MaskedDense):
            return keras.layers.Dense(layer.units, activation=layer.activation, use_bias=False,
                                      kernel_initializer=initializer, name=layer.name)
        return layer.__class__.from_config(layer.get_config())

    network = keras.models.clone_model(build_network(nettype, input_shape, seed=seed), clone_function=plain_layer)
    inputs = keras.Input(shape=input_shape)
    augmented = keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed)(inputs)
    augmented = keras.layers.RandomFlip("horizontal", seed=seed)(augmented)
    return keras.Model(inputs, network(augmented), name=f"plain_{nettype}")


def plain_network(nettype, input_shape, seed=1):
    """The network of networks/architectures.py in ordinary Keras layers: Conv2D / MaxPooling2D / Dense,
    no biases, relu, softmax output; He normal kernels. Unmasked: its kernels train. ResNets: plain_resnet."""
    from networks import RESNET_DEPTHS
    from networks.architectures import ARCHITECTURES
    if nettype in RESNET_DEPTHS:
        return plain_resnet(nettype, input_shape, seed)
    layers = [keras.Input(shape=input_shape)]
    blocks = ARCHITECTURES[nettype] + [("dense", 10)]
    for index, block in enumerate(blocks):
        initializer = keras.initializers.HeNormal(seed + index)
        activation = "softmax" if index == len(blocks) - 1 else "relu"
        if block[0] == "pool":
            layers.append(keras.layers.MaxPooling2D(2))
        elif block[0] == "conv":
            kernel_size, padding = block[2:] if len(block) > 2 else (3, "same")
            layers.append(keras.layers.Conv2D(block[1], kernel_size, padding=padding, activation=activation,
                                              use_bias=False, kernel_initializer=initializer))
        else:
            if index == 0 or blocks[index - 1][0] != "dense":
                layers.append(keras.layers.Flatten())
            layers.append(keras.layers.Dense(block[1], activation=activation, use_bias=False,
                                             kernel_initializer=initializer))
    return keras.Sequential(layers, name=f"plain_{nettype}")


class PlainCompiledSteps:
    """The unmasked model trained exactly like the runner: the same compiled steps, same batches, and the
    runner's chunking of an epoch into compiled calls (training.loop.STEPS_PER_CALL steps each)."""

    name = "unmasked Keras, same compiled-steps loop"

    def __init__(self, dataset, batch_size=25, lr=1e-3, seed=1):
        keras.utils.set_random_seed(seed)
        self.model = plain_network("LeNet", dataset.x_train.shape[1:], seed)
        self.steps = compiled_steps(self.model, keras.optimizers.Adam(learning_rate=lr),
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
    """The unmasked model with stock Keras: compile() + fit(batch_size, epochs=1). By default jit_compile
    and steps_per_execution are left at Keras' defaults ("auto", 1); `best_fit_setting` picks the fastest."""

    name = "unmasked Keras, model.fit"

    def __init__(self, dataset, batch_size=25, lr=1e-3, seed=1, nettype="LeNet", jit_compile="auto",
                 steps_per_execution=1):
        keras.utils.set_random_seed(seed)
        self.model = plain_network(nettype, dataset.x_train.shape[1:], seed)
        self.model.compile(optimizer=keras.optimizers.Adam(learning_rate=lr),
                           loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                           jit_compile=jit_compile, steps_per_execution=steps_per_execution)
        self.x, self.y = dataset.x_train, dataset.y_train
        self.batch_size = batch_size
        self.steps_per_execution = steps_per_execution

    @property
    def jit_compile(self):
        return self.model.jit_compile

    def train_epoch(self):
        history = self.model.fit(self.x, self.y, batch_size=self.batch_size, epochs=1, verbose=0)
        return history.history["loss"][-1], history.history["accuracy"][-1]

    def close(self):
        pass


FIT_SETTINGS = [{"jit_compile": jit, "steps_per_execution": steps} for jit in (False, True) for steps in (1, 10, 100)]


def fit_settings(nettype):
    """The (jit_compile, steps_per_execution) settings to try. Not jit_compile=True for the ResNets: Keras runs
    their augmentation layers (TensorFlow's image-transform kernel, which XLA lacks) without XLA whatever it is
    asked (a warning, then jit_compile=False)."""
    from networks import RESNET_DEPTHS
    return [setting for setting in FIT_SETTINGS if not (nettype in RESNET_DEPTHS and setting["jit_compile"])]


def setting_label(setting):
    return f"jit_compile={setting['jit_compile']}, steps_per_execution={setting['steps_per_execution']}"


def best_fit_setting(make_fit, examples, settings=FIT_SETTINGS, print_line=print):
    """Times one epoch (after a warm-up epoch) of `make_fit(**setting)` on the first examples[label] training
    examples for each setting (XLA's CPU convolutions are so slow that those settings get fewer); returns
    (the setting with the fewest seconds per 1,000 examples, {setting label: seconds per 1,000 examples})."""
    per_thousand = {}
    for setting in settings:
        label = setting_label(setting)
        fit = make_fit(**setting)
        fit.x, fit.y = fit.x[:examples[label]], fit.y[:examples[label]]
        fit.train_epoch()
        started = time.perf_counter()
        fit.train_epoch()
        per_thousand[label] = round((time.perf_counter() - started) * 1000 / examples[label], 3)
        if fit.jit_compile != setting["jit_compile"]:
            raise RuntimeError(f"model.fit ran with jit_compile={fit.jit_compile} when asked for "
                               f"{setting['jit_compile']}.")
        print_line(f"  fit {label}: {per_thousand[label]:.2f}s per 1,000 examples ({examples[label]} timed)",
                   flush=True)
    return min(settings, key=lambda setting: per_thousand[setting_label(setting)]), per_thousand
