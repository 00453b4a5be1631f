"""RunConfig: the common settings of a run plus the selected method family's own settings.

One RunConfig flows from the command line (or a grid, or a run's stored logs) through network
building, training and results. Its identity (`identity()`) is what makes two runs the same run, for
sweeps, resume and reporting alike.
"""

import dataclasses
import math
import os

from config.applicability import refuse_changed, refuse_given
from datasets import DATA_DIR_DATASETS, DATASET_NAMES
from devices import DEFAULT_DEVICE, DEFAULT_PRECISION, DEVICES, PRECISIONS
from initializers import INITIALIZERS, SIGNED

# A mask function's name and what it does are declared apart from its Keras code (masking/declarations.py).
from masking.declarations import MASK_FUNCTION_NAMES
from methods import FAMILIES, METHOD_NAMES, ConfigError, family_of, get_method, setting
from methods.base import check_settings
from methods.recipes import RECIPES_CHOICES, recipe_settings
from networks import (
    ACTIVATIONS,
    BATCHNORM_AFFINE,
    NETWORK_NAMES,
    RESNET_VARIANTS,
    check_network,
    network_entry,
    networks_where,
)
from networks.registry import VARIANT_2020, defaults_text
from results.paths import configuration_folder
from training.choices import AUGMENTATIONS, DEFAULT_MOMENTUM, OPTIMIZERS
from training.pack_forms import PackFormError, chosen_form
from training.schedule import LR_SCHEDULES, NO_DROPS, RESNET_DROPS, canonical_drops, parse_drops

MAX_SEED = 2**32 - 1  # keras.utils.set_random_seed's largest, which seeds Python's, numpy's and the backend's

# "auto" and every registered data set (datasets/registry.py), so that a new data set needs no line here.
DATASET_CHOICES = DATASET_NAMES
# The settings that do something only for some runs (config/applicability.py).
WITH_2020_VARIANT = networks_where(lambda entry: VARIANT_2020 in entry.variants)
VARIANTS = ("nettype", WITH_2020_VARIANT, "the networks with a 2020 variant, --nettype " + ", ".join(WITH_2020_VARIANT))
WITH_BATCHNORM = networks_where(lambda entry: entry.has_batchnorm)
BATCHNORM = ("nettype", WITH_BATCHNORM, "the networks with BatchNorm, --nettype " + ", ".join(WITH_BATCHNORM))
DEFAULT_AUGMENTATIONS, DEFAULT_DROPS = defaults_text("augmentation"), defaults_text("lr_drops")
# What the 2020 code's ResNet started from whatever --lr said (--resnet-variant 2020).
RESNET_2020_LEARNING_RATE = 1e-3


def valid_drops(text):
    try:
        return text is None or parse_drops(text) is not None
    except ValueError:
        return False

# Where a run writes, how many seeds one command runs, where the data files are read from, whether
# training is compiled with XLA, whether TensorBoard files are written and which device trains it: none of these
# changes what a run is (a device changes the rounding, not the run; its logs record which one trained it).
# --recipe only fills in other settings, which are the run's identity.
NOT_IDENTITY = ("outputpath", "nruns", "data_dir", "xla", "tensorboard", "device", "pack", "recipe")


@dataclasses.dataclass(frozen=True)
class RunConfig:
    # The 2020 reference's flags, names and defaults.
    nettype: str = setting("LeNet", "network", choices=NETWORK_NAMES)
    traintype: str = setting("FreePruning", "training method", choices=METHOD_NAMES)
    initializer: str = setting(None, "weight initializer; default: glorot for IMP (as Frankle & Carbin), "
                               "heconstant for EdgePopup (hidden-networks' signed constant), he otherwise (as the "
                               "2020 reference)", choices=tuple(INITIALIZERS))
    activation: str = setting("relu", "hidden-layer activation", choices=ACTIVATIONS)
    masktype: str = setting(None, "mask function; default: flip for the flipping methods, topk for EdgePopup, mask "
                            "otherwise",
                            choices=MASK_FUNCTION_NAMES)
    batchsize: int = setting(25, "mini-batch size", type=int, valid=lambda value: value >= 1,
                             requirement="must be at least 1")
    maxepochs: int = setting(20, "training epochs (0: only evaluate the untrained network)", type=int,
                             valid=lambda value: value >= 0, requirement="must be 0 or more")
    seed: int = setting(0, "run seed; 0 draws a fresh one, which is recorded", type=int,
                        valid=lambda value: 0 <= value <= MAX_SEED,
                        requirement=f"must be 0 (fresh seed) or a positive integer up to {MAX_SEED} (2**32 - 1, "
                                    "what Keras' random generators take)")
    p1: float = setting(0.5, "probability of a +1 sign for heconstant/binary", type=float,
                        valid=lambda value: 0.0 <= value <= 1.0,
                        requirement="is a probability and must lie in [0, 1]",
                        applies=("initializer", SIGNED, "--initializer " + " or ".join(SIGNED)))
    lr: float = setting(1e-3, "learning rate (of Adam in the 2020 code)", type=float,
                        valid=lambda value: math.isfinite(value) and value > 0, requirement="must be a positive number")
    outputpath: str = setting("Outputs", "folder for the results")
    # Beyond the 2020 reference's flags: what grids, other data, devices and the field's methods need.
    nruns: int = setting(1, "number of runs (seeds seed, seed+1, ...)", type=int, valid=lambda value: value >= 1,
                         requirement="must be at least 1")
    dataset: str = setting("auto", "data set; auto: the network's standard one (MNIST for LeNet and LeNet5, "
                           "CIFAR-10 for the others), or the MNIST subset when full MNIST cannot be found",
                           choices=DATASET_CHOICES)
    data_dir: str = setting(None, "folder holding the official data files", flag="--data-dir",
                            applies=("dataset", DATA_DIR_DATASETS, "the data sets read from files, --dataset "
                                     + ", ".join(DATA_DIR_DATASETS)))
    limit: int = setting(None, "use only the first N examples of each split (quick checks)", type=int,
                         valid=lambda value: value is None or value >= 1, requirement="must be at least 1")
    test_normalization: str = setting("test", "statistics that normalise the test set: its own (as the "
                                      "reference) or the training set's", choices=("test", "train"),
                                      flag="--test-normalization")
    augmentation: str = setting(None, "random shifts (up to 10%% of height and width, nearest fill) and horizontal "
                                "flips of the training images, inside the compiled step; default: the network's "
                                f"({DEFAULT_AUGMENTATIONS})", choices=AUGMENTATIONS)
    lr_drops: str = setting(None, "epochs (from 1) from which the learning rate is divided by 10 once more, "
                            f"comma-separated, or {NO_DROPS}; default: the network's ({DEFAULT_DROPS})",
                            flag="--lr-drops", valid=valid_drops,
                            requirement=f"takes increasing epochs of at least 1 separated by commas (e.g. "
                                        f"{RESNET_DROPS}), or {NO_DROPS}",
                            applies=("lr_schedule", ("step",), "--lr-schedule step"))
    optimizer: str = setting("adam", "adam: Keras' Adam, as the 2020 code; sgd: SGD with --momentum as PyTorch "
                             "computes it, as hidden-networks and Synaptic-Flow trained. Part of a run's identity",
                             choices=OPTIMIZERS)
    momentum: float = setting(DEFAULT_MOMENTUM, "--optimizer sgd: momentum (PyTorch's: buffer = momentum * buffer + "
                              "gradient)", type=float, valid=lambda value: 0.0 <= value < 1.0,
                              requirement="must lie in [0, 1)", applies=("optimizer", ("sgd",), "--optimizer sgd"))
    weight_decay: float = setting(0.0, "weight decay * variable added to the gradient of every trained variable "
                                  "(PyTorch's weight_decay, an L2 penalty; the scores for connectivity training)",
                                  type=float, flag="--weight-decay", valid=lambda value: math.isfinite(value)
                                  and value >= 0, requirement="must be 0 or a positive number")
    lr_schedule: str = setting("step", "step: --lr divided by 10 at each of --lr-drops (the 2020 code; constant "
                               "without drops); cosine: --lr * (1 + cos(pi * (epoch - 1) / epochs)) / 2, set each "
                               "epoch (hidden-networks, no warm-up)", choices=LR_SCHEDULES, flag="--lr-schedule")
    resnet_variant: str = setting("standard", "ResNets: standard ResNet v1, or 2020 for the 2020 code's quirks (one "
                                  "seed for all layers, ReLU inside the convolutions too, softmax twice, ReLU and "
                                  "lr 1e-3 whatever --activation and --lr say)", choices=RESNET_VARIANTS,
                                  flag="--resnet-variant", applies=VARIANTS)
    batchnorm_affine: str = setting("trained", "networks with BatchNorm: its scale and offset train in every method "
                                    "(the 2020 code), or stay frozen at 1 and 0 so that only the connectivity trains",
                                    choices=BATCHNORM_AFFINE, flag="--batchnorm-affine", applies=BATCHNORM)
    xla: str = setting("auto", "TensorFlow only (JAX always compiles with XLA): compile training with XLA; auto = for "
                       "networks without convolutions, where it is about 3x faster on a CPU (with convolutions a step "
                       "is 10-30%% slower under XLA on a CPU)", choices=("auto", "on", "off"),
                       applies=("backend", ("tensorflow",), "--backend tensorflow"))
    backend: str = setting("tensorflow", "Keras backend that trains the run: tensorflow, or jax (XLA-compiled; "
                           "the way onto GPUs); without the flag, KERAS_BACKEND when set",
                           choices=("tensorflow", "jax"))
    device: str = setting(DEFAULT_DEVICE, "where the run trains: auto = the GPU when the driver shows one (refused "
                          "if the backend cannot use it), else the CPU; gpu = refused unless a GPU is usable; cpu = "
                          "the CPU only. Not part of a run's identity; its logs record the device", choices=DEVICES)
    precision: str = setting(DEFAULT_PRECISION, "float32 matrix products and convolutions: in full float32 (the 2020 "
                             "code, and a CPU), or in TF32 on NVIDIA GPUs (faster, about 3 decimal digits; JAX's own "
                             "GPU default). Part of a run's identity", choices=PRECISIONS)
    pack: int = setting(1, "JAX: train up to this many of the --nruns seeds together, in one compiled program "
                        "(jax.vmap), every method; each stays a run of its own, its method's phases and choices its "
                        "own", type=int, valid=lambda value: value >= 1, requirement="must be at least 1")
    recipe: str = setting("common", "common: train every method alike, with the flags' defaults (the 2020 code's "
                          "Adam at 1e-3, batch 25, 20 epochs); paper: the method's own recipe, as its paper trained "
                          "it, "
                          "for the settings not given (methods/recipes.py lists them with their sources)",
                          choices=RECIPES_CHOICES)
    tensorboard: bool = setting(False, "also write TensorBoard event files per epoch, in {id}_tensorboard/ beside "
                                "the run's logs", type=bool)
    # The selected family's own settings (methods/<family>.py); None: that family's defaults.
    method_settings: object = None

    def __post_init__(self):
        family = family_of(self.traintype)
        if not isinstance(self.method_settings, family.settings_class):
            # None, or another family's settings after replace(traintype=...): this family's defaults.
            object.__setattr__(self, "method_settings", family.settings_class())

    # Construction -----------------------------------------------------------------------------
    @classmethod
    def common_names(cls):
        return tuple(field.name for field in dataclasses.fields(cls) if field.name != "method_settings")

    @classmethod
    def from_settings(cls, settings, strict=True, given=()):
        """From flat settings (the command line, a grid, a run's stored config). A setting of the method's own
        family that the method does not use (--kstarts for RandomPruning, --keep-fraction for FreePruning) is left
        out, so that one grid can cross several methods with their own settings. strict: a setting of another
        family, or an unknown one, is refused; otherwise (grids, stored logs of older versions) it is left out too.
        given: the names of the settings given on the command line, each refused if it does nothing for the run
        (--keep-fraction for FreePruning, --momentum without --optimizer sgd: config/applicability.py)."""
        if settings.get("recipe") == "paper":
            try:
                recipe = recipe_settings(settings.get("traintype", cls.traintype), settings.get("nettype", cls.nettype))
            except ValueError as error:
                raise ConfigError(str(error)) from None
            settings = {**{name: value for name, value in recipe.items() if name not in settings}, **settings}
        common = {name: settings[name] for name in cls.common_names() if name in settings}
        traintype = common.get("traintype", cls.traintype)
        family, method = family_of(traintype), get_method(traintype)
        own = {name: settings[name] for name in family.setting_names(method) if name in settings}
        config = cls(**common, method_settings=family.settings_class(**own))
        if strict:
            for name in settings:
                if name not in common and not any(name in other.setting_names() for other in FAMILIES):
                    raise ConfigError(f"Unknown setting '{name}'.")
            refuse_given(config, [name for name in settings if name not in common and name not in own
                                  and name not in family.setting_names()])
        refuse_given(config, given)
        return config

    def replace(self, **changes):
        """A copy with common settings changed (the family's settings are kept)."""
        return dataclasses.replace(self, **changes)

    # Derived values ---------------------------------------------------------------------------
    @property
    def method(self):
        return get_method(self.traintype)

    @property
    def family(self):
        return family_of(self.traintype)

    def resolved_masktype(self):
        return self.masktype or self.method.default_masktype

    def resolved_initializer(self):
        return self.initializer or self.method.default_initializer or self.family.default_initializer

    def masking_options(self):
        """The masked layers' switches for this run: its method's, with the mask function's parameters."""
        return self.family.masking_options(self.method, self.resolved_masktype(), self.family.resolved_settings(self))

    @property
    def network(self):
        """The network's registry entry (networks/registry.py)."""
        return network_entry(self.nettype)

    def resolved_augmentation(self):
        return self.augmentation or self.network.augmentation

    def resolved_lr_drops(self):
        if self.lr_schedule == "cosine":
            return NO_DROPS
        return canonical_drops(self.lr_drops or self.network.lr_drops)

    def starting_learning_rate(self):
        """--lr, except in the 2020 ResNet, which started at 1e-3 whatever --lr said (its folder still shows --lr)."""
        return RESNET_2020_LEARNING_RATE if self.resnet_variant == VARIANT_2020 else self.lr

    def folder(self):
        return configuration_folder(self.outputpath, self.traintype, self.nettype, self.p1, self.resolved_masktype(),
                                    self.activation, self.resolved_initializer(), self.lr,
                                    self.optimizer_suffix() + self.family.folder_suffix(self))

    def optimizer_suffix(self):
        """The optimizer settings that differ from the 2020 code's (Adam, no decay, step schedule), for the folder."""
        suffix = f"_sgd_M{float(self.momentum)}" if self.optimizer == "sgd" else ""
        suffix += f"_WD{float(self.weight_decay)}" if self.weight_decay else ""
        return suffix + ("_cosine" if self.lr_schedule == "cosine" else "")

    def to_dict(self):
        """Flat settings as stored in a run's logs: the common ones, resolved, then those of the family's that
        the method uses."""
        common = {name: getattr(self, name) for name in self.common_names()}
        common.update(masktype=self.resolved_masktype(), initializer=self.resolved_initializer(),
                      augmentation=self.resolved_augmentation(), lr_drops=self.resolved_lr_drops())
        used, settings = self.family.setting_names(self.method), self.family.resolved_settings(self)
        return {**common, **{name: getattr(settings, name) for name in used}}

    def identity(self):
        """The settings that make two runs the same run, the seed included."""
        return {name: value for name, value in self.to_dict().items() if name not in NOT_IDENTITY}

    def identity_key(self):
        return tuple(sorted(self.identity().items()))

    # Validation -------------------------------------------------------------------------------
    def validate(self):
        """Raises ConfigError (one sentence) for a setting or combination that cannot work."""
        check_settings(self)
        check_settings(self.method_settings)
        method, masktype = self.method, self.resolved_masktype()
        if masktype not in method.masktypes:
            raise ConfigError(f"--traintype {self.traintype} {method.description}, which --masktype {masktype} "
                              f"cannot do: use --masktype {' or '.join(method.masktypes)} or leave --masktype out.")
        self.family.check(self)
        self.masking_options()  # a mask function whose parameters the family's settings lack is refused here
        refuse_changed(self)
        if self.seed + self.nruns - 1 > MAX_SEED:
            raise ConfigError(f"--nruns {self.nruns} from --seed {self.seed} runs seeds up to "
                              f"{self.seed + self.nruns - 1}, past {MAX_SEED} (2**32 - 1, what Keras' random "
                              "generators take); pass a smaller --seed or --nruns.")
        if self.pack > 1 and self.backend != "jax":
            raise ConfigError(f"--pack trains runs together through JAX (jax.vmap), and this run is a --backend "
                              f"{self.backend} run: add --backend jax, or leave --pack out.")
        if self.pack > 1:
            try:
                chosen_form("cpu", False, self.pack)  # the user's MASKTRAINER_PACK_FORM, checked before any work
            except PackFormError as error:
                raise ConfigError(str(error)) from None
        try:
            check_network(self.nettype, self.resolved_initializer(), self.activation, self.resnet_variant)
        except ValueError as error:
            raise ConfigError(str(error)) from None
        if os.path.exists(self.outputpath) and not os.path.isdir(self.outputpath):
            raise ConfigError(f"--outputpath {self.outputpath} is a file, not a folder; pass a folder path.")
        return self
