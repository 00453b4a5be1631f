"""The PyTorch peers: the masked networks in PyTorch (FreePruning), trained as the runner trains them.

Effective weight = kernel * f(score), f(s) = 1 if s > 0 else 0 forward, df/ds = 1 backward (straight-through,
`s + (hard - s).detach()`). Kernels are fixed buffers (He normal), the scores (Uniform(0.01, 0.1)) and BatchNorm's
scale and offset the only parameters, trained by Adam lr 1e-3 at batch 25. No biases; relu; the softmax output is
folded into the cross-entropy on the logits. The training set stays on the device, images channels-last in memory
(bench/README.md has the measurement that chose it); each epoch draws a fresh permutation from a seeded generator,
and the forward pass, loss and correct count are compiled with torch.compile.

The structures are the product's Keras-free ones (networks.architectures), so that the peers run where neither
Keras nor TensorFlow is installed (the GPU machine). The ResNets' BatchNorm2d has Keras' defaults (eps 1e-3,
momentum 0.99, torch's 0.01); a 3x3 stride-2 'same' convolution pads a pixel on every side here, where TensorFlow
pads only the bottom and right: the same shapes and arithmetic. Their images are augmented inside the compiled step
as the runner's (training/augmentation.py): shifted by up to 10% of height and width (bilinear, nearest fill) and
flipped left-right with probability 1/2, through two interpolation matrices per image drawn per epoch on the host.

    python bench/torch_peers.py [--nettype LeNet] [--examples 1000]    # the peer's variants, on random data
"""

import math
import time

import torch
import torch.nn.functional as F

PRECISIONS = ("float32", "tf32")
SHIFT_FRACTION = 0.1


def network_structure(nettype):
    """("resnet", stage filters, blocks per stage) or ("sequential", [("conv", filters, kernel size, padding),
    ("pool",), ("dense", units), ...]), from the network's registry entry (networks/registry.py, Keras-free). The
    peers cover the networks without BatchNorm in their convolutions and the He et al. CIFAR ResNets."""
    from networks import network_entry
    from networks.architectures import Conv, MaxPool, Residual
    architecture = network_entry(nettype).architecture
    if isinstance(architecture, Residual):
        return "resnet", architecture.stage_filters, architecture.blocks_per_stage[0]
    return "sequential", [("conv", block.filters, block.kernel_size, block.padding) if isinstance(block, Conv)
                          else ("pool",) if isinstance(block, MaxPool) else ("dense", block.units)
                          for block in architecture.blocks]


def set_precision(precision):
    """Float32 matrix products and convolutions in full float32 ("float32") or TF32 ("tf32") on NVIDIA GPUs, as the
    runner's --precision on JAX; process-wide switches of PyTorch. Returns them as now set, for the record."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision} is not one of {', '.join(PRECISIONS)}")
    tf32 = precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.set_float32_matmul_precision("high" if tf32 else "highest")
    return precision_settings()


def precision_settings():
    return {"matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
            "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
            "float32_matmul_precision": torch.get_float32_matmul_precision()}


def straight_through_mask(score):
    hard = (score > 0).to(score.dtype)
    return score + (hard - score).detach()


class MaskedDense(torch.nn.Module):
    def __init__(self, fan_in, units, generator):
        super().__init__()
        self.register_buffer("kernel", torch.randn(units, fan_in, generator=generator) * math.sqrt(2.0 / fan_in))
        self.score = torch.nn.Parameter(torch.empty(units, fan_in).uniform_(0.01, 0.1, generator=generator))

    def forward(self, inputs):
        return F.linear(inputs, self.kernel * straight_through_mask(self.score))


class MaskedConv2d(torch.nn.Module):
    def __init__(self, in_channels, filters, kernel_size, generator, channels_last, padding="same", stride=1):
        super().__init__()
        shape = (filters, in_channels, kernel_size, kernel_size)
        kernel = torch.randn(shape, generator=generator) * math.sqrt(2.0 / (in_channels * kernel_size ** 2))
        score = torch.empty(shape).uniform_(0.01, 0.1, generator=generator)
        memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.register_buffer("kernel", kernel.contiguous(memory_format=memory_format))
        self.score = torch.nn.Parameter(score.contiguous(memory_format=memory_format))
        self.padding, self.stride = kernel_size // 2 if padding == "same" else 0, stride

    def forward(self, inputs):
        return F.conv2d(inputs, self.kernel * straight_through_mask(self.score), stride=self.stride,
                        padding=self.padding)


class MaskedSequential(torch.nn.Module):
    """The blocks, then a dense output of `num_classes`; returns logits."""

    def __init__(self, blocks, input_shape, num_classes, generator, channels_last):
        super().__init__()
        height, width, channels = input_shape
        self.channels_last, self.steps, layers, features = channels_last, [], [], None
        for block in list(blocks) + [("dense", num_classes)]:
            if block[0] == "pool":
                height, width = height // 2, width // 2
                self.steps.append("pool")
                continue
            if block[0] == "conv":
                kernel_size, padding = block[2:] if len(block) > 2 else (3, "same")
                layers.append(MaskedConv2d(channels, block[1], kernel_size, generator, channels_last, padding))
                if padding == "valid":
                    height, width = height - kernel_size + 1, width - kernel_size + 1
                channels = block[1]
            else:
                if features is None:
                    features = height * width * channels
                    self.steps.append("flatten")
                layers.append(MaskedDense(features, block[1], generator))
                features = block[1]
            self.steps.append(len(layers) - 1)
        self.layers = torch.nn.ModuleList(layers)

    def forward(self, images):
        outputs = images
        for step in self.steps:
            if step == "pool":
                outputs = F.max_pool2d(outputs, 2)
            elif step == "flatten":
                # In the memory layout's order (HWC channels-last, as Keras; CHW otherwise), so that it is a view.
                outputs = (outputs.permute(0, 2, 3, 1) if self.channels_last else outputs).flatten(1)
            else:
                outputs = self.layers[step](outputs)
                if step < len(self.layers) - 1:
                    outputs = torch.relu(outputs)
        return outputs


def batchnorm(channels):
    return torch.nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)


class ResidualBlock(torch.nn.Module):
    def __init__(self, in_channels, filters, stride, generator, channels_last):
        super().__init__()
        self.conv1 = MaskedConv2d(in_channels, filters, 3, generator, channels_last, stride=stride)
        self.bn1 = batchnorm(filters)
        self.conv2 = MaskedConv2d(filters, filters, 3, generator, channels_last)
        self.bn2 = batchnorm(filters)
        self.shortcut = MaskedConv2d(in_channels, filters, 1, generator, channels_last, stride=stride) \
            if stride != 1 else None

    def forward(self, inputs):
        outputs = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(inputs)))))
        return torch.relu((inputs if self.shortcut is None else self.shortcut(inputs)) + outputs)


class MaskedResNet(torch.nn.Module):
    def __init__(self, stage_filters, per_stage, input_shape, num_classes, generator, channels_last):
        super().__init__()
        self.stem = MaskedConv2d(input_shape[-1], stage_filters[0], 3, generator, channels_last)
        self.stem_bn = batchnorm(stage_filters[0])
        blocks, channels = [], stage_filters[0]
        for stage, filters in enumerate(stage_filters):
            for block in range(per_stage):
                blocks.append(ResidualBlock(channels, filters, 2 if stage > 0 and block == 0 else 1, generator,
                                            channels_last))
                channels = filters
        self.blocks = torch.nn.Sequential(*blocks)
        self.output = MaskedDense(channels, num_classes, generator)

    def forward(self, images):
        outputs = self.blocks(torch.relu(self.stem_bn(self.stem(images))))
        return self.output(outputs.mean(dim=(2, 3)))


def interpolation_matrices(source, size):
    """(batch, size, size): bilinear weights with which output pixel i reads input pixels at the real positions
    `source` (batch, size), clamped to the image (nearest fill)."""
    position = source.clamp(0.0, size - 1.0)
    pixels = torch.arange(size, dtype=source.dtype, device=source.device)
    return torch.relu(1.0 - (position[:, :, None] - pixels[None, None, :]).abs())


def augment(images, shifts, channels_last):
    """Images (batch, channels, height, width) shifted and flipped as `shifts` (batch, 3) say: row shift, column
    shift (pixels), flip (0 or 1)."""
    height, width = images.shape[2], images.shape[3]
    rows = torch.arange(height, dtype=images.dtype, device=images.device)[None, :] - shifts[:, 0:1]
    columns = torch.arange(width, dtype=images.dtype, device=images.device)[None, :]
    flips = shifts[:, 2:3]
    columns = flips * (width - 1.0 - columns) + (1.0 - flips) * columns - shifts[:, 1:2]
    shifted = torch.einsum("bij,bcjk->bcik", interpolation_matrices(rows, height), images)
    augmented = torch.einsum("blk,bcik->bcil", interpolation_matrices(columns, width), shifted)
    return augmented.contiguous(memory_format=torch.channels_last) if channels_last else augmented


def loss_and_correct(model, images, labels):
    logits = model(images)
    return F.cross_entropy(logits, labels), (logits.argmax(dim=1) == labels).sum()


def augmented_loss_and_correct(model, images, labels, shifts, channels_last):
    return loss_and_correct(model, augment(images, shifts, channels_last), labels)


class TorchPeer:
    """One masked network, its optimizer and its training set; `train_epoch()` trains one epoch."""

    name = "PyTorch masked, torch.compile"

    def __init__(self, nettype, x_train, y_train, batch_size=25, lr=1e-3, seed=1, compile=True, channels_last=True,
                 device="cpu", precision=None, compile_optimizer=False, fused_adam=False):
        if precision is not None:  # None leaves PyTorch's own settings (cuDNN in TF32, matmul float32)
            set_precision(precision)
        torch.manual_seed(seed)
        self.device, self.batch_size, self.channels_last = torch.device(device), batch_size, channels_last
        if x_train.ndim == 3:  # (N, H, W) grey images
            x_train = x_train[..., None]
        memory_format = torch.channels_last if channels_last else torch.contiguous_format
        # (N, H, W, C) as a logical NCHW tensor, whose permuted view already has channels-last strides.
        self.x_train = torch.from_numpy(x_train).permute(0, 3, 1, 2).contiguous(memory_format=memory_format).to(
            self.device, memory_format=memory_format)
        self.y_train = torch.from_numpy(y_train).long().to(self.device)
        # Built on the CPU from a CPU generator, then moved: the same initial values on every device.
        generator = torch.Generator().manual_seed(seed)
        structure = network_structure(nettype)
        self.augmented = structure[0] == "resnet"
        if self.augmented:
            model = MaskedResNet(*structure[1:], x_train.shape[1:], 10, generator, channels_last)
        else:
            model = MaskedSequential(structure[1], x_train.shape[1:], 10, generator, channels_last)
        self.model = model.to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr, **({"fused": True} if fused_adam else {}))
        self.optimizer_step = torch.compile(self.optimizer.step) if compile_optimizer else self.optimizer.step
        self.shuffle_generator = torch.Generator().manual_seed(seed)
        self.augmentation_generator = torch.Generator().manual_seed(seed + 1)
        loss = augmented_loss_and_correct if self.augmented else loss_and_correct
        self.forward = torch.compile(loss) if compile else loss

    def epoch_shifts(self, count):
        """Each image's row and column shift and flip, drawn on the host (the same on every device)."""
        uniform = torch.rand(count, 3, generator=self.augmentation_generator)
        return torch.stack([(2 * uniform[:, 0] - 1) * SHIFT_FRACTION * self.x_train.shape[2],
                            (2 * uniform[:, 1] - 1) * SHIFT_FRACTION * self.x_train.shape[3],
                            (uniform[:, 2] < 0.5).float()], dim=1).to(self.device)

    def train_epoch(self):
        count = len(self.x_train)
        # The order is drawn on the CPU (the same batches on every device) and moved once per epoch.
        order = torch.randperm(count, generator=self.shuffle_generator).to(self.device)
        shifts = self.epoch_shifts(count) if self.augmented else None
        loss_sum = torch.zeros((), device=self.device)
        correct_sum = torch.zeros((), dtype=torch.long, device=self.device)
        for start in range(0, count, self.batch_size):
            indices = order[start:start + self.batch_size]
            batch = (self.model, self.x_train[indices], self.y_train[indices])
            if self.augmented:
                batch += (shifts[start:start + self.batch_size], self.channels_last)
            loss, correct = self.forward(*batch)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer_step()
            with torch.no_grad():
                loss_sum += loss.detach() * len(indices)
                correct_sum += correct
        return float(loss_sum) / count, float(correct_sum) / count

    def close(self):
        pass


VARIANTS = {"eager": dict(compile=False), "eager, NCHW": dict(compile=False, channels_last=False),
            "compiled": dict(), "compiled, NCHW": dict(channels_last=False),
            "compiled + compiled Adam": dict(compile_optimizer=True), "compiled + fused Adam": dict(fused_adam=True)}

if __name__ == "__main__":
    import argparse
    import os
    import sys

    import numpy as np

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the product (networks)
    parser = argparse.ArgumentParser(description="The PyTorch peer's variants on random data, one after another.")
    parser.add_argument("--nettype", default="LeNet")
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per variant (the first one compiles)")
    args = parser.parse_args()
    shape = (28, 28, 1) if args.nettype in ("LeNet", "LeNet5") else (32, 32, 3)
    generator = np.random.default_rng(0)
    x = generator.standard_normal((args.examples, *shape), dtype=np.float32)
    y = generator.integers(0, 10, args.examples).astype("int32")
    print(f"{args.nettype}, {args.examples:,} random examples {shape}, batch 25; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads")
    for name, options in VARIANTS.items():
        peer = TorchPeer(args.nettype, x, y, **options)
        seconds = []
        for _ in range(max(args.epochs, 2)):
            started = time.perf_counter()
            loss, _ = peer.train_epoch()
            seconds.append(time.perf_counter() - started)
        print(f"{name:26s} first {seconds[0]:.2f}s then {min(seconds[1:]):.3f}s per epoch; loss {loss:.4f}",
              flush=True)
