"""Every network by name, with what a run needs to know about it: one entry each.

An entry's architecture (networks/architectures.py) says what it is made of, and so whether it has BatchNorm and
convolutions; the rest is how the field trained it: its standard data set, default augmentation and learning-rate
drops, the binary initializer's input scale, the lottery-ticket convolution pruning rate, and the variants of it
that --resnet-variant chooses. Keras-free, so that the configuration and the help read it before a backend is
chosen. docs/EXTENDING.md, "A new network", says how to add one.
"""

import dataclasses

from initializers import INITIALIZERS
from networks.architectures import (
    Conv,
    Dense,
    GlobalAveragePool,
    MaxPool,
    Residual,
    Sequential,
    cifar_resnet,
    conv_stack,
)

STANDARD_VARIANT, VARIANT_2020 = "standard", "2020"
RESNET_VARIANTS = (STANDARD_VARIANT, VARIANT_2020)
BATCHNORM_AFFINE = ("trained", "frozen")
NO_DROPS = "none"
ACTIVATIONS = ("relu", "swish", "sigmoid", "elu", "selu")


@dataclasses.dataclass(frozen=True)
class Network:
    name: str
    architecture: object  # networks/architectures.py: Sequential or Residual
    standard_dataset: str  # what --dataset auto trains on
    reference: str  # where its structure comes from
    augmentation: str = "none"  # --augmentation's default
    lr_drops: str = NO_DROPS  # --lr-drops' default
    binary_input_scale: float = None  # --initializer binary multiplies the input by this; None: refused
    lottery_conv_prune_rate: float = 0.1  # IMP's per-round fraction of remaining convolution weights (Frankle)
    variants: tuple = (STANDARD_VARIANT,)  # --resnet-variant values it can be built as

    @property
    def has_batchnorm(self):
        return self.architecture.has_batchnorm

    @property
    def has_convolutions(self):
        return self.architecture.has_convolutions

    def weight_layer_count(self):
        """Its weight layers (every one masked in training), the output layer included."""
        return self.architecture.weight_layer_count()


CONV_HEAD = (Dense(256), Dense(256))
# He et al. 2016's CIFAR ResNets, as the 2020 code trained them (its ResNet20 and the family around it; ResNet8, the
# smallest, for quick checks of the residual path).
RESNET_2020 = dict(standard_dataset="cifar10", augmentation="shift-flip", lr_drops="80,120,160",
                   variants=RESNET_VARIANTS, reference="He et al. 2016, CIFAR-10 ResNet v1 (the 2020 code)")
# VGG-16 and ResNet-18 as the pruning-at-initialisation papers train them on CIFAR-10: 160 epochs, the rate dropped
# at half and three quarters (Synaptic-Flow's recipes), random crops and flips (here the nearest: shift-flip).
CIFAR_160_EPOCHS = dict(standard_dataset="cifar10", augmentation="shift-flip", lr_drops="80,120")

NETWORKS = {entry.name: entry for entry in (
    Network("LeNet", Sequential((Dense(300), Dense(100))), "mnist", "LeNet-300-100 (LeCun et al. 1998), 2020 code",
            binary_input_scale=5.942073791483592e-4),
    Network("Conv2", Sequential(conv_stack(64, 64, "M") + CONV_HEAD), "cifar10", "Frankle & Carbin 2019, 2020 code",
            binary_input_scale=1.384305440187043e-6),
    Network("Conv4", Sequential(conv_stack(64, 64, "M", 128, 128, "M") + CONV_HEAD), "cifar10",
            "Frankle & Carbin 2019, 2020 code", binary_input_scale=4.806616356300754e-9),
    Network("Conv6", Sequential(conv_stack(64, 64, "M", 128, 128, "M", 256, 256, "M") + CONV_HEAD), "cifar10",
            "Frankle & Carbin 2019, 2020 code", binary_input_scale=8.344820201940066e-12,
            lottery_conv_prune_rate=0.15),
    # Zhou et al. 2019 and edge-popup's largest conv network: hidden-networks' models/frankle.py, Conv8.
    Network("Conv8", Sequential(conv_stack(64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M") + CONV_HEAD),
            "cifar10", "Zhou et al. 2019; Ramanujan et al. 2020 (hidden-networks models/frankle.py, Conv8)"),
    # The lottery-ticket LeNet-5: 28x28 -> 28x28x6 -> 14x14x6 -> 10x10x16 -> 5x5x16 = 400.
    Network("LeNet5", Sequential((Conv(6, 5, "same"), MaxPool(), Conv(16, 5, "valid"), MaxPool(), Dense(120),
                                  Dense(84))), "mnist", "LeCun et al. 1998, as Frankle & Carbin 2019"),
    # Synaptic-Flow's (and open_lth's) VGG-16 for CIFAR-10, vgg16_bn: 13 convolutions each followed by BatchNorm,
    # average pooling of the last 2x2 map (global here, the same on 32x32 images) and one dense layer.
    Network("VGG16", Sequential(conv_stack(64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M",
                                           512, 512, 512, batchnorm=True) + (GlobalAveragePool(),)),
            reference="Simonyan & Zisserman 2015, CIFAR form of Synaptic-Flow's Models/lottery_vgg.py vgg16_bn",
            **CIFAR_160_EPOCHS),
    *(Network(f"ResNet{depth}", cifar_resnet(depth), **RESNET_2020) for depth in (8, 20, 32, 44, 56, 110)),
    # He et al.'s ImageNet widths on CIFAR (hidden-networks' models/resnet_cifar.py cResNet18, from kuangliu's
    # pytorch-cifar): a 3x3 stem, two blocks per stage, projections with BatchNorm.
    Network("ResNet18", Residual(64, (64, 128, 256, 512), (2, 2, 2, 2), shortcut_batchnorm=True),
            reference="He et al. 2016, CIFAR form (hidden-networks models/resnet_cifar.py, cResNet18)",
            **CIFAR_160_EPOCHS),
)}

NETWORK_NAMES = tuple(NETWORKS)


def network_entry(name):
    """The registry entry of --nettype `name`; ValueError (one sentence) for an unknown one."""
    if name not in NETWORKS:
        raise ValueError(f"Unknown network '{name}'; choose one of {', '.join(NETWORK_NAMES)}.")
    return NETWORKS[name]


def networks_where(predicate):
    """The names of the networks whose entry satisfies predicate(entry), in registry order."""
    return tuple(name for name, entry in NETWORKS.items() if predicate(entry))


def defaults_text(attribute):
    """The networks' values of an entry attribute in a few words, for the help: "a for X, Y; b otherwise"."""
    names_by_value = {}
    for name, entry in NETWORKS.items():
        names_by_value.setdefault(getattr(entry, attribute), []).append(name)
    default = {field.name: field.default for field in dataclasses.fields(Network)}.get(attribute)
    usual = default if default in names_by_value else max(names_by_value, key=lambda value: len(names_by_value[value]))
    return "; ".join([f"{value} for {', '.join(names)}" for value, names in names_by_value.items() if value != usual]
                     + [f"{usual} otherwise"])


def check_network(nettype, initializer, activation, variant=STANDARD_VARIANT):
    """Raises ValueError (one sentence) when the network cannot be built with these settings."""
    entry = network_entry(nettype)
    if activation not in ACTIVATIONS:
        raise ValueError(f"Unknown activation '{activation}'; choose one of {', '.join(ACTIVATIONS)}.")
    if initializer not in INITIALIZERS:
        raise ValueError(f"Unknown initializer '{initializer}'; choose one of {', '.join(INITIALIZERS)}.")
    if initializer == "binary" and entry.binary_input_scale is None:
        raise ValueError(f"--initializer binary needs an input scale for the network, and {nettype} has none "
                         f"(only {', '.join(networks_where(lambda other: other.binary_input_scale))} have one): "
                         "choose another --initializer.")
    if variant not in entry.variants:
        raise ValueError(f"--resnet-variant {variant} does not exist for {nettype} (it has "
                         f"{' and '.join(entry.variants)}); leave --resnet-variant out.")
