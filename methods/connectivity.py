"""Connectivity training over fixed random weights (Ivan & Florian 2020), and the Baseline that trains
the weights of the same network instead."""

from methods.base import Method, MethodFamily
from training.loop import Experiment

PRUNING_MASKS = ("mask", "mask_rs")
CONNECTIVITY = dict(kernel_trainable=False, score_trainable=True)


class ConnectivityTraining(MethodFamily):
    name = "connectivity"
    title = "Connectivity training over fixed random weights (Ivan & Florian 2020)"
    experiment_class = Experiment
    packable = True
    methods = (
        Method("Baseline", "trains the weights while the mask stays all ones", ("mask", "mask_rs", "flip"),
               "mask", "weights", "#333333", "o"),
        Method("FreePruning", "switches fixed weights on and off", PRUNING_MASKS, "mask", "pruning", "#1f77b4",
               "s", **CONNECTIVITY),
        Method("MinPruning", "switches fixed weights on and off, keeping as many as it can", PRUNING_MASKS, "mask",
               "pruning", "#2ca02c", "^", alpha=-1.0, **CONNECTIVITY),
        Method("FreeFlipping", "flips the signs of fixed weights", ("flip",), "flip", "flipping", "#d62728", "v",
               **CONNECTIVITY),
        Method("MinFlipping", "flips the signs of fixed weights, as few as it can", ("flip",), "flip", "flipping",
               "#ff7f0e", "D", alpha=-1.0, **CONNECTIVITY),
    )


FAMILY = ConnectivityTraining()
