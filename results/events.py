"""TensorBoard event files of a run (MaskTrainer.py --tensorboard), written with TensorBoard's own writer and
protocol buffers, so that no backend (and no TensorFlow) is needed.

Each run writes to its own folder, {id}_tensorboard/ beside its logs, so `tensorboard --logdir OUTPUTPATH`
lists every run. The step of an epoch is the number of epochs the run recorded before it (epoch 0 included,
counted across IMP rounds and K-starts candidates), so the steps of a run never repeat. A run writes an
epoch's events before that epoch's checkpoint. A resumed run first writes a SessionLog START at the step it
resumes from: TensorBoard then drops what a killed attempt wrote past its last checkpoint, so no step is
missing or duplicated.
"""

import os
import time

import numpy as np
from tensorboard.compat.proto import event_pb2, summary_pb2
from tensorboard.summary.writer.event_file_writer import EventFileWriter

SPLITS = (("train", "train"), ("validation", "val"), ("test", "test"))
HISTOGRAM_BINS = 30


def histogram(values):
    values = np.asarray(values, dtype=np.float64).reshape(-1)
    counts, edges = np.histogram(values, bins=HISTOGRAM_BINS)
    return summary_pb2.HistogramProto(min=float(values.min()), max=float(values.max()), num=float(values.size),
                                      sum=float(values.sum()), sum_squares=float(np.dot(values, values)),
                                      bucket_limit=edges[1:].tolist(), bucket=counts.astype(float).tolist())


def epoch_scalars(log_data, flip):
    """The epoch's three losses and accuracies, and the remaining and changed fractions (flipped for masktype
    flip, else pruned), overall and per layer, from the logs of the epoch just recorded."""
    scalars = {}
    for split, key in SPLITS:
        scalars[f"loss/{split}"] = log_data[f"{key}Loss"][-1]
        scalars[f"accuracy/{split}"] = log_data[f"{key}Accuracy"][-1]
        if f"{key}AccuracyDeterministic" in log_data:  # a sampled mask's (Supermask) deterministic mask, beside
            scalars[f"loss_deterministic/{split}"] = log_data[f"{key}LossDeterministic"][-1]
            scalars[f"accuracy_deterministic/{split}"] = log_data[f"{key}AccuracyDeterministic"][-1]
    counts = np.asarray(log_data["remainingWeightsPerLayer"][-1], dtype=np.float64)
    sizes = counts[:, :3].sum(axis=1)
    remaining = counts[:, 0] + counts[:, 2]
    changed = counts[:, 0] if flip else sizes - remaining
    scalars["remaining/all"] = remaining.sum() / sizes.sum()
    scalars["changed/all"] = changed.sum() / sizes.sum()
    for name, layer_remaining, layer_changed, size in zip(log_data["layerNames"], remaining, changed, sizes,
                                                          strict=True):
        scalars[f"remaining/{name}"] = layer_remaining / size
        scalars[f"changed/{name}"] = layer_changed / size
    return scalars


def wait_for_a_later_second(folder):
    """TensorBoard reads a folder's event files in the order of their names, which start with the second the file was
    made in and end with a counter of the process's writers. A resumed writer's file must come after the killed
    attempt's, so it waits for a second later than theirs: within one second the order would be the counters',
    compared as text (10 before 9)."""
    seconds = [int(name.split(".")[3]) for name in os.listdir(folder)
               if name.startswith("events.out.tfevents.") and name.split(".")[3].isdigit()]
    while seconds and int(time.time()) <= max(seconds):
        time.sleep(0.02)


class EpochEvents:
    """One run's event writer; `resume_step`: the step a resumed run starts again from."""

    def __init__(self, folder, resume_step=None):
        os.makedirs(folder, exist_ok=True)
        if resume_step is not None:
            wait_for_a_later_second(folder)
        self.writer = EventFileWriter(folder)
        if resume_step is not None:
            self.writer.add_event(event_pb2.Event(wall_time=time.time(), step=resume_step,
                                                  session_log=event_pb2.SessionLog(status=event_pb2.SessionLog.START)))

    def write(self, step, scalars, histograms):
        """Scalars {tag: number} and histograms {tag: array} of one step, flushed to disk."""
        values = [summary_pb2.Summary.Value(tag=tag, simple_value=float(value)) for tag, value in scalars.items()]
        values += [summary_pb2.Summary.Value(tag=tag, histo=histogram(array)) for tag, array in histograms.items()]
        self.writer.add_event(event_pb2.Event(wall_time=time.time(), step=step,
                                              summary=summary_pb2.Summary(value=values)))
        self.writer.flush()

    def close(self):
        self.writer.close()
