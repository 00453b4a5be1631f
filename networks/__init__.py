"""The reference networks by name: built from masked layers for training (build_network), or from any layer
factory (assemble_network, networks/factories.py).

The structures (networks.architectures) import no Keras; the builder does, and is imported only when one of its
names is first asked for, so that `from networks.architectures import ...` works where Keras is absent (the
PyTorch peers in bench/ on a machine without TensorFlow).
"""

from networks.architectures import ARCHITECTURES, BATCHNORM_AFFINE, RESNET_DEPTHS, RESNET_VARIANTS, STANDARD_DATASET

NETWORK_NAMES = tuple(ARCHITECTURES) + tuple(RESNET_DEPTHS)

_FROM_BUILDER = ("ACTIVATIONS", "assemble_network", "build_network", "check_network", "layer_seeds", "uses_xla")

__all__ = ["ACTIVATIONS", "ARCHITECTURES", "BATCHNORM_AFFINE", "NETWORK_NAMES", "RESNET_DEPTHS", "RESNET_VARIANTS",
           "STANDARD_DATASET", "assemble_network", "build_network", "check_network", "layer_seeds", "uses_xla"]


def __getattr__(name):
    if name in _FROM_BUILDER:
        from networks import builder
        return getattr(builder, name)
    raise AttributeError(f"module 'networks' has no attribute '{name}'")
