"""What a run prints: the reference's per-epoch line, and a progress bar inside the epoch on a terminal."""

import sys

import numpy as np


def epoch_line(epoch, maxepochs, log, counts):
    data = log.data
    counts = np.asarray(counts, dtype=np.float64)
    fractions = counts.sum(axis=0) / data["totalWeights"]
    return (f"Epoch {epoch:>3}/{maxepochs}"
            f"  loss train {data['trainLoss'][-1]:.4f} val {data['valLoss'][-1]:.4f} test {data['testLoss'][-1]:.4f}"
            f"  acc train {data['trainAccuracy'][-1]:.4f} val {data['valAccuracy'][-1]:.4f}"
            f" test {data['testAccuracy'][-1]:.4f}"
            f"  masks -{fractions[0]:.3f} 0:{fractions[1]:.3f} +{fractions[2]:.3f}"
            f"  weights -{fractions[3]:.3f} 0:{fractions[4]:.3f} +{fractions[5]:.3f}"
            f"  {data['epochSeconds'][-1]:.1f}s")


class EpochProgress:
    """A Keras progress bar when stdout is a terminal; silent otherwise (logs stay clean)."""

    def __init__(self, steps, enabled=None):
        self.enabled = sys.stdout.isatty() if enabled is None else enabled
        self.chunk = 100 if self.enabled else steps
        self.bar = None
        if self.enabled:
            import keras
            self.bar = keras.utils.Progbar(steps, unit_name="step")

    def update(self, step, loss):
        if self.bar is not None:
            self.bar.update(step, values=[("loss", loss)], finalize=False)

    def close(self):
        if self.bar is not None:
            sys.stdout.write("\r\033[K")
            sys.stdout.flush()
