"""The reference networks as lists of blocks: ("conv", filters), ("pool",), ("dense", units).

No biases anywhere; every weight layer is masked, the output layer (dense, softmax) too.
"""

ARCHITECTURES = {
    "LeNet": [("dense", 300), ("dense", 100)],
    "Conv2": [("conv", 64), ("conv", 64), ("pool",), ("dense", 256), ("dense", 256)],
    "Conv4": [("conv", 64), ("conv", 64), ("pool",), ("conv", 128), ("conv", 128), ("pool",),
              ("dense", 256), ("dense", 256)],
    "Conv6": [("conv", 64), ("conv", 64), ("pool",), ("conv", 128), ("conv", 128), ("pool",),
              ("conv", 256), ("conv", 256), ("pool",), ("dense", 256), ("dense", 256)],
}

# The data set each network was evaluated on in the paper.
STANDARD_DATASET = {"LeNet": "mnist", "Conv2": "cifar10", "Conv4": "cifar10", "Conv6": "cifar10"}
