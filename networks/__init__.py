"""The networks by name: what each is (networks/registry.py, Keras-free), built from masked layers for training
(build_network), or from any layer factory (assemble_network, networks/factories.py).

The builder imports Keras, and is imported only when one of its names is first asked for, so that the registry and
the architectures can be read where Keras is absent or its backend not yet chosen (the configuration, --help, the
PyTorch peers in bench/).
"""

from networks.registry import (
    ACTIVATIONS,
    BATCHNORM_AFFINE,
    NETWORK_NAMES,
    NETWORKS,
    RESNET_VARIANTS,
    Network,
    check_network,
    network_entry,
    networks_where,
)

_FROM_BUILDER = ("assemble_network", "build_network", "layer_seeds", "uses_xla")

__all__ = ["ACTIVATIONS", "BATCHNORM_AFFINE", "NETWORKS", "NETWORK_NAMES", "Network", "RESNET_VARIANTS",
           "assemble_network", "build_network", "check_network", "layer_seeds", "network_entry", "networks_where",
           "uses_xla"]


def __getattr__(name):
    if name in _FROM_BUILDER:
        from networks import builder
        return getattr(builder, name)
    raise AttributeError(f"module 'networks' has no attribute '{name}'")
