"""What the criteria share: the network's logits with replaced variable values, gradients on either Keras backend,
and masks that keep the highest scores.

The network's outputs are softmax probabilities; the criteria need the logits (GraSP divides them by its
temperature, SynFlow sums them), so `logits` runs the network up to the output layer and applies that layer's
masked kernel without its softmax. Values replace variables through Keras' StatelessScope, so one function of the
values serves both backends' automatic differentiation. BatchNorm runs in inference mode, as Synaptic-Flow scores
in `model.eval()`.
"""

import dataclasses

import keras
import numpy as np
from keras import ops

from pruning_at_init.masks import removal_count, scoped_groups, split_like


class CriterionError(ValueError):
    """The criterion cannot give a usable mask (non-finite scores, a layer left without weights); one sentence."""


@dataclasses.dataclass
class ScoringContext:
    """What a criterion scores: the network, its masked layers (input to output), a batch of training examples
    (the data-dependent criteria), the sparsity and scope of the mask, and the family's settings."""

    model: object
    layers: list
    images: np.ndarray
    labels: np.ndarray
    sparsity: float
    scope: str
    settings: object
    name: str = ""
    invert: bool = False  # --sanity-check invert: the masks keep the lowest scores (pruning_at_init/sanity.py)

    def kernels(self):
        return [layer.kernel for layer in self.layers]

    def kernel_values(self):
        return [np.asarray(layer.kernel) for layer in self.layers]


class Logits:
    """logits(images, replacements): the network's pre-softmax outputs with some variables' values replaced."""

    def __init__(self, model, layers):
        self.output_layer = layers[-1]
        self.body = keras.Model(model.inputs[0], self.output_layer.input)

    def __call__(self, images, replacements):
        with keras.StatelessScope(state_mapping=list(replacements)):
            features = self.body(images, training=False)
            layer = self.output_layer
            kernel = ops.convert_to_tensor(layer.kernel) * layer.mask_values()
            return layer.apply_kernel(features, kernel)


def gradient(function):
    """The gradient of function(values, *data) -> scalar with respect to values, its first argument (a list of
    tensors), compiled (jax.jit or tf.function) on the process' Keras backend. What the function reads besides the
    values (a batch of examples, fixed tensors) comes in as data, not from the enclosing scope: arrays taken from there
    become constants of the compiled program, which XLA evaluates while compiling (GraSP's Hessian-gradient program
    on Conv6 with 100 examples, JAX on a CPU: 4.2 s to compile with them as constants, 2.6 s as arguments)."""
    backend = keras.backend.backend()
    if backend == "jax":
        import jax
        return jax.jit(jax.grad(function))
    if backend == "tensorflow":
        import tensorflow as tf

        def tape_gradient(values, *data):
            with tf.GradientTape() as tape:
                tape.watch(values)
                result = function(values, *data)
            return tape.gradient(result, values)
        return tf.function(tape_gradient, autograph=False)  # Keras 3 code needs no AutoGraph
    raise ValueError(f"The pruning criteria run on the tensorflow and jax backends, not {backend}.")


def gradient_in_graph(function, values, *data):
    """The gradient of function(values, *data) with respect to values, inside another differentiated function
    (GraSP's Hessian-gradient product): not compiled on its own."""
    if keras.backend.backend() == "jax":
        import jax
        return jax.grad(function)(values, *data)
    import tensorflow as tf
    with tf.GradientTape() as tape:
        tape.watch(values)
        result = function(values, *data)
    return tape.gradient(result, values)


def cross_entropy(labels, logits):
    return ops.mean(keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True))


def masks_from_scores(context, scores, sparsity=None, removed=None):
    """0/1 float32 masks that remove exactly round(sparsity * n) entries per scope group (n: a layer's size, or all
    weights together in global scope), those of lowest score (of highest, context.invert); of equal scores, the later
    in the flattened kernels.
    `removed`: masks whose zeros stay removed (their scores count as -inf)."""
    sparsity = context.sparsity if sparsity is None else sparsity
    scores = [np.asarray(score, dtype=np.float64) for score in scores]
    if not all(np.all(np.isfinite(score)) for score in scores):
        raise CriterionError(f"{context.name}'s scores of this network are not all finite (float32 overflow or a "
                             "NaN in the initial network), so they cannot rank its weights: use a smaller network or "
                             "another criterion.")
    if context.invert:
        scores = [-score for score in scores]
    if removed is not None:
        scores = [np.where(np.asarray(mask) == 0, -np.inf, score) for score, mask in zip(scores, removed)]
    shapes = [score.shape for score in scores]
    groups = []
    for group in scoped_groups(scores, context.scope):
        groups.append(lowest_removed(group, removal_count(group.size, sparsity)))
    return split_like(groups, shapes, context.scope)


def lowest_removed(scores, count):
    """A 0/1 float32 mask of the flat `scores` with its `count` lowest entries 0; of equal scores the later go first.
    Only the count-th lowest score is looked up in a plain sort (numpy's vectorised one), the rest is linear: SynFlow
    makes a mask of every weight a hundred times a run. (A sort of indices by two keys took 4 times as long on VGG16's
    15M scores; np.partition is faster on distinct scores but 25 times slower where most are tied, as SynFlow's
    removed weights are.)"""
    mask = np.ones(scores.size, dtype=np.float32)
    if count <= 0:
        return mask
    threshold = np.sort(scores)[count - 1]
    below = scores < threshold
    tied = np.flatnonzero(scores == threshold)
    mask[below] = 0.0
    mask[tied[tied.size - (count - int(np.count_nonzero(below))):]] = 0.0  # the latest of the tied ones
    return mask


def check_connected(context, masks):
    """Raises CriterionError when no path of kept weights leads from the input to the output: with every variable
    replaced by its absolute value and an input of ones, each kept path adds to the logits (ReLU passes positive
    values, BatchNorm's statistics start at 0 and 1), so their sum is 0 exactly when none is left. A layer emptied
    beside a path that remains (a ResNet's shortcut projection) is allowed, as in Synaptic-Flow."""
    logits = Logits(context.model, context.layers)
    fixed = {id(layer.fixed_mask): mask for layer, mask in zip(context.layers, masks)}
    replacements = [(variable, ops.convert_to_tensor(fixed[id(variable)]) if id(variable) in fixed
                     else ops.abs(ops.convert_to_tensor(variable))) for variable in context.model.variables]
    ones = np.ones((1, *context.model.inputs[0].shape[1:]), dtype="float32")
    if float(ops.sum(logits(ones, replacements))) > 0:
        return
    empty = [layer.name for layer, mask in zip(context.layers, masks) if not np.any(mask)]
    emptied = f" (it removes every weight of {', '.join(empty)})" if empty else ""
    raise CriterionError(f"{context.name}'s {context.scope} mask at --sparsity {context.sparsity} leaves no path "
                         f"from the input to the output{emptied}: lower --sparsity, or use --pruning-scope "
                         "layerwise.")
