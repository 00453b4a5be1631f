"""Pruning at initialisation end to end: MaskTrainer.main runs of the four methods on tiny data, exact
sparsity, masks fixed after selection, the fittest candidate's curves, and resume mid-selection."""

import json

import numpy as np
import pytest

import MaskTrainer
from interruptions import interrupt_after
from pruning_at_init import variables
from pruning_at_init.experiment import PruningAtInitExperiment
from pruning_at_init.fitness import select_candidate, selection_scores

TINY = ["--dataset", "mnist-subset", "--limit", "100", "--batchsize", "20", "--maxepochs", "3", "--seed", "5"]
SIZES = {"dense1": 784 * 300, "dense2": 300 * 100, "output": 100 * 10}
COMPARED = ("trainLoss", "valLoss", "testLoss", "trainAccuracy", "valAccuracy", "testAccuracy", "remainingWeights",
            "remainingWeightsPerLayer", "maskSparsity", "maskSparsityPerLayer", "candidateFitness",
            "candidateGradient", "candidateTestAccuracy", "chosenCandidate", "config")


def tiny(traintype):
    """TINY plus the selection's flags where the method takes them (elsewhere they are refused as doing nothing)."""
    selection = ["--selection-epochs", "2"] if traintype != "RandomPruning" else []
    starts = ["--kstarts", "3"] if traintype.startswith("KStarts") else []
    return [*TINY, "--traintype", traintype, *selection, *starts]


def finished_run(folder):
    (logs_path,) = folder.rglob("*_logs.json")
    logs = json.loads(logs_path.read_text())
    arrays = {}
    for kind in ("final_masks", "final_weights"):
        with np.load(str(logs_path).replace("_logs.json", f"_{kind}.npz"), allow_pickle=False) as archive:
            arrays[kind] = {key: archive[key] for key in archive.files}
    return logs_path, logs, arrays["final_masks"], arrays["final_weights"]


def run_capturing(folder, monkeypatch, traintype, *arguments):
    """Runs MaskTrainer.main; returns the finished run and, per recorded epoch, the masks and kernels."""
    records = []
    original = PruningAtInitExperiment.record

    def capturing(self, epoch, train_result, evaluation, started):
        selection = self.selection
        records.append({"epoch": epoch, "candidate": selection.candidate if selection else None,
                        "finished": selection.finished if selection else True,
                        "masks": variables.current_masks(self.layers),
                        "kernels": variables.current_kernels(self.layers)})
        return original(self, epoch, train_result, evaluation, started)

    with monkeypatch.context() as patch:
        patch.setattr(PruningAtInitExperiment, "record", capturing)
        assert MaskTrainer.main([*tiny(traintype), "--outputpath", str(folder), *arguments]) == 0
    return finished_run(folder), records


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    found = {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, arguments in {"RandomPruning": ["--sparsity", "0.9"],
                                "KStarts": ["--fitness", "both"],
                                "DissipatingGradients": ["--sparsity", "0.8"],
                                "KStartsDG": ["--fitness", "gradient"]}.items():
            folder = tmp_path_factory.mktemp(name)
            found[name] = run_capturing(folder, monkeypatch, name, *arguments)
    return found


@pytest.mark.parametrize("traintype", ["RandomPruning", "KStarts", "DissipatingGradients", "KStartsDG"])
def test_each_method_writes_valid_files_with_exact_layerwise_sparsity(runs, traintype):
    (logs_path, logs, masks, weights), _ = runs[traintype]
    sparsity = logs["config"]["sparsity"]
    assert logs["status"] == "finished" and logs["config"]["traintype"] == traintype
    assert all(len(logs[key]) == 4 for key in COMPARED[:8])
    assert logs_path.with_name(logs_path.name.replace("_logs.json", "_curves.csv")).exists()
    assert list(masks) == list(weights) == list(SIZES)
    for name, size in SIZES.items():
        assert size - np.count_nonzero(masks[name]) == round(sparsity * size)
        assert np.all(weights[name][masks[name] == 0] == 0.0)
    assert logs["maskSparsityPerLayer"] == [round(sparsity * size) / size for size in SIZES.values()]
    assert logs["remainingWeights"][-1] == sum(np.count_nonzero(mask) for mask in masks.values())


@pytest.mark.parametrize("traintype", ["RandomPruning", "KStarts", "DissipatingGradients", "KStartsDG"])
def test_masks_stay_fixed_after_selection_and_pruned_kernels_stay_zero(runs, traintype):
    (_, logs, masks, _), records = runs[traintype]
    fixed_from = 2 if traintype in ("DissipatingGradients", "KStartsDG") else 0
    chosen = logs.get("chosenCandidate")
    own = [r for r in records if r["finished"] or r["candidate"] == chosen]
    assert [r["epoch"] for r in own] == [0, 1, 2, 3]
    for record in own:
        assert sum(np.count_nonzero(m) for m in record["masks"]) == logs["remainingWeights"][record["epoch"]]
        if record["epoch"] >= fixed_from:
            for mask, kernel, name in zip(record["masks"], record["kernels"], SIZES):
                np.testing.assert_array_equal(mask, masks[name])
                assert np.all(kernel[mask == 0] == 0.0)
    if fixed_from:  # dissipating gradients: denser before, exactly S after the selection epochs
        assert logs["remainingWeights"][0] > logs["remainingWeights"][1] > logs["remainingWeights"][2]


@pytest.mark.parametrize("traintype", ["KStarts", "KStartsDG"])
def test_k_starts_continue_the_fittest_candidate_and_log_every_candidate(runs, traintype):
    (_, logs, _, _), records = runs[traintype]
    fitness = logs["config"]["fitness"]
    scores = selection_scores(fitness, logs["candidateMagnitude"], logs["candidateGradient"])
    assert logs["chosenCandidate"] == select_candidate(scores) == select_candidate(logs["candidateFitness"])
    assert len(logs["candidateFitness"]) == 3 and all(g > 0 for g in logs["candidateGradient"])
    assert [len(curve) for curve in logs["candidateTestAccuracy"]] == [3, 3, 3]
    assert logs["testAccuracy"][:3] == logs["candidateTestAccuracy"][logs["chosenCandidate"]]
    starts = [r for r in records if r["epoch"] == 0]
    assert [r["candidate"] for r in starts] == [0, 1, 2]  # every candidate starts from the same weights
    for start in starts[1:]:
        for first, other, first_mask, mask in zip(starts[0]["kernels"], start["kernels"], starts[0]["masks"],
                                                  start["masks"]):
            both = (first_mask != 0) & (mask != 0)
            assert both.any() and not np.array_equal(first_mask, mask)
            np.testing.assert_array_equal(first[both], other[both])


@pytest.mark.parametrize("traintype", ["RandomPruning", "DissipatingGradients"])
def test_global_scope_removes_exactly_round_s_total(tmp_path, traintype):
    assert MaskTrainer.main([*tiny(traintype), "--pruning-scope", "global", "--sparsity", "0.95",
                             "--outputpath", str(tmp_path)]) == 0
    _, logs, masks, weights = finished_run(tmp_path)
    total = sum(SIZES.values())
    assert total - sum(np.count_nonzero(m) for m in masks.values()) == round(0.95 * total)
    assert logs["maskSparsity"] == round(0.95 * total) / total
    assert len(set(logs["maskSparsityPerLayer"])) > 1
    assert all(np.all(weights[name][masks[name] == 0] == 0.0) for name in masks)


@pytest.mark.parametrize("traintype,fitness,calls", [("KStarts", "both", 8), ("KStarts", "both", 18),
                                                     ("KStartsDG", "gradient", 10)],
                         ids=["inside-candidate-2", "between-candidates-before-the-choice", "dg-inside-epoch"])
def test_resume_mid_selection_equals_an_uninterrupted_run(tmp_path, monkeypatch, runs, traintype, fitness, calls):
    (_, expected, expected_masks, expected_weights), _ = runs[traintype]
    with monkeypatch.context() as patch:
        interrupt_after(patch, calls, steps_per_call=2)  # 5 steps per epoch: 3 calls
        code = MaskTrainer.main([*tiny(traintype), "--fitness", fitness, "--outputpath", str(tmp_path)])
        assert code == 130
    (logs_path,) = tmp_path.rglob("*_logs.json")
    assert json.loads(logs_path.read_text())["status"] == "interrupted"
    assert MaskTrainer.main(["--resume", str(logs_path)]) == 0
    _, logs, masks, weights = finished_run(tmp_path)
    assert logs["status"] == "finished"
    for key in COMPARED:
        if key == "config":
            assert {k: v for k, v in logs[key].items() if k != "outputpath"} == \
                   {k: v for k, v in expected[key].items() if k != "outputpath"}
        else:
            assert logs[key] == expected[key], key
    for name in SIZES:
        np.testing.assert_array_equal(masks[name], expected_masks[name])
        np.testing.assert_array_equal(weights[name], expected_weights[name])
    assert not list(tmp_path.rglob("*_checkpoint*.npz"))
