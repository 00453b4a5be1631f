"""Sanity checks of a mask learned over fixed weights (--sanity-check shuffle|reinit for FreePruning, MinPruning,
FreeFlipping, MinFlipping, EdgePopup and Supermask; methods/sanity_checks.py).

A check run trains exactly as its unchecked twin of the same seed (the check changes no step), and every evaluation
it records, validation and test after each epoch and the training split at epoch 0, is of the learned mask checked,
with no retraining:

- shuffle: each layer's scores permuted by one permutation per layer drawn from the run seed, so the layer keeps its
  learned mask's count (or its flips, or its sampling probabilities) at other positions. Every mask function acts
  entry by entry, or on a layer's ranking (topk), so the mask of the permuted scores is the permuted mask.
- reinit: the learned mask over kernels drawn again from the run's initializer with another seed.

The paired difference between a check run and its twin on the same seed is then what the check costs the learned
mask: how much it is tied to the positions and to the weights it was learned on. The permutations and the redrawn
kernels are drawn as for the criteria's checks (training/check_draws.py), once for the whole run.
"""

import numpy as np

from training.check_draws import layer_permutations, redrawn_kernels
from training.loop import Experiment

NONE = "none"
DESCRIPTIONS = {"shuffle": "every evaluation is of the learned mask shuffled within each layer",
                "reinit": "every evaluation is of the learned mask over weights drawn again with another seed"}


class LearnedMaskCheck:
    """Puts a run's check into its variables for an evaluation (`apply`) and takes it out again (`restore`)."""

    def __init__(self, name, layers, config):
        self.name = name
        self.layers = layers
        self.saved = None
        if name == "shuffle":
            self.permutations = layer_permutations([np.prod(layer.score.shape) for layer in layers], config.seed)
        else:
            self.kernels = redrawn_kernels([tuple(layer.kernel.shape) for layer in layers], config.seed,
                                            config.resolved_initializer(), config.p1,
                                            config.masking_options().fan_scale)

    def variables(self):
        return [layer.score if self.name == "shuffle" else layer.kernel for layer in self.layers]

    def apply(self):
        variables = self.variables()
        self.saved = [np.array(variable) for variable in variables]
        if self.name == "shuffle":
            checked = [value.reshape(-1)[permutation].reshape(value.shape)
                       for value, permutation in zip(self.saved, self.permutations, strict=True)]
        else:
            checked = self.kernels
        for variable, value in zip(variables, checked, strict=True):
            variable.assign(value)

    def restore(self):
        for variable, value in zip(self.variables(), self.saved, strict=True):
            variable.assign(value)
        self.saved = None


class FixedWeightExperiment(Experiment):
    """A run of a method that learns a mask over fixed weights, evaluated under its sanity check if it has one."""

    def __init__(self, config, dataset, print_line=print, run_id=None):
        super().__init__(config, dataset, print_line, run_id)
        name = getattr(config.method_settings, "sanity_check", NONE) if "sanity_check" in config.method.uses else NONE
        self.learned_mask_check = None if name == NONE else LearnedMaskCheck(name, self.layers, config)

    def prepare_new_run(self):
        super().prepare_new_run()
        if self.learned_mask_check:
            self.print_line(f"Sanity check: {DESCRIPTIONS[self.learned_mask_check.name]} (no retraining)")

    def evaluated(self, evaluation, names, variant=None, prepare=None):
        """evaluation.splits of `names`, under the run's check when it has one (then applied and taken out again
        around the evaluation, for every member of the pack at once: they share their settings)."""
        if self.learned_mask_check is None:
            return evaluation.splits(self, names, variant, prepare)

        def checked(member):
            member.learned_mask_check.apply()
            if prepare is not None:
                prepare(member)

        return evaluation.splits(self, names, ("checked", variant), checked,
                                 restore=lambda member: member.learned_mask_check.restore())

    def record(self, epoch, train_result, evaluation, started):
        if train_result is None:
            (train_result,) = self.evaluated(evaluation, ("train",))
        validation, test = self.evaluated(evaluation, ("val", "test"))
        self.record_evaluated_epoch(epoch, train_result, validation, test, evaluation.mask_counts(self), started,
                                    evaluation.host_values(self))
