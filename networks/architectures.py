"""The reference networks as lists of blocks: ("conv", filters[, kernel size, padding]), ("pool",),
("dense", units). Convolutions default to 3x3 with 'same' padding, as in the 2020 reference. The ResNets are
built by networks/resnet.py.

No biases anywhere; every weight layer is masked, the output layer (dense, softmax) too.
"""

from networks.resnet import RESNET_DEPTHS

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
