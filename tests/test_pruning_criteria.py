"""SNIP, GraSP and SynFlow (pruning_at_init/criteria/): scores against numpy on a two-layer network, the exact
masks they give, both backends alike, and what a run with them writes."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import MaskTrainer
from config import ConfigError, RunConfig
from conftest import REPOSITORY

TINY_NETWORK = """
import sys, types
import numpy as np
import keras
from masking import MaskedDense, masked_layers
from methods.pruning_at_initialisation import PruningAtInitSettings
from pruning_at_init.criteria.scoring import ScoringContext


def tiny_context(sparsity=0.5, scope="global", **settings):
    generator = np.random.default_rng(0)
    inputs = keras.Input((6,), name="input")
    hidden = MaskedDense(4, activation="relu", use_fixed_mask=True, name="dense1")(inputs)
    outputs = MaskedDense(3, activation="softmax", use_fixed_mask=True, name="output")(hidden)
    model = keras.Model(inputs, outputs)
    layers = masked_layers(model)
    layers[0].kernel.assign(generator.normal(size=(6, 4)).astype("float32"))
    layers[1].kernel.assign(generator.normal(size=(4, 3)).astype("float32"))
    images = generator.normal(size=(8, 6)).astype("float32")
    labels = generator.integers(0, 3, 8).astype("int32")
    return ScoringContext(model, layers, images, labels, sparsity, scope, PruningAtInitSettings(**settings), "Test")
"""
exec(TINY_NETWORK)  # noqa: S102 - one definition for this process and the other backend's subprocess


def numpy_gradients(context, kernels, temperature=1.0):
    """Mean cross-entropy of softmax(logits / T) and its gradient for the two kernels, in float64."""
    x, labels = context.images.astype("float64"), context.labels
    first, second = kernels
    pre = x @ first
    hidden = np.maximum(pre, 0)
    logits = hidden @ second / temperature
    probabilities = np.exp(logits - logits.max(1, keepdims=True))
    probabilities /= probabilities.sum(1, keepdims=True)
    d_logits = (probabilities - np.eye(3)[labels]) / (len(x) * temperature)
    d_hidden = (d_logits @ second.T) * (pre > 0)
    return [x.T @ d_hidden, hidden.T @ d_logits]


def kernels_of(context):
    return [np.asarray(layer.kernel, dtype="float64") for layer in context.layers]


def test_snip_scores_are_the_gradient_times_the_weight_in_magnitude():
    from pruning_at_init.criteria import snip
    context = tiny_context()  # noqa: F821 - defined by exec above
    kernels = kernels_of(context)
    expected = [np.abs(g * w) for g, w in zip(numpy_gradients(context, kernels), kernels)]
    for measured, wanted in zip(snip.scores(context), expected):
        np.testing.assert_allclose(measured, wanted, rtol=1e-5, atol=1e-8)


def test_grasp_scores_are_the_weight_times_the_hessian_gradient_product_by_finite_differences():
    from pruning_at_init.criteria import grasp
    context = tiny_context(grasp_temperature=2.0)  # noqa: F821
    kernels = kernels_of(context)
    g = numpy_gradients(context, kernels, 2.0)
    step = 1e-4
    plus = numpy_gradients(context, [w + step * d for w, d in zip(kernels, g)], 2.0)
    minus = numpy_gradients(context, [w - step * d for w, d in zip(kernels, g)], 2.0)
    hessian_gradient = [(p - m) / (2 * step) for p, m in zip(plus, minus)]
    for measured, hg, w in zip(grasp.scores(context), hessian_gradient, kernels):
        np.testing.assert_allclose(measured, w * hg, rtol=2e-3, atol=1e-7)
        assert np.abs(w * hg).max() > 1e-4  # not trivially zero


def test_one_synflow_iteration_keeps_the_weights_of_largest_synaptic_flow():
    from pruning_at_init.criteria.scoring import masks_from_scores
    context = tiny_context(sparsity=0.5, synflow_iterations=1)  # noqa: F821
    first, second = [np.abs(kernel) for kernel in kernels_of(context)]
    # R = 1' |W1| |W2| 1: dR/d|W1|[i, j] = sum_k |W2|[j, k], dR/d|W2|[j, k] = sum_i |W1|[i, j].
    scores = [first * second.sum(1)[None, :], second * first.sum(0)[:, None]]
    from pruning_at_init.criteria import synflow
    measured = synflow.masks(context)
    for mask, wanted in zip(measured, masks_from_scores(context, scores)):
        np.testing.assert_array_equal(mask, wanted)
    assert sum(int(mask.size - np.count_nonzero(mask)) for mask in measured) == round(0.5 * 36)


def test_synflow_iterates_to_the_exact_sparsity_and_never_brings_a_weight_back():
    from pruning_at_init.criteria import scoring, synflow
    seen = []
    original = scoring.masks_from_scores

    def recording(context, scores, sparsity=None, removed=None):
        masks = original(context, scores, sparsity, removed)
        seen.append(masks)
        return masks

    synflow.masks_from_scores = recording
    try:
        masks = synflow.masks(tiny_context(sparsity=0.75, synflow_iterations=5))  # noqa: F821
    finally:
        synflow.masks_from_scores = original
    removed = [sum(int(m.size - np.count_nonzero(m)) for m in step) for step in seen]
    assert removed == [round((1 - 0.25 ** (k / 5)) * 36) for k in range(1, 6)] and removed[-1] == 27
    for before, after in zip(seen, seen[1:]):
        assert all(np.all(b[a != 0] != 0) for b, a in zip(before, after))
    assert all(np.array_equal(m, s) for m, s in zip(masks, seen[-1]))


def test_masks_remove_the_lowest_scores_exactly_and_of_ties_the_later_ones():
    from pruning_at_init.criteria.scoring import masks_from_scores
    context = tiny_context(sparsity=0.5, scope="layerwise")  # noqa: F821
    scores = [np.zeros((6, 4)), np.arange(12, dtype=float).reshape(4, 3)]
    masks = masks_from_scores(context, scores)
    np.testing.assert_array_equal(masks[0].reshape(-1), [1] * 12 + [0] * 12)  # all tied: the later 12 go
    np.testing.assert_array_equal(masks[1].reshape(-1), [0] * 6 + [1] * 6)


def test_the_linear_selection_removes_what_a_full_sort_would():
    """lowest_removed finds the count-th lowest score and selects around it, instead of sorting the indices by two
    keys: against that sort, on scores with many ties and removed (-inf) entries, at every count."""
    from pruning_at_init.criteria.scoring import lowest_removed
    generator = np.random.default_rng(7)
    for _ in range(300):
        scores = generator.integers(0, 4, int(generator.integers(1, 40))).astype(np.float64)
        scores[generator.random(scores.size) < 0.2] = -np.inf
        for count in range(scores.size + 1):
            order = np.lexsort((-np.arange(scores.size), scores))  # ascending; of equal scores the later first
            wanted = np.ones(scores.size, dtype=np.float32)
            wanted[order[:count]] = 0.0
            np.testing.assert_array_equal(lowest_removed(scores, count), wanted)


def test_a_mask_that_cuts_every_path_is_refused_and_non_finite_scores_too():
    from pruning_at_init.criteria.scoring import CriterionError, check_connected, masks_from_scores
    context = tiny_context(sparsity=0.9)  # noqa: F821
    # No layer is empty, yet no path is left: the input reaches hidden unit 0 only, the output hears unit 1 only.
    first, second = np.zeros((6, 4), "float32"), np.zeros((4, 3), "float32")
    first[:, 0], second[1, :] = 1, 1
    with pytest.raises(CriterionError) as refusal:
        check_connected(context, [first, second])
    assert str(refusal.value) == ("Test's global mask at --sparsity 0.9 leaves no path from the input to the output: "
                                  "lower --sparsity, or use --pruning-scope layerwise.")
    second[0, 2] = 1
    check_connected(context, [first, second])  # one path is enough
    with pytest.raises(CriterionError, match="not all finite"):
        masks_from_scores(context, [np.full((6, 4), np.nan), np.ones((4, 3))])


BACKEND_DRIVER = TINY_NETWORK + """
import json
from pruning_at_init.criteria import grasp, snip, synflow
context = tiny_context(sparsity=0.5, synflow_iterations=10)
print(json.dumps({"snip": [s.tolist() for s in snip.scores(context)],
                  "grasp": [s.tolist() for s in grasp.scores(context)],
                  "synflow": [m.tolist() for m in synflow.masks(context)]}))
"""


def test_both_backends_score_alike():
    results = {}
    for backend in ("jax", "tensorflow"):
        environment = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": REPOSITORY}
        completed = subprocess.run([sys.executable, "-c", BACKEND_DRIVER], capture_output=True, text=True,
                                   env=environment, cwd=REPOSITORY, timeout=300)
        assert completed.returncode == 0, completed.stderr[-2000:]
        results[backend] = json.loads(completed.stdout.strip().splitlines()[-1])
    for name in ("snip", "grasp"):
        for jax_scores, tensorflow_scores in zip(results["jax"][name], results["tensorflow"][name]):
            np.testing.assert_allclose(jax_scores, tensorflow_scores, rtol=1e-5, atol=1e-9)
    assert results["jax"]["synflow"] == results["tensorflow"]["synflow"]


@pytest.mark.parametrize("settings, message", [
    ({"traintype": "GraSP", "grasp_temperature": 0.0}, "--grasp-temperature must be positive, got 0.0."),
    ({"traintype": "SNIP", "scoring_examples": 0}, "--scoring-examples must be at least 1, got 0."),
    ({"traintype": "SynFlow", "synflow_iterations": 0}, "--synflow-iterations must be at least 1, got 0."),
])
def test_bad_criterion_settings_are_refused_in_one_sentence(settings, message):
    with pytest.raises(ConfigError) as refusal:
        RunConfig.from_settings(settings).validate()
    assert str(refusal.value) == message


def test_the_criteria_prune_globally_by_default_and_say_so_in_the_folder():
    snip_run = RunConfig(traintype="SNIP").validate()
    assert snip_run.identity()["pruning_scope"] == "global" and snip_run.folder().endswith("_S0.9_global")
    assert RunConfig(traintype="RandomPruning").validate().identity()["pruning_scope"] == "layerwise"
    layerwise = RunConfig.from_settings({"traintype": "SynFlow", "pruning_scope": "layerwise",
                                         "synflow_iterations": 10}).validate()
    assert layerwise.folder().endswith("_S0.9_I10")
    assert "grasp_temperature" not in snip_run.identity() and "synflow_iterations" not in snip_run.identity()


def test_a_criterion_without_settings_needs_only_its_line_in_criteria_and_its_method(monkeypatch):
    """docs/EXTENDING.md's criterion recipe: a criterion declared in CRITERIA with no settings, named by one
    PruningAtInitMethod, is accepted and validated, uses the mask's settings only and prunes globally."""
    from methods import registry
    from methods.pruning_at_initialisation import FAMILY, FIXED_MASK, PruningAtInitMethod
    from pruning_at_init.criteria import CRITERIA, Criterion

    monkeypatch.setitem(CRITERIA, "throwaway", Criterion())
    method = PruningAtInitMethod("Throwaway", "trains the weights under the throwaway criterion's mask",
                                 color="#000000", criterion="throwaway", **FIXED_MASK)
    monkeypatch.setattr(FAMILY, "methods", (*FAMILY.methods, method))
    monkeypatch.setitem(registry.METHODS, method.name, method)
    monkeypatch.setitem(registry.FAMILY_OF, method.name, FAMILY)
    assert method.uses == ("sparsity", "pruning_scope", "sanity_check")  # a scored criterion can be sanity-checked
    config = RunConfig.from_settings({"traintype": "Throwaway", "sparsity": 0.8}).validate()
    assert config.identity()["pruning_scope"] == "global" and config.folder().endswith("_S0.8_global")
    assert not {"scoring_examples", "grasp_temperature", "synflow_iterations"} & set(config.identity())
    with pytest.raises(ConfigError, match=r"^--scoring-examples does nothing for --traintype Throwaway"):
        RunConfig.from_settings({"traintype": "Throwaway", "scoring_examples": 30}, given=["scoring_examples"])
    layerwise = RunConfig.from_settings({"traintype": "Throwaway", "pruning_scope": "layerwise"}).validate()
    assert layerwise.identity()["pruning_scope"] == "layerwise" and layerwise.folder().endswith("_S0.9")


def test_a_method_naming_an_undeclared_criterion_or_setting_is_refused_where_it_is_declared(monkeypatch):
    from methods.pruning_at_initialisation import FIXED_MASK, PruningAtInitMethod
    from pruning_at_init.criteria import CRITERIA, Criterion

    with pytest.raises(ValueError, match=r"^Unknown pruning criterion 'absent'; choose one of random, snip, grasp, "):
        PruningAtInitMethod("Absent", "trains", color="#000000", criterion="absent", **FIXED_MASK)
    monkeypatch.setitem(CRITERIA, "throwaway", Criterion(settings=("throwaway_depth",)))
    with pytest.raises(ValueError, match=r"^The 'throwaway' criterion reads throwaway_depth, which Pruning"):
        PruningAtInitMethod("Throwaway", "trains", color="#000000", criterion="throwaway", **FIXED_MASK)


@pytest.mark.parametrize("traintype", ["SNIP", "GraSP", "SynFlow"])
def test_a_run_trains_under_the_criterions_mask_at_the_exact_sparsity_and_twice_alike(tmp_path, traintype):
    arguments = ["--traintype", traintype, "--dataset", "mnist-subset", "--limit", "60", "--maxepochs", "1",
                 "--sparsity", "0.95", "--synflow-iterations", "20", "--seed", "3"] if traintype == "SynFlow" else \
        ["--traintype", traintype, "--dataset", "mnist-subset", "--limit", "60", "--maxepochs", "1", "--sparsity",
         "0.95", "--scoring-examples", "30", "--seed", "3"]
    logs = []
    for attempt in ("a", "b"):
        assert MaskTrainer.main([*arguments, "--outputpath", str(tmp_path / attempt)]) == 0
        (path,) = (tmp_path / attempt).rglob("*_logs.json")
        logs.append(json.loads(path.read_text()))
        with np.load(str(path).replace("_logs.json", "_final_masks.npz")) as archive:
            masks = [archive[name] for name in archive.files]
        total = sum(mask.size for mask in masks)
        assert total - sum(np.count_nonzero(mask) for mask in masks) == round(0.95 * total)
    assert logs[0]["status"] == "finished" and logs[0]["config"]["pruning_scope"] == "global"
    for key in ("testAccuracy", "trainLoss", "maskSparsityPerLayer"):
        assert logs[0][key] == logs[1][key]
    assert len(set(logs[0]["maskSparsityPerLayer"])) > 1  # global: the layers differ


def test_every_scored_criterion_has_its_module_with_a_masks_function():
    """criterion_masks imports a criterion's module by its CRITERIA name: a renamed module fails here, not in a run."""
    import importlib

    from pruning_at_init.criteria import CRITERIA
    for name, criterion in CRITERIA.items():
        if not criterion.at_random:
            assert callable(importlib.import_module(f"pruning_at_init.criteria.{name}").masks), name
