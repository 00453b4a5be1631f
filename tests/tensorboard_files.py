"""Reads a run's TensorBoard files back with TensorBoard's own reader (which drops what a resumed run's START
event marks as stale), for comparison with its logs."""

import json
from pathlib import Path

import numpy as np
from tensorboard.backend.event_processing import event_accumulator

SCALARS_OF_LOGS = {"loss/train": "trainLoss", "loss/validation": "valLoss", "loss/test": "testLoss",
                   "accuracy/train": "trainAccuracy", "accuracy/validation": "valAccuracy",
                   "accuracy/test": "testAccuracy"}


def read_events(logs_path):
    """{tag: [(step, value)]} of the scalars, and {tag: [step]} of the histograms."""
    folder = Path(str(logs_path).replace("_logs.json", "_tensorboard"))
    accumulator = event_accumulator.EventAccumulator(str(folder), size_guidance={"scalars": 0, "histograms": 0})
    accumulator.Reload()
    tags = accumulator.Tags()
    scalars = {tag: [(event.step, event.value) for event in accumulator.Scalars(tag)] for tag in tags["scalars"]}
    histograms = {tag: [event.step for event in accumulator.Histograms(tag)] for tag in tags["histograms"]}
    return scalars, histograms


def as_float32(values):
    return [float(np.float32(value)) for value in values]


def assert_events_match_logs(logs_path):
    """A one-phase run's event files hold every epoch of its logs once, in order, with the logs' values (as the
    float32 that TensorBoard stores)."""
    logs = json.loads(Path(logs_path).read_text())
    scalars, histograms = read_events(logs_path)
    epochs = list(range(len(logs["testLoss"])))
    for tag, key in SCALARS_OF_LOGS.items():
        assert [step for step, _ in scalars[tag]] == epochs, tag
        assert [value for _, value in scalars[tag]] == as_float32(logs[key]), tag
    remaining = [count / logs["totalWeights"] for count in logs["remainingWeights"]]
    assert [value for _, value in scalars["remaining/all"]] == as_float32(remaining)
    for name in logs["layerNames"]:
        assert f"remaining/{name}" in scalars and f"changed/{name}" in scalars
        assert sum(tag.endswith(f"/{name}") for tag in histograms) == 1
    assert all(steps == epochs for steps in histograms.values())
    return scalars, histograms
