"""SNIP (Lee et al. 2019), as Synaptic-Flow scores it: |dL/dw * w|, the loss's sensitivity to each connection, on
a batch of training examples (the mean cross-entropy of the initial network); the mask keeps the largest.
Synaptic-Flow then divides the scores by their sum, which changes no mask."""

import numpy as np

from pruning_at_init.criteria.scoring import Logits, cross_entropy, gradient, masks_from_scores


def scores(context):
    logits = Logits(context.model, context.layers)
    kernels = context.kernels()

    def loss(values, images, labels):
        return cross_entropy(labels, logits(images, zip(kernels, values)))

    values = context.kernel_values()
    gradients = gradient(loss)(values, context.images, context.labels)
    return [np.abs(np.asarray(g) * value) for g, value in zip(gradients, values)]


def masks(context):
    return masks_from_scores(context, scores(context))
