"""The arithmetic floor of one training epoch: the network's training FLOPs over this machine's measured
throughput of TensorFlow's own convolution and matmul kernels at the network's layer shapes.

Per masked layer and image, forward FLOPs = 2 x multiply-adds (conv: out_h * out_w * out_c * k * k * in_c;
dense: in * out). Training = forward + gradient w.r.t. the weights + gradient w.r.t. the input (not needed
for the first layer): 3x forward, 2x for the first layer. The mask multiply, activations, pooling,
softmax and Adam are elementwise and left out of the FLOPs (they are part of what the floor omits); so are,
in the ResNets, BatchNorm, the residual additions, the global average pooling and the training
augmentation. A ResNet's masked layers (3x3 convolutions, some of stride 2, the 1x1 stride-2 projection
shortcuts, the dense output) are read from the Keras model that `networks.build_network` builds.

Two floors per network, per epoch of `examples` images at `batch_size`, measured as a contender timed
side by side with the others (so under the same machine load; another process on a 2-core machine halves
every figure). Each kernel is one call of a tf.function (~0.1 ms of overhead), so for small networks
(LeNet, LeNet5) the "floor" is mostly call overhead and can exceed the runner's time; it is meant for
networks bound by arithmetic (Conv2/4/6, a few ms per kernel):
- `flops_floor`: training FLOPs / throughput of the *forward* kernel at the layer's shape, summed over
  layers (the forward conv is the best-tuned kernel, so this is the stricter floor);
- `kernel_floor`: the measured time of every kernel a training step needs at the layer's shapes (forward,
  Conv2DBackpropInput, Conv2DBackpropFilter, or the three matmuls), summed: what TensorFlow's own kernels
  cannot go below, with no framework overhead at all.
"""

import collections
import time

import numpy as np
import tensorflow as tf

from networks.architectures import ARCHITECTURES

# One masked layer: kind "conv" or "dense"; input and output shapes of one image ((h, w, c) or (n,)); kernel shape;
# padding "SAME"/"VALID" (None for dense); stride (1 for dense).
Layer = collections.namedtuple("Layer", "kind input kernel padding output strides")


def layer_shapes(nettype, input_shape, classes=10):
    """[Layer] of every masked layer, input to output; the first one reads the images."""
    from networks import RESNET_DEPTHS
    if nettype in RESNET_DEPTHS:
        return resnet_layer_shapes(nettype, input_shape, classes)
    shape, layers = tuple(input_shape), []
    blocks = ARCHITECTURES[nettype] + [("dense", classes)]
    for block in blocks:
        if block[0] == "pool":
            shape = (shape[0] // 2, shape[1] // 2, shape[2])
        elif block[0] == "conv":
            size, padding = block[2:] if len(block) > 2 else (3, "same")
            out = shape[:2] if padding == "same" else (shape[0] - size + 1, shape[1] - size + 1)
            layers.append(Layer("conv", shape, (size, size, shape[2], block[1]), padding.upper(), out + (block[1],), 1))
            shape = out + (block[1],)
        else:
            fan_in = int(np.prod(shape))
            layers.append(Layer("dense", (fan_in,), (fan_in, block[1]), None, (block[1],), 1))
            shape = (block[1],)
    return layers


def resnet_layer_shapes(nettype, input_shape, classes=10):
    """The masked layers of the Keras ResNet as networks.build_network builds it, read from the built model (so
    the floor follows the architecture, 3x3 and 1x1 stride-2 convolutions included). BatchNorm, the residual
    additions, the activations and the global average pooling are elementwise and not part of the floor."""
    from masking import MaskedConv2D, masked_layers
    from networks import build_network
    model = build_network(nettype, input_shape, classes)
    layers = []
    for layer in masked_layers(model):
        in_shape, out_shape = tuple(layer.input.shape[1:]), tuple(layer.output.shape[1:])
        if isinstance(layer, MaskedConv2D):
            layers.append(Layer("conv", in_shape, tuple(layer.kernel.shape), layer.padding.upper(), out_shape,
                                layer.strides))
        else:
            layers.append(Layer("dense", in_shape, tuple(layer.kernel.shape), None, out_shape, 1))
        if len(layers) == 1 and layer.input is not model.inputs[0]:
            raise ValueError(f"{nettype}'s first masked layer, {layer.name}, does not read the images.")
    return layers


def forward_flops(layer):
    if layer.kind == "conv":
        out, kernel = layer.output, layer.kernel
        return 2 * out[0] * out[1] * out[2] * kernel[0] * kernel[1] * kernel[2]
    return 2 * layer.kernel[0] * layer.kernel[1]


def training_flops_per_image(nettype, input_shape):
    layers = layer_shapes(nettype, input_shape)
    return sum(forward_flops(layer) * (2 if index == 0 else 3) for index, layer in enumerate(layers))


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
        self.nettype, self.input_shape = nettype, tuple(input_shape)
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
        training_flops = training_flops_per_image(self.nettype, self.input_shape) * examples
        return {"training_gflop_per_epoch": round(training_flops / 1e9, 2),
                "flops_floor_s": round(flops_floor, 3), "kernel_floor_s": round(kernel_floor, 3), "layers": layers}

    def close(self):
        pass
