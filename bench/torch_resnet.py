"""The PyTorch peer of the masked ResNets (ResNet20 and its 6n+2 family; FreePruning), with the runner's
training augmentation.

The structure of networks/resnet.py (standard variant): a stem (masked 3x3 convolution, 16 filters,
BatchNorm, relu), three stages of n blocks with 16, 32 and 64 filters, a block being masked conv 3x3 -
BatchNorm - relu - masked conv 3x3 - BatchNorm, plus the shortcut, then relu; the first block of stages
2 and 3 has stride 2 and a masked 1x1 stride-2 projection shortcut (no BatchNorm). Global average
pooling, then a masked dense output of 10 classes (softmax folded into the cross-entropy). No biases.
BatchNorm2d with Keras' defaults (eps 1e-3, moving averages with momentum 0.99, i.e. torch's 0.01);
its scale and offset train, as in the runner.

Masks as in torch_conv.py / torch_lenet.py: effective weight = kernel * f(score), straight-through;
kernels fixed, scores (and BatchNorm's scale and offset) trained by Adam. One difference of no
consequence for speed: a 3x3 stride-2 'same' convolution pads one pixel on every side here, where
TensorFlow pads one pixel only at the bottom and right; the output shape and the arithmetic are the same.

Augmentation inside the compiled step, as the runner's (training/augmentation.py): each image shifted
by a real number of pixels within 10% of its height and width (bilinear, nearest fill) and flipped
left-right with probability 1/2, applied as two interpolation matrices per image; the draws are made
per epoch on the host from a seeded generator.
"""

import time

import torch
import torch.nn.functional as F

from torch_conv import CHANNELS_LAST_DEFAULT, MaskedConv2d, TorchConvPeer
from torch_lenet import MaskedLinear, loss_and_correct, straight_through_mask

SHIFT_FRACTION = 0.1


def _resnet_structure(nettype):
    from networks.architectures import RESNET_DEPTHS, STAGE_FILTERS, blocks_per_stage
    return STAGE_FILTERS, blocks_per_stage(RESNET_DEPTHS[nettype])


class MaskedStridedConv2d(MaskedConv2d):
    def __init__(self, in_channels, filters, kernel_size, stride, generator, channels_last):
        super().__init__(in_channels, filters, kernel_size, kernel_size // 2, generator, channels_last)
        self.stride = stride

    def forward(self, inputs):
        return F.conv2d(inputs, self.kernel * straight_through_mask(self.score), stride=self.stride,
                        padding=self.padding)


def batchnorm(channels):
    return torch.nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


class ResidualBlock(torch.nn.Module):
    def __init__(self, in_channels, filters, stride, generator, channels_last):
        super().__init__()
        self.conv1 = MaskedStridedConv2d(in_channels, filters, 3, stride, generator, channels_last)
        self.bn1 = batchnorm(filters)
        self.conv2 = MaskedStridedConv2d(filters, filters, 3, 1, generator, channels_last)
        self.bn2 = batchnorm(filters)
        self.shortcut = MaskedStridedConv2d(in_channels, filters, 1, stride, generator, channels_last) \
            if stride != 1 else None

    def forward(self, inputs):
        outputs = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(inputs)))))
        shortcut = inputs if self.shortcut is None else self.shortcut(inputs)
        return torch.relu(shortcut + outputs)


class MaskedResNet(torch.nn.Module):
    def __init__(self, nettype, input_shape, num_classes=10, seed=1, channels_last=CHANNELS_LAST_DEFAULT):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        stage_filters, per_stage = _resnet_structure(nettype)
        self.stem = MaskedStridedConv2d(input_shape[-1], stage_filters[0], 3, 1, generator, channels_last)
        self.stem_bn = batchnorm(stage_filters[0])
        blocks, channels = [], stage_filters[0]
        for stage, filters in enumerate(stage_filters):
            for block in range(per_stage):
                stride = 2 if stage > 0 and block == 0 else 1
                blocks.append(ResidualBlock(channels, filters, stride, generator, channels_last))
                channels = filters
        self.blocks = torch.nn.Sequential(*blocks)
        self.output = MaskedLinear(channels, num_classes, generator)

    def forward(self, images):
        outputs = self.blocks(torch.relu(self.stem_bn(self.stem(images))))
        return self.output(outputs.mean(dim=(2, 3)))  # logits


def interpolation_matrices(source, size):
    """(batch, size, size): bilinear weights with which output pixel i reads input pixels at the real positions
    `source` (batch, size), clamped to the image (nearest fill)."""
    position = source.clamp(0.0, size - 1.0)
    pixels = torch.arange(size, dtype=source.dtype, device=source.device)
    return torch.relu(1.0 - (position[:, :, None] - pixels[None, None, :]).abs())


def augment(images, shifts, channels_last):
    """Images (batch, channels, height, width) shifted and flipped as shifts (batch, 3) say: row shift, column
    shift (pixels), flip (0 or 1)."""
    height, width = images.shape[2], images.shape[3]
    rows = torch.arange(height, dtype=images.dtype, device=images.device)[None, :] - shifts[:, 0:1]
    columns = torch.arange(width, dtype=images.dtype, device=images.device)[None, :]
    flips = shifts[:, 2:3]
    columns = flips * (width - 1.0 - columns) + (1.0 - flips) * columns - shifts[:, 1:2]
    shifted = torch.einsum("bij,bcjk->bcik", interpolation_matrices(rows, height), images)
    augmented = torch.einsum("blk,bcik->bcil", interpolation_matrices(columns, width), shifted)
    return augmented.contiguous(memory_format=torch.channels_last) if channels_last else augmented


def augmented_loss_and_correct(model, images, labels, shifts, channels_last):
    return loss_and_correct(model, augment(images, shifts, channels_last), labels)


class TorchResNetPeer(TorchConvPeer):
    """One masked ResNet, its optimizer and the training data; `train_epoch()` trains one augmented epoch."""

    name = "PyTorch masked ResNet (BatchNorm, shift-flip augmentation), torch.compile"
    network_class = MaskedResNet

    def __init__(self, nettype, x_train, y_train, batch_size=25, lr=1e-3, seed=1, compile=True,
                 channels_last=CHANNELS_LAST_DEFAULT, device="cpu", precision=None):
        super().__init__(nettype, x_train, y_train, batch_size, lr, seed, compile, channels_last, device, precision)
        self.model.train()
        self.augmentation_generator = torch.Generator().manual_seed(seed + 1)
        self.forward = torch.compile(augmented_loss_and_correct) if compile else augmented_loss_and_correct

    def epoch_shifts(self, count):
        height, width = self.x_train.shape[2], self.x_train.shape[3]
        uniform = torch.rand(count, 3, generator=self.augmentation_generator)
        shifts = torch.stack([(2 * uniform[:, 0] - 1) * SHIFT_FRACTION * height,
                              (2 * uniform[:, 1] - 1) * SHIFT_FRACTION * width,
                              (uniform[:, 2] < 0.5).float()], dim=1)
        return shifts.to(self.device)

    def prepare_epoch(self, count):
        self.shifts = self.epoch_shifts(count)

    def batch_loss(self, indices, start):
        return self.forward(self.model, self.x_train[indices], self.y_train[indices],
                            self.shifts[start:start + self.batch_size], self.channels_last)


if __name__ == "__main__":  # python bench/torch_resnet.py [--nettype ResNet20] [--examples 500]
    import argparse
    import os
    import sys

    import numpy as np

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nettype", default="ResNet20")
    parser.add_argument("--examples", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per variant (the first one compiles)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.examples, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, args.examples).astype("int32")
    print(f"{args.nettype}, {args.examples:,} random CIFAR-shaped examples, batch 25; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    for name, options in [("eager, channels_last", dict(compile=False, channels_last=True)),
                          ("compiled, channels_last", dict(channels_last=True)),
                          ("compiled, NCHW", dict(channels_last=False))]:
        peer = TorchResNetPeer(args.nettype, x, y, **options)
        times = []
        for _ in range(max(args.epochs, 2)):
            started = time.perf_counter()
            loss, _accuracy = peer.train_epoch()
            times.append(time.perf_counter() - started)
        print(f"{name:24s} first {times[0]:.2f}s then {min(times[1:]):.3f}s per epoch; loss {loss:.4f}", flush=True)
