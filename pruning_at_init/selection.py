"""Bookkeeping of the K-starts candidates: their results so far and the fittest one's saved state.

Only the fittest candidate so far keeps its model and optimizer values, data-order generator state
and per-epoch curves (the fitness rules rank candidates by a score fixed when each one finishes, see
fitness.py), so a checkpoint holds at most one candidate besides the one training.
"""

import copy
import math

from pruning_at_init.fitness import logged_fitness, select_candidate, selection_scores


class CandidateSelection:
    def __init__(self, count, fitness):
        self.count = count
        self.fitness = fitness
        self.candidate = 0  # the candidate training now
        self.finished = False  # True once the fittest was chosen and continues
        self.magnitudes, self.gradients, self.test_accuracy = [], [], []
        self.seconds = []  # each candidate's epoch seconds, summed: what obtaining the mask cost (reporting/costs.py)
        self.start_generator = None  # data-order generator state at the start of every candidate
        self.best = None  # index of the fittest candidate so far
        self.best_curves, self.best_generator = None, None
        self.best_model, self.best_optimizer = [], []

    def scores(self):
        return selection_scores(self.fitness, self.magnitudes, self.gradients)

    def finish_candidate(self, magnitude, gradient, curves, generator_state, model_values, optimizer_values):
        """Records the current candidate's results; keeps its state if it is the fittest so far."""
        self.magnitudes.append(magnitude)
        self.gradients.append(gradient)
        self.test_accuracy.append(list(curves["testAccuracy"]))
        self.seconds.append(float(math.fsum(curves.get("epochSeconds") or [])))
        if select_candidate(self.scores()) == self.candidate:
            self.best = self.candidate
            self.best_curves = copy.deepcopy(curves)
            self.best_generator = copy.deepcopy(generator_state)
            self.best_model, self.best_optimizer = model_values, optimizer_values

    def summary(self):
        """What goes into the run's logs once the fittest is chosen."""
        return {"candidateFitness": logged_fitness(self.fitness, self.magnitudes, self.gradients),
                "candidateMagnitude": list(self.magnitudes), "candidateGradient": list(self.gradients),
                "candidateTestAccuracy": copy.deepcopy(self.test_accuracy), "candidateSeconds": list(self.seconds),
                "chosenCandidate": self.best}

    def release_best(self):
        """The fittest candidate's (model values, optimizer values, curves, generator state); forgets them."""
        chosen = (self.best_model, self.best_optimizer, self.best_curves, self.best_generator)
        self.best_model, self.best_optimizer, self.best_curves, self.best_generator = [], [], None, None
        return chosen

    # Checkpoints ------------------------------------------------------------------------------
    JSON_FIELDS = ("candidate", "finished", "magnitudes", "gradients", "test_accuracy", "seconds", "start_generator",
                   "best", "best_curves", "best_generator")

    def to_state(self):
        state = {name: copy.deepcopy(getattr(self, name)) for name in self.JSON_FIELDS}
        arrays = {f"best_model_{i}": value for i, value in enumerate(self.best_model)}
        arrays.update({f"best_optimizer_{i}": value for i, value in enumerate(self.best_optimizer)})
        return state, arrays

    def restore(self, state, arrays):
        for name in self.JSON_FIELDS:
            # A checkpoint written before candidates' seconds were kept resumes with none for those finished.
            setattr(self, name, copy.deepcopy(state.get(name, [None] * len(state["magnitudes"]))
                                              if name == "seconds" else state[name]))
        self.best_model = numbered_arrays(arrays, "best_model_")
        self.best_optimizer = numbered_arrays(arrays, "best_optimizer_")


def numbered_arrays(arrays, prefix):
    count = sum(1 for key in arrays if key.startswith(prefix))
    return [arrays[f"{prefix}{index}"] for index in range(count)]
