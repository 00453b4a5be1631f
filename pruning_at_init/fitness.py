"""Fitness of K-starts candidates and the choice of the fittest (numpy).

  magnitude  sum of |w| over the kept weights after the selection epochs
  gradient   sum over the kept weights (the candidate's final mask) of |dL/dw| accumulated over
             every training step of the selection epochs
  both       magnitude x gradient, each normalised by its maximum over the candidates

The fittest candidate has the highest fitness; ties go to the lowest candidate index. For `both`
the normalisation divides every candidate by the same constants, so the winner is the candidate
with the highest raw product, which is what `selection_scores` returns (the normalised values are
what the logs show, `logged_fitness`).
"""

import numpy as np

FITNESS = ("magnitude", "gradient", "both")


def magnitude_fitness(kernels, masks):
    return float(sum(np.sum(np.abs(np.asarray(k, np.float64)) * (np.asarray(m) != 0))
                     for k, m in zip(kernels, masks, strict=True)))


def gradient_fitness(gradient_sums, masks):
    return float(sum(np.sum(np.abs(np.asarray(g, np.float64)) * (np.asarray(m) != 0))
                     for g, m in zip(gradient_sums, masks, strict=True)))


def selection_scores(fitness, magnitudes, gradients):
    """Raw scores to rank candidates by (higher is fitter)."""
    if fitness not in FITNESS:
        raise ValueError(f"Unknown fitness '{fitness}'; choose one of {', '.join(FITNESS)}.")
    if fitness == "magnitude":
        return [float(m) for m in magnitudes]
    if fitness == "gradient":
        return [float(g) for g in gradients]
    return [float(m) * float(g) for m, g in zip(magnitudes, gradients, strict=True)]


def _normalised(values):
    values = np.asarray(values, dtype=np.float64)
    top = np.max(values)
    return values / top if top > 0 else values


def logged_fitness(fitness, magnitudes, gradients):
    """The candidates' fitness as reported: raw for magnitude or gradient, normalised product for both."""
    if fitness != "both":
        return selection_scores(fitness, magnitudes, gradients)
    return (_normalised(magnitudes) * _normalised(gradients)).tolist()


def select_candidate(scores):
    """Index of the highest score; the lowest such index on ties. NaN scores never win."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        raise ValueError("select_candidate needs at least one candidate score.")
    finite = np.where(np.isnan(scores), -np.inf, scores)
    return int(np.flatnonzero(finite == np.max(finite))[0])
