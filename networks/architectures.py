"""What a network is made of, as data: a `Sequential` list of blocks, or a `Residual` network of basic blocks.

networks/builder.py and networks/resnet.py lay these out with a layer factory (networks/factories.py); the
registry (networks/registry.py) names them. No biases anywhere; every weight layer is masked, the output layer
(dense, softmax) too.

This module imports nothing but the standard library, so that the configuration and tools without Keras (the
PyTorch peers in bench/) read the same structures.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class Conv:
    """A convolution, stride 1; `batchnorm`: conv - BatchNorm - activation (VGG-16), else conv - activation."""

    filters: int
    kernel_size: int = 3
    padding: str = "same"
    batchnorm: bool = False


@dataclasses.dataclass(frozen=True)
class MaxPool:
    """2x2 maximum, stride 2, 'valid' padding."""


@dataclasses.dataclass(frozen=True)
class GlobalAveragePool:
    """The mean over the spatial positions of each channel."""


@dataclasses.dataclass(frozen=True)
class Dense:
    units: int


@dataclasses.dataclass(frozen=True)
class Sequential:
    """Blocks one after another, flattened before the first Dense, then a dense softmax output layer."""

    blocks: tuple

    def weight_layer_count(self):
        return sum(isinstance(block, (Conv, Dense)) for block in self.blocks) + 1

    @property
    def has_batchnorm(self):
        return any(isinstance(block, Conv) and block.batchnorm for block in self.blocks)

    @property
    def has_convolutions(self):
        return any(isinstance(block, Conv) for block in self.blocks)


@dataclasses.dataclass(frozen=True)
class Residual:
    """ResNet v1 (He et al. 2016) of basic blocks: a stem (3x3 convolution - BatchNorm - activation), then stages of
    blocks (conv 3x3 - BatchNorm - activation - conv 3x3 - BatchNorm, plus the shortcut, then the activation); the
    first block of every stage after the first halves the resolution (stride 2) and projects its shortcut with a
    1x1 stride-2 convolution, followed by BatchNorm when `shortcut_batchnorm`. Global average pooling and a dense
    softmax output follow."""

    stem_filters: int
    stage_filters: tuple
    blocks_per_stage: tuple
    shortcut_batchnorm: bool = False
    has_batchnorm = True
    has_convolutions = True

    def weight_layer_count(self):
        """The stem, two convolutions per block, a projection per stage after the first, and the output layer."""
        return 1 + 2 * sum(self.blocks_per_stage) + len(self.stage_filters) - 1 + 1


def cifar_resnet(depth):
    """He et al.'s CIFAR ResNet of depth 6n+2: 16, 32 and 64 filters, n blocks per stage, projections without
    BatchNorm (as the 2020 code)."""
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"A ResNet's depth must be 6n+2 with n at least 1 (20, 32, 44, ...), got {depth}.")
    return Residual(16, (16, 32, 64), ((depth - 2) // 6,) * 3)


def conv_stack(*plan, batchnorm=False):
    """Blocks from a plan in the peers' notation: a number is a 3x3 convolution of that many filters, "M" a 2x2
    max pooling."""
    return tuple(MaxPool() if step == "M" else Conv(step, batchnorm=batchnorm) for step in plan)
