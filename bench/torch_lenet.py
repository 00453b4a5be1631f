"""The PyTorch peer: the same masked LeNet-300-100 (FreePruning), trained with Adam at batch 25.

Effective weight = kernel * f(score), f(s) = 1 if s > 0 else 0 forward, df/ds = 1 backward
(straight-through, written `s + (hard - s).detach()`). Kernels are fixed (buffers, He normal),
scores are the only parameters (Uniform(0.01, 0.1)). No biases; relu; softmax output (the loss is
cross-entropy on the logits, PyTorch's idiom for softmax + cross-entropy).

Data stay in memory as tensors; each epoch draws a fresh permutation and gathers each batch by
index. The forward pass + loss + accuracy is compiled with torch.compile; `compile_optimizer`
also compiles the Adam step (PyTorch's recipe for a compiled optimizer).
"""

import math
import time

import torch
import torch.nn.functional as F

PRECISIONS = ("float32", "tf32")


def set_precision(precision):
    """Makes this process compute float32 matrix products and convolutions in full float32 ("float32") or in TF32
    ("tf32") on NVIDIA GPUs, as the runner's --precision does on JAX; returns the three settings as now set, for the
    record. These are process-wide switches of PyTorch (a CPU computes float32 whatever they say)."""
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


class MaskedLinear(torch.nn.Module):
    def __init__(self, fan_in, units, generator):
        super().__init__()
        kernel = torch.randn(units, fan_in, generator=generator) * math.sqrt(2.0 / fan_in)
        self.register_buffer("kernel", kernel)
        self.score = torch.nn.Parameter(torch.empty(units, fan_in).uniform_(0.01, 0.1, generator=generator))

    def forward(self, inputs):
        return F.linear(inputs, self.kernel * straight_through_mask(self.score))


class MaskedLeNet(torch.nn.Module):
    def __init__(self, sizes=(784, 300, 100, 10), seed=1):
        super().__init__()
        generator = torch.Generator().manual_seed(seed)
        self.layers = torch.nn.ModuleList(
            MaskedLinear(fan_in, units, generator) for fan_in, units in zip(sizes[:-1], sizes[1:]))

    def forward(self, images):
        outputs = images.reshape(images.shape[0], -1)
        for index, layer in enumerate(self.layers):
            outputs = layer(outputs)
            if index < len(self.layers) - 1:
                outputs = torch.relu(outputs)
        return outputs  # logits; softmax is folded into the cross-entropy


def loss_and_correct(model, images, labels):
    logits = model(images)
    loss = F.cross_entropy(logits, labels)
    correct = (logits.argmax(dim=1) == labels).sum()
    return loss, correct


class TorchPeer:
    """One masked LeNet, its optimizer and the training data; `train_epoch()` trains one epoch."""

    def __init__(self, x_train, y_train, batch_size=25, lr=1e-3, seed=1, compile=True,
                 compile_optimizer=False, fused_adam=False, device="cpu", precision=None):
        if precision is not None:  # None leaves PyTorch's own settings (its default: cuDNN in TF32, matmul float32)
            set_precision(precision)
        torch.manual_seed(seed)
        self.device = torch.device(device)
        self.x_train = torch.from_numpy(x_train.reshape(len(x_train), -1)).contiguous().to(self.device)
        self.y_train = torch.from_numpy(y_train).long().to(self.device)
        self.batch_size = batch_size
        # Built on the CPU from a CPU generator, then moved: the same initial values on every device.
        self.model = MaskedLeNet(seed=seed).to(self.device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr,
                                          **({"fused": True} if fused_adam else {}))
        self.shuffle_generator = torch.Generator().manual_seed(seed)
        self.forward = torch.compile(loss_and_correct) if compile else loss_and_correct
        self.optimizer_step = self.optimizer.step
        if compile_optimizer:
            self.optimizer_step = torch.compile(self.optimizer.step)

    def train_epoch(self):
        count = len(self.x_train)
        # The permutation is drawn on the CPU (same batch order on every device) and moved once per epoch.
        order = torch.randperm(count, generator=self.shuffle_generator).to(self.device)
        self.prepare_epoch(count)
        loss_sum = torch.zeros((), device=self.device)
        correct_sum = torch.zeros((), dtype=torch.long, device=self.device)
        for start in range(0, count, self.batch_size):
            indices = order[start:start + self.batch_size]
            loss, correct = self.batch_loss(indices, start)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer_step()
            with torch.no_grad():
                loss_sum += loss.detach() * len(indices)
                correct_sum += correct
        return float(loss_sum) / count, float(correct_sum) / count

    def prepare_epoch(self, count):
        """Draws what an epoch needs besides its order (the ResNet peer: its augmentation)."""

    def batch_loss(self, indices, start):
        """(mean loss, correct count) of the batch of these example indices, which starts at `start` in the epoch."""
        return self.forward(self.model, self.x_train[indices], self.y_train[indices])

    def close(self):
        pass


if __name__ == "__main__":  # a quick look at the variants: python bench/torch_lenet.py
    import numpy as np

    rng = np.random.default_rng(0)
    x = rng.standard_normal((5000, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, 10, 5000).astype("int32")
    for name, options in [("eager", dict(compile=False)), ("compiled", dict()),
                          ("compiled + compiled Adam", dict(compile_optimizer=True)),
                          ("compiled + fused Adam", dict(fused_adam=True))]:
        peer = TorchPeer(x, y, **options)
        times = []
        for _ in range(3):
            started = time.perf_counter()
            peer.train_epoch()
            times.append(time.perf_counter() - started)
        print(f"{name:26s} first {times[0]:.2f}s then {min(times[1:]):.3f}s per 5,000 examples")
