"""The reference networks as lists of blocks: ("conv", filters[, kernel size, padding]), ("pool",),
("dense", units). Convolutions default to 3x3 with 'same' padding, as in the 2020 reference. The ResNets are
built by networks/resnet.py from the stage structure below.

No biases anywhere; every weight layer is masked, the output layer (dense, softmax) too.

This module imports nothing but the standard library, so that tools without Keras (the PyTorch peers in
bench/) read the same structures.
"""

# ResNet8 (n = 1) is the family's smallest member: quick checks of the ResNet path.
RESNET_DEPTHS = {f"ResNet{depth}": depth for depth in (8, 20, 32, 44, 56, 110)}
RESNET_VARIANTS = ("standard", "2020")
BATCHNORM_AFFINE = ("trained", "frozen")
STAGE_FILTERS = (16, 32, 64)


def blocks_per_stage(depth):
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"A ResNet's depth must be 6n+2 with n at least 1 (20, 32, 44, ...), got {depth}.")
    return (depth - 2) // 6


def masked_layer_count(depth):
    """The stem, two convolutions per block, two projections and the output layer."""
    return 1 + 2 * 3 * blocks_per_stage(depth) + 2 + 1


ARCHITECTURES = {
    "LeNet": [("dense", 300), ("dense", 100)],
    "Conv2": [("conv", 64), ("conv", 64), ("pool",), ("dense", 256), ("dense", 256)],
    "Conv4": [("conv", 64), ("conv", 64), ("pool",), ("conv", 128), ("conv", 128), ("pool",),
              ("dense", 256), ("dense", 256)],
    "Conv6": [("conv", 64), ("conv", 64), ("pool",), ("conv", 128), ("conv", 128), ("pool",),
              ("conv", 256), ("conv", 256), ("pool",), ("dense", 256), ("dense", 256)],
    # LeNet-5 of the lottery-ticket experiments: 28x28 -> 28x28x6 -> 14x14x6 -> 10x10x16 -> 5x5x16 = 400.
    "LeNet5": [("conv", 6, 5, "same"), ("pool",), ("conv", 16, 5, "valid"), ("pool",),
               ("dense", 120), ("dense", 84)],
}

# The data set each network was evaluated on in the paper.
STANDARD_DATASET = {"LeNet": "mnist", "LeNet5": "mnist", "Conv2": "cifar10", "Conv4": "cifar10", "Conv6": "cifar10",
                    **{name: "cifar10" for name in RESNET_DEPTHS}}

# The binary initializer keeps activations in range by multiplying the input data by these; the networks without
# one (LeNet5, the ResNets) refuse --initializer binary.
BINARY_INPUT_SCALE = {
    "LeNet": 5.942073791483592e-4,
    "Conv2": 1.384305440187043e-6,
    "Conv4": 4.806616356300754e-9,
    "Conv6": 8.344820201940066e-12,
}

# Lottery tickets: the fraction of a convolution's remaining weights pruned per round, as Frankle & Carbin had it
# (10% for Conv-2 and Conv-4, 15% for Conv-6).
LOTTERY_CONV_PRUNE_RATE = {"Conv6": 0.15}
DEFAULT_LOTTERY_CONV_PRUNE_RATE = 0.1


def has_convolutions(nettype):
    """Whether the network has convolutions (every ResNet does)."""
    return nettype in RESNET_DEPTHS or any(block[0] == "conv" for block in ARCHITECTURES[nettype])
