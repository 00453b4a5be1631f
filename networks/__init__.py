"""The reference networks built from masked layers, by name."""

from networks.architectures import ARCHITECTURES, STANDARD_DATASET
from networks.builder import ACTIVATIONS, build_network, check_network, layer_seeds, uses_xla

NETWORK_NAMES = tuple(ARCHITECTURES)

__all__ = ["ACTIVATIONS", "ARCHITECTURES", "NETWORK_NAMES", "STANDARD_DATASET", "build_network", "check_network",
           "layer_seeds",
           "uses_xla"]
