"""Result folders with known curves, written as MaskTrainer.py writes them (docs/OUTPUTS.md).

    write_fake_run(root, {"traintype": "MinPruning"}, seed=1,
                   test_accuracy=[0.1, 0.8, 0.9], remaining=[266200, 200000, 150000])

writes `{root}/MinPruning/LeNet/P1_0.5/mask_relu_he_LR0.001/{runid}_logs.json` (plus the curves csv
and small npz files) and returns the logs path. Anything not given gets a plausible value.
"""

import hashlib
import json
import os

import numpy as np

from results.atomic import write_csv, write_json, write_npz

LAYERS = {
    "LeNet": (["dense", "dense_1", "dense_2"], [[784, 300], [300, 100], [100, 10]]),
    "Conv2": (["conv2d", "conv2d_1", "dense", "dense_1", "dense_2"],
              [[3, 3, 3, 64], [3, 3, 64, 64], [16384, 256], [256, 256], [256, 10]]),
}
SMALL_LAYERS = (["layer_a", "layer_b", "layer_c"], [[10, 100], [100, 10], [10, 10]])
FLIPPING = ("FreeFlipping", "MinFlipping")


def full_config(root, config, seed, epochs):
    """RunConfig.to_dict()-like config: the given fields over the reference defaults."""
    traintype = config.get("traintype", "FreePruning")
    defaults = {"nettype": "LeNet", "traintype": traintype, "initializer": "he", "activation": "relu",
                "masktype": "flip" if traintype in FLIPPING else "mask", "batchsize": 25,
                "maxepochs": epochs - 1, "seed": seed, "p1": 0.5, "lr": 0.001, "outputpath": str(root),
                "nruns": 1, "dataset": "auto", "data_dir": None, "limit": None, "test_normalization": "test"}
    return {**defaults, **config, "seed": seed}


def config_folder(root, config):
    """{outputpath}/{traintype}/{nettype}/P1_{p1}/{masktype}_{activation}_{initializer}_LR{lr}"""
    leaf = f"{config['masktype']}_{config['activation']}_{config['initializer']}_LR{float(config['lr'])}"
    return os.path.join(str(root), config["traintype"], config["nettype"], f"P1_{float(config['p1'])}", leaf)


def spread_counts(count, sizes):
    """Splits count over layers in proportion to their sizes (integers, none above its size)."""
    total = sum(sizes)
    parts = [min(size, (count * size) // total) for size in sizes]
    for index, size in enumerate(sizes):
        extra = min(size - parts[index], count - sum(parts))
        parts[index] += extra
    return parts


def per_layer_counts(sizes, zeros, negatives):
    """One epoch of remainingWeightsPerLayer: [neg, zero, pos, negW, zeroW, posW] per layer."""
    rows = []
    for size, zero, neg in zip(sizes, spread_counts(zeros, sizes), spread_counts(negatives, sizes)):
        neg = min(neg, size - zero)
        pos = size - zero - neg
        neg_w = (size - zero) // 2
        rows.append([neg, zero, pos, neg_w, zero, size - zero - neg_w])
    return rows


def write_fake_run(root, config, seed, test_accuracy, remaining=None, *, flipped=None, val_accuracy=None,
                   train_accuracy=None, losses=None, per_layer=None, layers=None, run_id=None,
                   status="finished", dataset=None, extras=True):
    """Writes one run's files under root; returns the path of its logs JSON.

    test_accuracy: per-epoch fractions (entry 0 before training). remaining: per-epoch nonzero mask
    entries (default: all weights). flipped: per-epoch negative mask entries (default 0).
    per_layer: explicit remainingWeightsPerLayer (else spread over layers in proportion to size).
    layers: (names, shapes) of the masked layers (default: the network's, or three small ones).
    """
    epochs = len(test_accuracy)
    config = full_config(root, config, seed, epochs)
    names, shapes = layers or LAYERS.get(config["nettype"], SMALL_LAYERS)
    sizes = [int(np.prod(shape)) for shape in shapes]
    total = sum(sizes)
    remaining = list(remaining) if remaining is not None else [total] * epochs
    flipped = list(flipped) if flipped is not None else [0] * len(remaining)
    if per_layer is None:
        per_layer = [per_layer_counts(sizes, total - r, f) for r, f in zip(remaining, flipped)]
    loss = losses if losses is not None else [2.3 - 2 * a for a in test_accuracy]
    name = dataset or ("mnist" if config["nettype"] == "LeNet" else "cifar10")
    if run_id is None:
        digest = hashlib.sha256(json.dumps([config, list(test_accuracy)], sort_keys=True, default=str).encode())
        run_id = digest.hexdigest()[:8]
    logs = {
        "runId": run_id, "status": status,
        "failureReason": "The loss became NaN in epoch 2." if status == "failed" else None,
        "config": config, "seed": seed,
        "dataset": {"name": name, "source": "fake", "trainExamples": 55000, "valExamples": 5000,
                    "testExamples": 10000},
        "layerNames": names, "layerShapes": [list(s) for s in shapes], "layerSizes": sizes, "totalWeights": total,
        "trainLoss": list(loss), "valLoss": list(loss), "testLoss": list(loss),
        "trainAccuracy": list(train_accuracy if train_accuracy is not None else test_accuracy),
        "valAccuracy": list(val_accuracy if val_accuracy is not None else test_accuracy),
        "testAccuracy": list(test_accuracy),
        "remainingWeights": [int(r) for r in remaining], "remainingWeightsPerLayer": per_layer,
        "epochSeconds": [0.5] * epochs,
        "versions": {"python": "3", "numpy": np.__version__, "tensorflow": "fake", "keras": "fake"},
        "startedAt": "2024-01-01T00:00:00+00:00",
        "finishedAt": None if status == "running" else "2024-01-01T00:10:00+00:00",
    }
    folder = config_folder(root, config)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{run_id}_logs.json")
    write_json(path, logs)
    if extras:
        header = ["epoch", "trainLoss", "valLoss", "testLoss", "trainAccuracy", "valAccuracy", "testAccuracy",
                  "remainingWeights", "epochSeconds"]
        rows = [[e] + [logs[k][e] for k in header[1:]] for e in range(epochs)]
        write_csv(os.path.join(folder, f"{run_id}_curves.csv"), header, rows)
        arrays = {n: np.ones(s, dtype=np.float32) for n, s in zip(names, shapes) if np.prod(s) <= 100000}
        write_npz(os.path.join(folder, f"{run_id}_initial_weights.npz"), arrays)
        write_npz(os.path.join(folder, f"{run_id}_final_masks.npz"), arrays)
    return path


def write_method_tree(root, nettype="LeNet", initializer="heconstant", seeds=(1, 2), epochs=5, p1_sweep=(0.3, 0.7)):
    """All five methods of one network and initializer, plus a FreePruning p1 sweep; returns the logs paths.

    Curves are simple known shapes: accuracy rises towards a method-specific level, the changed
    fraction grows linearly (pruned for the pruning methods, flipped for the flipping ones).
    """
    levels = {"Baseline": 0.98, "FreePruning": 0.97, "MinPruning": 0.95, "FreeFlipping": 0.96, "MinFlipping": 0.94}
    changed = {"Baseline": 0.0, "FreePruning": 0.5, "MinPruning": 0.05, "FreeFlipping": 0.3, "MinFlipping": 0.04}
    names, shapes = LAYERS.get(nettype, SMALL_LAYERS)
    total = sum(int(np.prod(s)) for s in shapes)
    paths = []
    settings = [(method, 0.5) for method in levels] + [("FreePruning", p1) for p1 in p1_sweep]
    for method, p1 in settings:
        for seed in seeds:
            ramp = [e / (epochs - 1) for e in range(epochs)]
            accuracy = [0.1 + (levels[method] - 0.1 - 0.02 * abs(p1 - 0.5)) * r ** 0.3 - 0.001 * seed * r
                        for r in ramp]
            fraction = [changed[method] * r * (1 + 0.02 * seed) for r in ramp]
            count = [int(round(f * total)) for f in fraction]
            config = {"traintype": method, "nettype": nettype, "initializer": initializer, "p1": p1}
            if method in FLIPPING:
                paths.append(write_fake_run(root, config, seed, accuracy, flipped=count))
            else:
                paths.append(write_fake_run(root, config, seed, accuracy, remaining=[total - c for c in count]))
    return paths
