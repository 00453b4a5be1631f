"""The experiment of a sampled mask (Supermask, Zhou et al. 2019): evaluation as Zhou reported it, with the
deterministic mask beside it.

Zhou's code evaluated its final network 10 times, each time on new Bernoulli draws, and reported the mean. Here
every epoch's validation and test figures are the mean over --mask-samples masks, each one mask for the whole split
(a network is one mask; Zhou's session drew anew per batch, which averages the same distribution). The k-th
evaluation mask is the same k-th draw in every epoch, so the curve moves with the scores, not with the draws.
The logs keep the deterministic mask's figures (sigmoid(score) > 0.5, what Export.py writes) beside them.
"""

import numpy as np

from masking.layers import DETERMINISTIC
from training.learned_mask_checks import FixedWeightExperiment

# Per-epoch lists of the logs, beside the reference's keys.
DETERMINISTIC_KEYS = ("valLossDeterministic", "testLossDeterministic", "valAccuracyDeterministic",
                      "testAccuracyDeterministic")


def set_evaluation_sample(layers, sample):
    """Makes inference compute with the `sample`-th evaluation draw of every layer, or the deterministic mask."""
    for layer in layers:
        layer.evaluation_sample.assign(sample)


class SampledMaskExperiment(FixedWeightExperiment):
    def record(self, epoch, train_result, evaluation, started):
        names = ("val", "test", "train") if epoch == 0 else ("val", "test")  # untrained: the training split too
        sampled = [self.evaluated(evaluation, names, ("sample", sample),
                                  lambda member, sample=sample: set_evaluation_sample(member.layers, sample))
                   for sample in range(self.config.method_settings.mask_samples)]
        if epoch == 0:  # evaluated like the others, not with the deterministic mask
            train_result = tuple(np.mean(np.asarray([splits[2] for splits in sampled], dtype=np.float64), axis=0))
        (val_loss, val_accuracy), (test_loss, test_accuracy) = self.evaluated(
            evaluation, ("val", "test"), "deterministic",
            lambda member: set_evaluation_sample(member.layers, DETERMINISTIC))
        for key, value in zip(DETERMINISTIC_KEYS, (val_loss, test_loss, val_accuracy, test_accuracy)):
            self.log.data.setdefault(key, []).append(float(value))
        means = np.mean(np.asarray([splits[:2] for splits in sampled], dtype=np.float64), axis=0)  # (split, value)
        self.record_evaluated_epoch(epoch, train_result, tuple(means[0]), tuple(means[1]),
                                    evaluation.mask_counts(self), started, evaluation.host_values(self))
