"""GraSP (Wang et al. 2020), as Synaptic-Flow scores it: with g the gradient of the loss of logits / T
(T = --grasp-temperature, 200) on a batch of training examples and H its Hessian, GraSP removes the weights of
largest -w * Hg, which preserve the gradient flow least; so the mask keeps the largest w * Hg. Hg is the gradient
of (g held fixed) . g, a Hessian-gradient product without the Hessian."""

import numpy as np
from keras import ops

from pruning_at_init.criteria.scoring import Logits, cross_entropy, gradient, gradient_in_graph, masks_from_scores


def scores(context):
    logits = Logits(context.model, context.layers)
    kernels = context.kernels()
    temperature = context.settings.grasp_temperature

    def loss(values, images, labels):
        return cross_entropy(labels, logits(images, zip(kernels, values)) / temperature)

    values, data = context.kernel_values(), (context.images, context.labels)
    held = [np.asarray(g) for g in gradient(loss)(values, *data)]

    def gradient_flow(values, held, images, labels):
        return sum(ops.sum(fixed * g) for fixed, g in zip(held, gradient_in_graph(loss, values, images, labels)))

    return [np.asarray(hg) * value for hg, value in zip(gradient(gradient_flow)(values, held, *data), values)]


def masks(context):
    return masks_from_scores(context, scores(context))
