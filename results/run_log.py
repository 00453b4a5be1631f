"""The logs of one run: the reference's per-epoch keys plus what makes the run repeatable."""

import datetime
import platform

import numpy as np

from results import atomic
from results.paths import run_file

METRIC_KEYS = ("trainLoss", "valLoss", "testLoss", "trainAccuracy", "valAccuracy", "testAccuracy")
# Every per-epoch list of the logs: what a new phase (IMP round, K-starts candidate) starts afresh.
EPOCH_KEYS = METRIC_KEYS + ("remainingWeights", "remainingWeightsPerLayer", "epochSeconds")
CSV_HEADER = ("epoch",) + METRIC_KEYS + ("remainingWeights", "epochSeconds")


def library_versions():
    """The versions that decide the numbers a run draws and computes, with the backend's own."""
    import keras
    versions = {"python": platform.python_version(), "numpy": np.__version__, "keras": keras.__version__}
    if keras.backend.backend() == "jax":
        import jax
        import jaxlib
        versions.update(jax=jax.__version__, jaxlib=jaxlib.__version__, device=str(jax.devices()[0].platform))
    else:
        import tensorflow as tf
        versions["tensorflow"] = tf.__version__
    return versions


def device_record(config):
    """Where this start (or resume) of a run trains: the device, as asked and as found, and the precision."""
    from devices import describe_current
    device = describe_current(config.backend)
    return {"startedAt": now(), "backend": config.backend, "platform": device.platform, "name": device.name,
            "count": device.count, "requested": config.device, "precision": config.precision}


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


class RunLog:
    def __init__(self, run_id, config, dataset, layers):
        shapes = [[int(size) for size in layer.kernel.shape] for layer in layers]
        sizes = [int(np.prod(shape)) for shape in shapes]
        self.data = {
            "runId": run_id, "status": "running", "failureReason": None,
            "config": config.to_dict(), "seed": config.seed,
            "dataset": {"name": dataset.name, "source": dataset.source,
                        "trainExamples": len(dataset.x_train), "valExamples": len(dataset.x_val),
                        "testExamples": len(dataset.x_test)},
            "inputShape": [int(size) for size in dataset.x_train.shape[1:]], "numClasses": int(dataset.num_classes),
            "layerNames": [layer.name for layer in layers], "layerShapes": shapes,
            "layerSizes": sizes, "totalWeights": sum(sizes),
            **{key: [] for key in METRIC_KEYS},
            "remainingWeights": [], "remainingWeightsPerLayer": [], "epochSeconds": [],
            "versions": library_versions(), "startedAt": now(), "finishedAt": None,
            "devices": [device_record(config)],  # one entry per start and resume
        }

    def append_epoch(self, losses, accuracies, counts, seconds):
        """losses/accuracies: (train, val, test); counts: (layers, 6) ints."""
        for key, value in zip(METRIC_KEYS, tuple(losses) + tuple(accuracies)):
            self.data[key].append(float(value))
        counts = np.asarray(counts, dtype=np.int64)
        self.data["remainingWeights"].append(int(counts[:, 0].sum() + counts[:, 2].sum()))
        self.data["remainingWeightsPerLayer"].append(counts.tolist())
        self.data["epochSeconds"].append(round(float(seconds), 4))

    def record_resume(self, config):
        self.data.setdefault("devices", []).append(device_record(config))

    def finish(self, status, reason=None):
        self.data.update(status=status, failureReason=reason, finishedAt=now())

    def encoded(self, folder):
        """[(path, text)] of the logs and curves files as the logs are now (written later by write_encoded)."""
        run_id = self.data["runId"]
        rows = [[epoch] + [self.data[key][epoch] for key in CSV_HEADER[1:]]
                for epoch in range(len(self.data["trainLoss"]))]
        return [(run_file(folder, run_id, "logs"), atomic.json_text(self.data)),
                (run_file(folder, run_id, "curves"), atomic.csv_text(CSV_HEADER, rows))]

    def write(self, folder):
        write_encoded(self.encoded(folder))


def write_encoded(files):
    """Writes RunLog.encoded's files, each atomically, the logs first."""
    for path, text in files:
        atomic.write_text(path, text)
