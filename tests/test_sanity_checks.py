"""--sanity-check (pruning_at_init/sanity.py): a criterion's mask shuffled within each layer, over new weights, or
inverted, each its own run; and the checks change exactly what they should."""

import json

import numpy as np
import pytest

from config import ConfigError, RunConfig
from main_calls import main_calls
from pruning_at_init import sanity
from pruning_at_init.criteria.scoring import ScoringContext, masks_from_scores

ARGUMENTS = ["--traintype", "SNIP", "--maxepochs", "0", "--dataset", "mnist-subset", "--limit", "40", "--seed", "4",
             "--sparsity", "0.5", "--pruning-scope", "layerwise"]


def test_a_check_is_a_run_of_its_own_and_only_the_scored_criteria_take_one():
    plain = RunConfig.from_settings({"traintype": "SNIP"})
    checked = RunConfig.from_settings({"traintype": "SNIP", "sanity_check": "shuffle"})
    assert plain.identity_key() != checked.identity_key() and checked.folder().endswith("_check-shuffle")
    assert "sanity_check" in RunConfig(traintype="SynFlow").identity()
    for traintype in ("RandomPruning", "KStarts", "DissipatingGradients"):
        with pytest.raises(ConfigError, match="--sanity-check does nothing for --traintype"):
            RunConfig.from_settings({"traintype": traintype, "sanity_check": "shuffle"}, given=["sanity_check"])


def test_shuffling_keeps_each_layers_count_at_new_positions_drawn_from_the_seed():
    generator = np.random.default_rng(0)
    masks = [(generator.random((30, 20)) < 0.3).astype(np.float32), (generator.random((20, 10)) < 0.7)]
    once, again = sanity.shuffled(masks, 7), sanity.shuffled(masks, 7)
    for mask, shuffled, repeated in zip(masks, once, again, strict=True):
        assert shuffled.shape == mask.shape and shuffled.sum() == mask.sum() and not np.array_equal(shuffled, mask)
        np.testing.assert_array_equal(shuffled, repeated)
    assert not np.array_equal(sanity.shuffled(masks, 8)[0], once[0])


def test_inverting_keeps_the_lowest_scores():
    scores = [np.array([[0.5, 0.1], [0.9, 0.3]]), np.array([0.2, 0.8, 0.4, 0.6])]
    context = ScoringContext(None, [], None, None, 0.5, "layerwise", None, "test")
    kept = masks_from_scores(context, scores)
    context.invert = True
    inverted = masks_from_scores(context, scores)
    np.testing.assert_array_equal(kept[0], [[1, 0], [1, 0]])
    np.testing.assert_array_equal(inverted[0], [[0, 1], [0, 1]])
    np.testing.assert_array_equal(inverted[1], 1 - kept[1])


def arrays(root, kind):
    (path,) = root.rglob(f"*_{kind}.npz")
    with np.load(path) as archive:
        return {name: archive[name] for name in archive.files}


def test_the_checked_runs_train_the_mask_the_check_makes(tmp_path):
    runs = {}
    for check in ("none", "shuffle", "reinit", "invert"):
        folder = tmp_path / check
        result = main_calls({check: [*ARGUMENTS, "--sanity-check", check, "--outputpath", str(folder)]})[check]
        assert result["code"] == 0, result["output"]
        (logs,) = folder.rglob("*_logs.json")
        assert json.loads(logs.read_text())["config"]["sanity_check"] == check
        runs[check] = tuple(arrays(folder, kind) for kind in ("final_masks", "final_weights", "initial_weights"))
    masks, weights, initial = runs["none"]
    for name, mask in masks.items():
        assert runs["shuffle"][0][name].sum() == mask.sum() and not np.array_equal(runs["shuffle"][0][name], mask)
        np.testing.assert_array_equal(runs["reinit"][0][name], mask)  # the same mask ...
        kept = mask != 0
        assert not np.allclose(runs["reinit"][1][name][kept], weights[name][kept])  # ... over other weights
        inverted = runs["invert"][0][name]
        assert inverted.sum() == mask.sum() and (inverted * mask).sum() < 0.2 * mask.sum()  # the other half
        np.testing.assert_array_equal(runs["shuffle"][2][name], initial[name])  # every run drew the same weights
    shapes = [masks[name].shape for name in masks]
    redrawn = sanity.redrawn_kernels(shapes, 4, "he")
    for (name, mask), kernel in zip(masks.items(), redrawn, strict=True):
        np.testing.assert_array_equal(runs["reinit"][1][name], kernel * mask)


def test_magnitude_at_initialisation_keeps_the_largest_initial_weights_over_all_layers():
    from types import SimpleNamespace

    from pruning_at_init.criteria import criterion_named, magnitude
    kernels = [np.array([[0.5, -0.1], [-0.9, 0.3]]), np.array([[0.2], [-0.8], [0.05], [0.6]])]
    context = ScoringContext(None, [SimpleNamespace(kernel=kernel) for kernel in kernels], None, None, 0.5, "global",
                             None, "MagnitudeAtInit")
    masks = magnitude.masks(context)  # the 4 largest |w| of 8: 0.9, 0.8, 0.6, 0.5
    np.testing.assert_array_equal(masks[0], [[1, 0], [1, 0]])
    np.testing.assert_array_equal(masks[1], [[0], [1], [0], [1]])
    context.invert = True
    inverted = magnitude.masks(context)
    np.testing.assert_array_equal(inverted[0] + masks[0], np.ones((2, 2)))
    assert criterion_named("magnitude").default_scope == "global" and criterion_named("magnitude").settings == ()
