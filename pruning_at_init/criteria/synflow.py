"""SynFlow (Tanaka et al. 2020), without data: every variable of the network replaced by its absolute value, an
input of ones, R the sum of the logits; a weight's score is |dR/dw * w|, its share of the synaptic flow. Iterated
--synflow-iterations times (100, as the paper's experiments) with the exponential schedule: iteration k of K keeps
the fraction (1 - sparsity) ** (k / K), scoring the network under the previous iteration's mask, whose removed
weights stay removed. BatchNorm in inference mode, as Synaptic-Flow (model.eval()); float32, as its code runs."""

import numpy as np
from keras import ops

from pruning_at_init.criteria.scoring import Logits, gradient, masks_from_scores


def masks(context):
    model, layers = context.model, context.layers
    logits = Logits(model, layers)
    kernels = context.kernels()
    kernel_ids = {id(kernel) for kernel in kernels}
    masks_now = [layer.fixed_mask for layer in layers]
    others = [variable for variable in model.variables
              if id(variable) not in kernel_ids and all(variable is not mask for mask in masks_now)]
    absolute = [np.abs(np.asarray(variable)) for variable in others]
    ones = np.ones((1, *model.inputs[0].shape[1:]), dtype="float32")

    def flow(arguments, absolute, ones):
        values, masks = arguments[:len(kernels)], arguments[len(kernels):]
        replacements = [*zip(kernels, values), *zip(masks_now, masks), *zip(others, absolute)]
        return ops.sum(logits(ones, replacements))

    flow_gradient = gradient(flow)
    magnitudes = [np.abs(value) for value in context.kernel_values()]
    current = [np.ones_like(value) for value in magnitudes]
    iterations = context.settings.synflow_iterations
    for iteration in range(1, iterations + 1):
        gradients = flow_gradient([*magnitudes, *current], absolute, ones)[:len(kernels)]
        scores = [np.abs(np.asarray(g) * value * mask) for g, value, mask in zip(gradients, magnitudes, current)]
        density = (1 - context.sparsity) ** (iteration / iterations)
        current = masks_from_scores(context, scores, sparsity=1 - density, removed=current)
    return current
