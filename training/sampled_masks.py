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
from training.loop import Experiment

# Per-epoch lists of the logs, beside the reference's keys.
DETERMINISTIC_KEYS = ("valLossDeterministic", "testLossDeterministic", "valAccuracyDeterministic",
                      "testAccuracyDeterministic")


def set_evaluation_sample(layers, sample):
    """Makes inference compute with the `sample`-th evaluation draw of every layer, or the deterministic mask."""
    for layer in layers:
        layer.evaluation_sample.assign(sample)


class SampledMaskExperiment(Experiment):
    def evaluate_splits(self):
        """((val loss, val accuracy), (test loss, test accuracy)) of the network as it computes now."""
        return (self.steps.evaluate(self.dataset.x_val, self.dataset.y_val),
                self.steps.evaluate(self.dataset.x_test, self.dataset.y_test))

    def record_epoch(self, epoch, train_result, started):
        sampled, sampled_training = [], []
        for sample in range(self.config.method_settings.mask_samples):
            set_evaluation_sample(self.layers, sample)
            sampled.append(self.evaluate_splits())
            if epoch == 0:  # untrained: the training split evaluated like the others, not with the deterministic mask
                sampled_training.append(self.steps.evaluate(self.dataset.x_train, self.dataset.y_train))
        if sampled_training:
            train_result = tuple(np.mean(np.asarray(sampled_training, dtype=np.float64), axis=0))
        set_evaluation_sample(self.layers, DETERMINISTIC)
        (val_loss, val_accuracy), (test_loss, test_accuracy) = self.evaluate_splits()
        for key, value in zip(DETERMINISTIC_KEYS, (val_loss, test_loss, val_accuracy, test_accuracy)):
            self.log.data.setdefault(key, []).append(float(value))
        means = np.mean(np.asarray(sampled, dtype=np.float64), axis=0)  # (split, loss or accuracy)
        self.record_evaluated_epoch(epoch, train_result, tuple(means[0]), tuple(means[1]),
                                    np.asarray(self.steps.mask_counts()), started)
