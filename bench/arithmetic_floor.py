"""The arithmetic floor of one training epoch: the network's training FLOPs over this machine's measured
throughput of TensorFlow's own convolution and matmul kernels at the shapes of the network's masked layers, read from
the model that networks.build_network builds.

Per masked layer and image, forward FLOPs = 2 x multiply-adds (conv: out_h * out_w * out_c * k * k * in_c; dense:
in * out). Training = forward + gradient w.r.t. the weights + gradient w.r.t. the input (not needed for the first
layer): 3x forward, 2x for the first layer. Elementwise work is left out (masks, activations, pooling, softmax, Adam;
in the ResNets BatchNorm, the residual additions, the global average pooling and the augmentation).

Measured as a contender, side by side with the others (so under the same machine load), two floors per epoch:
- `flops_floor`: training FLOPs / throughput of the *forward* kernel at each layer's shape (the best-tuned kernel,
  so the stricter floor);
- `kernel_floor`: the measured time of every kernel a training step needs (forward, Conv2DBackpropInput,
  Conv2DBackpropFilter, or the three matmuls), summed: no framework overhead at all.
Each kernel is one tf.function call (~0.1 ms of overhead), so the floor is meant for networks bound by arithmetic
(Conv2/4/6, the ResNets), not LeNet.
"""

import collections
import time

import numpy as np
import tensorflow as tf

# One masked layer: kind "conv" or "dense"; input and output shapes of one image ((h, w, c) or (n,)); kernel shape;
# padding "SAME"/"VALID" (None for dense); stride (1 for dense).
Layer = collections.namedtuple("Layer", "kind input kernel padding output strides")


def layer_shapes(nettype, input_shape, classes=10):
    """[Layer] of every masked layer of the built network, input to output."""
    from masking import masked_layers
    from networks import build_network
    layers = []
    for layer in masked_layers(build_network(nettype, input_shape, classes)):
        in_shape, out_shape = tuple(layer.input.shape[1:]), tuple(layer.output.shape[1:])
        if len(layer.kernel.shape) == 4:
            layers.append(Layer("conv", in_shape, tuple(layer.kernel.shape), layer.padding.upper(), out_shape,
                                layer.strides))
        else:
            layers.append(Layer("dense", in_shape, tuple(layer.kernel.shape), None, out_shape, 1))
    return layers


def forward_flops(layer):
    if layer.kind == "conv":
        out, kernel = layer.output, layer.kernel
        return 2 * out[0] * out[1] * out[2] * kernel[0] * kernel[1] * kernel[2]
    return 2 * layer.kernel[0] * layer.kernel[1]


def _kernels(layer, batch_size):
    """The tf.functions of one training step's kernels at this layer's shapes: {name: (function, args)}."""
    generator = np.random.default_rng(0)
    inputs = tf.constant(generator.standard_normal((batch_size,) + layer.input, dtype=np.float32))
    kernel = tf.constant(generator.standard_normal(layer.kernel, dtype=np.float32))
    upstream = tf.constant(generator.standard_normal((batch_size,) + layer.output, dtype=np.float32))
    if layer.kind == "dense":
        return {"forward": (tf.function(lambda a, b: tf.matmul(a, b)), (inputs, kernel)),
                "input_gradient": (tf.function(lambda g, b: tf.matmul(g, b, transpose_b=True)), (upstream, kernel)),
                "weight_gradient": (tf.function(lambda a, g: tf.matmul(a, g, transpose_a=True)), (inputs, upstream))}
    strides, padding = [1, layer.strides, layer.strides, 1], layer.padding
    input_sizes = tf.constant((batch_size,) + layer.input, dtype=tf.int32)
    filter_sizes = tf.constant(layer.kernel, dtype=tf.int32)
    return {
        "forward": (tf.function(lambda a, b: tf.nn.conv2d(a, b, strides, padding)), (inputs, kernel)),
        "input_gradient": (tf.function(lambda g, b: tf.raw_ops.Conv2DBackpropInput(
            input_sizes=input_sizes, filter=b, out_backprop=g, strides=strides, padding=padding)), (upstream, kernel)),
        "weight_gradient": (tf.function(lambda a, g: tf.raw_ops.Conv2DBackpropFilter(
            input=a, filter_sizes=filter_sizes, out_backprop=g, strides=strides, padding=padding)), (inputs, upstream)),
    }


class ArithmeticFloor:
    """A contender whose epoch runs exactly the conv/matmul kernels of an epoch's training steps (each layer's
    three kernels, one after the other, as many times as there are steps), so that it is timed like the
    others and under the same machine load. Its wall time is `kernel_floor`; `flops_floor` comes from the
    forward kernels' throughput measured in the same epoch."""

    name = "arithmetic floor (TensorFlow's conv/matmul kernels at the layers' shapes)"

    def __init__(self, nettype, input_shape, examples, batch_size=25):
        self.steps = -(-examples // batch_size)
        self.batch_size = batch_size
        self.layers = layer_shapes(nettype, input_shape)
        self.kernels = [_kernels(layer, batch_size) for layer in self.layers]
        del self.kernels[0]["input_gradient"]  # nothing upstream of the first layer needs it
        for kernels in self.kernels:
            for function, arguments in kernels.values():
                function(*arguments)  # trace
        self.epochs = []

    def train_epoch(self):
        seconds = []
        for kernels in self.kernels:
            layer_seconds = {}
            for name, (function, arguments) in kernels.items():
                started = time.perf_counter()
                for _ in range(self.steps):
                    function(*arguments)  # on CPU the call returns once the kernel has run
                layer_seconds[name] = (time.perf_counter() - started) / self.steps
            seconds.append(layer_seconds)
        self.epochs.append(seconds)
        return float("nan"), float("nan")

    def summary(self, epochs=None):
        """Floors (s per epoch) and per-layer figures from the median over `epochs` (indices; default all but
        the first, which is the warm-up)."""
        chosen = [self.epochs[i] for i in (epochs if epochs is not None else range(1, len(self.epochs)))]
        layers, flops_floor, kernel_floor = [], 0.0, 0.0
        for index, layer in enumerate(self.layers):
            seconds = {name: float(np.median([epoch[index][name] for epoch in chosen])) for name in chosen[0][index]}
            flops = forward_flops(layer) * self.batch_size
            flops_floor += flops * len(seconds) / (flops / seconds["forward"]) * self.steps
            kernel_floor += sum(seconds.values()) * self.steps
            layers.append({"kind": layer.kind, "input": list(layer.input), "kernel": list(layer.kernel),
                           "strides": layer.strides,
                           "forward_gflop_per_step": round(flops / 1e9, 4),
                           "kernel_ms": {name: round(value * 1e3, 3) for name, value in seconds.items()},
                           "gflops_per_s": {name: round(flops / value / 1e9, 1) for name, value in seconds.items()}})
        examples = self.steps * self.batch_size
        training_flops = examples * sum(forward_flops(layer) * (2 if index == 0 else 3)
                                        for index, layer in enumerate(self.layers))
        return {"training_gflop_per_epoch": round(training_flops / 1e9, 2),
                "flops_floor_s": round(flops_floor, 3), "kernel_floor_s": round(kernel_floor, 3), "layers": layers}

    def close(self):
        pass
