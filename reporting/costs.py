"""What a run's mask keeps and what obtaining it cost, from its logs: the cost columns of `load_runs`
(reporting/runs_table.py; docs/OUTPUTS.md, "load_runs' columns", defines each).

Kept weights and FLOPs are those of the run's final recorded epoch, counted as ShrinkBench counts them
(multiply-accumulates of the masked weight layers per example; networks/costs.py). The training steps are every
optimizer step of the run: every trained epoch of every phase (IMP round, K-starts candidate) takes
ceil(trainExamples / batchsize) steps (training/batches.py), while the epoch 0 a phase starts with is an evaluation
only.
"""

import math

import numpy as np

from methods.registry import METHODS
from networks.costs import layer_macs, output_positions

COST_COLUMNS = ("keptWeights", "compressionRatio", "denseFlops", "maskedFlops", "theoreticalSpeedup",
                "trainingSteps", "wallSeconds")
NAN = float("nan")


def is_k_starts(traintype):
    return bool(getattr(METHODS.get(traintype), "k_starts", False))


def _length(values):
    return len(values) if isinstance(values, list) else 0


def trained_epochs(logs, finished, k_starts, selection_epochs):
    """The epochs of the run that took optimizer steps, over all its phases; None when the logs cannot tell.

    `recordedEpochs` counts every recorded epoch, the epochs 0 included, so the trained ones are that less one per
    phase started: IMP's rounds (the finished ones are in `rounds`, the one in progress is not yet), K-starts'
    candidates (the chosen one continues without a new epoch 0). Logs older than `recordedEpochs` are counted from
    the curves: each IMP round's, each candidate's (`candidateTestAccuracy`) and the run's own."""
    recorded = logs.get("recordedEpochs")
    current = _length(logs.get("testAccuracy"))  # the phase in progress (or, finished, the last one)
    rounds = logs.get("rounds")
    candidates = logs.get("candidateTestAccuracy")
    if isinstance(rounds, list):  # IMP
        in_progress = 0 if finished else 1
        if isinstance(recorded, int):
            return recorded - len(rounds) - in_progress
        return sum(_length(r.get("testAccuracy")) - 1 for r in rounds) + in_progress * (current - 1)
    if k_starts and isinstance(candidates, list) and candidates:  # the fittest was chosen
        if isinstance(recorded, int):
            return recorded - len(candidates)
        chosen = logs.get("chosenCandidate")
        if not isinstance(chosen, int) or not 0 <= chosen < len(candidates):
            return None
        # The chosen candidate's selection epochs are the first of the run's own curves.
        return sum(_length(curve) - 1 for curve in candidates) + current - _length(candidates[chosen])
    if k_starts:  # still selecting: the finished candidates' epochs, E + 1 each, come before the current one's
        if not isinstance(recorded, int) or not isinstance(selection_epochs, int):
            return None
        finished_candidates = (recorded - current) // (selection_epochs + 1)
        return finished_candidates * selection_epochs + current - 1
    if isinstance(recorded, int):
        return recorded - 1
    return current - 1


def wall_seconds(logs, finished):
    """The sum of the run's logged epochSeconds: IMP's every round (in `rounds`, the one in progress in the run's
    own curves), else the run's own curves; for K-starts, whose curves are the chosen candidate's, the other
    candidates' seconds too (candidateSeconds; NaN where logs of an older version do not have them)."""
    rounds = logs.get("rounds")
    lists = [r.get("epochSeconds") for r in rounds] if isinstance(rounds, list) else []
    if not isinstance(rounds, list) or not finished:
        lists.append(logs.get("epochSeconds"))
    candidates, chosen = logs.get("candidateTestAccuracy"), logs.get("chosenCandidate")
    if isinstance(candidates, list) and isinstance(chosen, int):
        seconds = logs.get("candidateSeconds")
        if not isinstance(seconds, list) or len(seconds) != len(candidates):
            return NAN
        lists.append([value for index, value in enumerate(seconds) if index != chosen])
    values = [value for seconds in lists if isinstance(seconds, list) for value in seconds]
    if not values or any(not isinstance(value, (int, float)) for value in values):
        return NAN
    return float(math.fsum(values))


def per_layer_macs(logs, settings, layer_names, layer_sizes):
    """[output positions] of the logged layers, in the logs' order (the names match networks/costs.py's; Keras
    may list them in another order than the builder makes them), or None when the logs do not say (no inputShape,
    an unknown network, other layer names)."""
    input_shape = logs.get("inputShape")
    if not isinstance(input_shape, list) or len(input_shape) != 3 or len(layer_sizes) != len(layer_names):
        return None
    try:
        positions = output_positions(settings.get("nettype"), input_shape)
    except (ValueError, TypeError):
        return None
    if sorted(positions) != sorted(layer_names):
        return None
    return [positions[name] for name in layer_names]


def run_costs(logs, settings, status, layer_names, layer_sizes, total_weights, remaining, per_layer):
    """{cost column: value} of one run. remaining: the remainingWeights curve; per_layer: (epochs, layers, 6) counts
    or None; both cut to the run's recorded epochs, of which the last is the one reported."""
    finished = status == "finished"
    kept = float(remaining[-1])
    costs = dict.fromkeys(COST_COLUMNS, NAN)
    if np.isfinite(kept):
        costs.update(keptWeights=int(kept), compressionRatio=total_weights / kept if kept else math.inf)
    positions = per_layer_macs(logs, settings, layer_names, layer_sizes)
    if positions is not None:
        costs["denseFlops"] = sum(layer_macs(positions, layer_sizes))
        if per_layer is not None:
            kept_per_layer = per_layer[-1, :, 0] + per_layer[-1, :, 2]  # nonzero mask values
            costs["maskedFlops"] = sum(layer_macs(positions, kept_per_layer))
            masked = costs["maskedFlops"]
            costs["theoreticalSpeedup"] = costs["denseFlops"] / masked if masked else math.inf
    dataset, batchsize = logs.get("dataset"), settings.get("batchsize")
    examples = dataset.get("trainExamples") if isinstance(dataset, dict) else None
    selection = settings.get("selection_epochs")
    epochs = trained_epochs(logs, finished, is_k_starts(settings.get("traintype")),
                            selection if isinstance(selection, int) else None)
    if isinstance(examples, int) and isinstance(batchsize, int) and batchsize > 0 and epochs is not None:
        costs["trainingSteps"] = epochs * -(-examples // batchsize)
    costs["wallSeconds"] = wall_seconds(logs, finished)
    return costs
