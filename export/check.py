"""--check: the test accuracy recomputed from the exported files alone, against the run's logged one."""

import keras
import numpy as np

from datasets import load_dataset
from networks import network_entry


def exported_accuracy(model, dataset):
    """Accuracy of a Keras model over the test split, in batches of 200, exact (a count over the examples)."""
    probabilities = model.predict(dataset.x_test, batch_size=200, verbose=0)
    return float(np.count_nonzero(np.argmax(probabilities, axis=-1) == dataset.y_test) / len(dataset.y_test))


def check_exports(run, exported_paths, data_dir=None):
    """[(path, accuracy, logged accuracy, sentence)]: each export's test accuracy against the logged final one."""
    from export.supermask import load_supermask
    config = run.config
    # The data set the run actually used ("auto" may have fallen back to the MNIST subset).
    dataset = load_dataset(run.logs["dataset"]["name"], network_entry(config.nettype).standard_dataset,
                           data_dir=data_dir or config.data_dir,
                           limit=config.limit, test_normalization=config.test_normalization, allow_download=False)
    # A sampled mask's (Supermask) export is its deterministic mask, whose accuracy the logs keep beside the sampled.
    logged = float(run.logs.get("testAccuracyDeterministic", run.logs["testAccuracy"])[-1])
    results = []
    for kind, path in exported_paths.items():
        model = load_supermask(path) if kind == "supermask" else keras.saving.load_model(path)
        accuracy = exported_accuracy(model, dataset)
        if accuracy == logged:
            sentence = f"{path}: test accuracy {accuracy:.4%}, equal to the run's logged final test accuracy."
        else:
            sentence = (f"{path}: test accuracy {accuracy:.4%} differs from the run's logged final test accuracy "
                        f"{logged:.4%} by {abs(accuracy - logged) * len(dataset.y_test):.0f} of "
                        f"{len(dataset.y_test)} test images.")
        results.append((path, accuracy, logged, sentence))
    return results
