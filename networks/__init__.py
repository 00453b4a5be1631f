"""The reference networks built from masked layers, by name."""

from networks.architectures import ARCHITECTURES, STANDARD_DATASET
from networks.builder import ACTIVATIONS, build_network, check_network, layer_seeds, uses_xla
from networks.resnet import BATCHNORM_AFFINE, RESNET_DEPTHS, RESNET_VARIANTS

NETWORK_NAMES = tuple(ARCHITECTURES) + tuple(RESNET_DEPTHS)

__all__ = ["ACTIVATIONS", "ARCHITECTURES", "BATCHNORM_AFFINE", "NETWORK_NAMES", "RESNET_DEPTHS", "RESNET_VARIANTS",
           "STANDARD_DATASET", "build_network", "check_network", "layer_seeds", "uses_xla"]
