"""The PyTorch peer of the masked convolutional networks (Conv2/Conv4/Conv6, LeNet5; FreePruning).

Built from `networks.architectures.ARCHITECTURES`: ("conv", filters[, kernel, padding]) is a masked
convolution, 3x3 'same' by default, stride 1; ("pool",) is 2x2 max pooling, stride 2 (an odd last
row or column is dropped, as in the Keras MaxPool2x2); ("dense", units) is a masked dense layer;
then a masked dense output of 10 classes. Relu everywhere except the output, whose softmax is
folded into the cross-entropy on the logits. No biases.

As in `torch_lenet.py`: effective weight = kernel * f(score), f the straight-through mask
(`straight_through_mask`, imported from there); kernels fixed (buffers, He normal with fan_in =
kernel height * width * input channels for a convolution), scores the only parameters
(Uniform(0.01, 0.1)), trained by Adam. Data stay in memory as tensors; each epoch draws a fresh
permutation from a seeded generator and gathers each batch by index. The forward pass + loss +
correct count is compiled with torch.compile.

Memory format: the images come channels-last (N, H, W, C), as on the Keras side, and are stored
once as a logical NCHW tensor in either layout. Both were measured on this machine's CPU (2 cores,
Intel Xeon with AVX-512, torch 2.13.0+cpu, torch.get_num_threads() = 2), random data, batch 25,
the four variants interleaved epoch by epoch (10 steps each), milliseconds per training step
(forward, backward, Adam), best of 8 epochs (Conv2), 5 (Conv6), 10 (LeNet5), quiet machine:

                    Conv2 eager / compiled   Conv6 eager / compiled   LeNet5 eager / compiled
    channels_last   54.1 / 54.0              88.7 / 103.2             2.5 / 3.8
    NCHW            57.7 / 55.1              104.1 / 106.1            2.6 / 3.7

channels_last is as fast or faster (within noise for LeNet5), so it is the default
(`channels_last=False` in TorchConvPeer picks NCHW). torch.compile does not beat eager here: the
convolutions (oneDNN either way) dominate the step. With another process keeping one of the two
cores busy, a step gets up to ~10x slower (OpenMP's 2 threads then fight for one core), so time
these on a quiet machine.
"""

import math
import os
import sys
import time

import torch
import torch.nn.functional as F

BENCH = os.path.dirname(os.path.abspath(__file__))
for _path in (BENCH, os.path.dirname(BENCH)):  # bench/ (torch_lenet) and the repository root (networks)
    if _path not in sys.path:
        sys.path.insert(0, _path)

from networks.architectures import ARCHITECTURES  # noqa: E402 - imports no Keras (networks/__init__.py)
from torch_lenet import MaskedLinear, TorchPeer, loss_and_correct, set_precision, straight_through_mask  # noqa: E402

CHANNELS_LAST_DEFAULT = True


class MaskedConv2d(torch.nn.Module):
    def __init__(self, in_channels, filters, kernel_size, padding, generator, channels_last):
        super().__init__()
        fan_in = in_channels * kernel_size * kernel_size
        shape = (filters, in_channels, kernel_size, kernel_size)
        kernel = torch.randn(shape, generator=generator) * math.sqrt(2.0 / fan_in)
        score = torch.empty(shape).uniform_(0.01, 0.1, generator=generator)
        if channels_last:
            kernel = kernel.contiguous(memory_format=torch.channels_last)
            score = score.contiguous(memory_format=torch.channels_last)
        self.register_buffer("kernel", kernel)
        self.score = torch.nn.Parameter(score)
        self.padding = padding  # "same" or "valid", as F.conv2d takes them (stride 1)

    def forward(self, inputs):
        return F.conv2d(inputs, self.kernel * straight_through_mask(self.score), padding=self.padding)


class MaskedConvNet(torch.nn.Module):
    """The network of ARCHITECTURES[nettype] + a dense output of `num_classes`; returns logits."""

    def __init__(self, nettype, input_shape, num_classes=10, seed=1, channels_last=CHANNELS_LAST_DEFAULT):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.channels_last = channels_last
        height, width, channels = input_shape  # channels-last, as the Keras side
        blocks = ARCHITECTURES[nettype] + [("dense", num_classes)]
        self.blocks = []  # (kind, index into self.layers or None), in order
        layers = []
        features = None  # set once flattened
        for block in blocks:
            kind = block[0]
            if kind == "pool":
                height, width = height // 2, width // 2
                self.blocks.append(("pool", None))
                continue
            if kind == "conv":
                kernel_size, padding = block[2:] if len(block) > 2 else (3, "same")
                layers.append(MaskedConv2d(channels, block[1], kernel_size, padding, generator, channels_last))
                if padding == "valid":
                    height, width = height - kernel_size + 1, width - kernel_size + 1
                channels = block[1]
            else:
                if features is None:
                    features = height * width * channels
                    self.blocks.append(("flatten", None))
                layers.append(MaskedLinear(features, block[1], generator))
                features = block[1]
            self.blocks.append((kind, len(layers) - 1))
        self.layers = torch.nn.ModuleList(layers)

    def forward(self, images):
        outputs = images
        last = len(self.layers) - 1
        for kind, index in self.blocks:
            if kind == "pool":
                outputs = F.max_pool2d(outputs, 2)
            elif kind == "flatten":
                # Keras flattens in (H, W, C) order; here the order follows the memory layout (HWC for
                # channels_last, CHW for NCHW) so that flattening is a view, never a copy. The dense
                # kernels are random, so the order changes nothing for the benchmark.
                if self.channels_last:
                    outputs = outputs.permute(0, 2, 3, 1)
                outputs = outputs.flatten(1)
            else:
                outputs = self.layers[index](outputs)
                if index < last:
                    outputs = torch.relu(outputs)
        return outputs  # logits; softmax is folded into the cross-entropy


def image_tensor(x_train, channels_last, device):
    """(N, H, W, C) numpy images as a logical NCHW tensor on the device, channels_last in memory if asked."""
    # (N, H, W, C) -> logical NCHW; the permuted view already has channels_last strides.
    images = torch.from_numpy(x_train).permute(0, 3, 1, 2)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    return images.contiguous(memory_format=memory_format).to(device, memory_format=memory_format)


class TorchConvPeer(TorchPeer):
    """One masked conv network, its optimizer and the training data; `train_epoch()` (TorchPeer's) trains one epoch."""

    name = "PyTorch masked, torch.compile"
    network_class = None  # MaskedConvNet, set below its definition; the ResNet peer sets its own

    def __init__(self, nettype, x_train, y_train, batch_size=25, lr=1e-3, seed=1, compile=True,
                 channels_last=CHANNELS_LAST_DEFAULT, device="cpu", precision=None):
        if precision is not None:  # None leaves PyTorch's own settings (see torch_lenet.set_precision)
            set_precision(precision)
        torch.manual_seed(seed)
        self.device = torch.device(device)
        if x_train.ndim == 3:  # (N, H, W) grey images
            x_train = x_train[..., None]
        self.x_train = image_tensor(x_train, channels_last, self.device)
        self.y_train = torch.from_numpy(y_train).long().to(self.device)
        self.batch_size, self.channels_last = batch_size, channels_last
        network_class = self.network_class or MaskedConvNet
        self.model = network_class(nettype, x_train.shape[1:], seed=seed, channels_last=channels_last).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.optimizer_step = self.optimizer.step
        self.shuffle_generator = torch.Generator().manual_seed(seed)
        self.forward = torch.compile(loss_and_correct) if compile else loss_and_correct


if __name__ == "__main__":  # python bench/torch_conv.py [--nettype Conv2] [--examples 1000]
    import argparse

    import numpy as np

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nettype", default="Conv2", choices=sorted(ARCHITECTURES))
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per variant (the first one compiles)")
    args = parser.parse_args()

    shape = (28, 28, 1) if args.nettype in ("LeNet", "LeNet5") else (32, 32, 3)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.examples, *shape), dtype=np.float32)
    y = rng.integers(0, 10, args.examples).astype("int32")
    print(f"{args.nettype}, {args.examples:,} random examples {shape}, batch 25; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for name, options in [("eager, channels_last", dict(compile=False, channels_last=True)),
                          ("eager, NCHW", dict(compile=False, channels_last=False)),
                          ("compiled, channels_last", dict(channels_last=True)),
                          ("compiled, NCHW", dict(channels_last=False))]:
        peer = TorchConvPeer(args.nettype, x, y, **options)
        times, losses = [], []
        for _ in range(max(args.epochs, 2)):
            started = time.perf_counter()
            loss, _accuracy = peer.train_epoch()
            times.append(time.perf_counter() - started)
            losses.append(loss)
        peer.close()
        print(f"{name:24s} first {times[0]:.2f}s then {min(times[1:]):.3f}s per epoch; "
              f"loss {' '.join(f'{value:.4f}' for value in losses)}", flush=True)
