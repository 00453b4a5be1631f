"""Pruning at initialisation, the numpy rules: random masks, dissipating gradients, fitness, selection."""

import numpy as np
import pytest

from pruning_at_init.dissipation import allowed_removals, dissipate, dissipation_masks, relative_change
from pruning_at_init.fitness import (
    gradient_fitness,
    logged_fitness,
    magnitude_fitness,
    select_candidate,
    selection_scores,
)
from pruning_at_init.masks import random_masks, removal_count, sparsity_of
from pruning_at_init.selection import CandidateSelection

SHAPES = [(784, 300), (300, 100), (100, 10), (7, 3)]


@pytest.mark.parametrize("sparsity", [0.0, 0.5, 0.8, 0.9, 0.95, 0.999])
def test_layerwise_random_masks_remove_exactly_round_s_n_per_layer(sparsity):
    masks = random_masks(SHAPES, sparsity, "layerwise", np.random.default_rng(3))
    for mask, shape in zip(masks, SHAPES):
        assert mask.shape == shape and mask.dtype == np.float32 and set(np.unique(mask)) <= {0.0, 1.0}
        assert np.size(mask) - np.count_nonzero(mask) == round(sparsity * np.prod(shape))


@pytest.mark.parametrize("sparsity", [0.5, 0.9, 0.95])
def test_global_random_masks_remove_exactly_round_s_total_over_all_layers(sparsity):
    masks = random_masks(SHAPES, sparsity, "global", np.random.default_rng(3))
    total = sum(int(np.prod(shape)) for shape in SHAPES)
    assert sum(np.size(m) - np.count_nonzero(m) for m in masks) == round(sparsity * total)
    overall, per_layer = sparsity_of(masks)
    assert overall == pytest.approx(round(sparsity * total) / total)
    assert max(per_layer) != min(per_layer)  # uniform over all weights, not per layer


def test_random_masks_follow_the_generator_seed():
    first = random_masks(SHAPES, 0.9, "layerwise", np.random.default_rng([1, 2, 0]))
    again = random_masks(SHAPES, 0.9, "layerwise", np.random.default_rng([1, 2, 0]))
    other = random_masks(SHAPES, 0.9, "layerwise", np.random.default_rng([1, 2, 1]))
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not np.array_equal(first[0], other[0])


def test_removal_count_rounds_half_to_even_like_python():
    assert removal_count(10, 0.25) == 2 and removal_count(10, 0.35) == 4 and removal_count(1000, 0.9) == 900


def test_relative_change_is_movement_over_initial_magnitude():
    initial = np.array([1.0, -2.0, 0.5, 0.0, 0.0])
    current = np.array([1.05, -1.0, 0.5, 0.0, 0.1])
    np.testing.assert_allclose(relative_change(initial, current), [0.05, 0.5, 0.0, 0.0, np.inf])


def test_dissipation_removes_the_least_moved_weights_below_the_threshold_up_to_the_cap():
    initial = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    current = np.array([1.5, 1.01, 0.95, 1.2, 1.0, 0.3, 1.08, 1.02])  # changes .5 .01 .05 .2 0 .7 .08 .02
    change = relative_change(initial, current)
    mask = np.ones(8)
    np.testing.assert_array_equal(dissipate(mask, change, 0.1, allowed=3), [1, 0, 1, 1, 0, 1, 1, 0])
    # Below the threshold are 4, 1, 7, 2, 6 (least moved first); a cap of 10 removes just those five.
    np.testing.assert_array_equal(dissipate(mask, change, 0.1, allowed=10), [1, 0, 0, 1, 0, 1, 0, 0])
    # Exact: fills up with the least-moved kept weights (index 3, change .2) to exactly 6 removed.
    np.testing.assert_array_equal(dissipate(mask, change, 0.1, allowed=6, exact=True), [1, 0, 0, 0, 0, 1, 0, 0])
    # Removed weights stay removed, even ones that moved a lot; they count towards the cap.
    already = np.array([0, 1, 1, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(dissipate(already, change, 0.1, allowed=2), [0, 1, 1, 1, 0, 1, 1, 1])


def test_dissipation_ignores_magnitude_only_relative_movement_counts():
    initial = np.array([[2.0, 0.01], [-3.0, 0.02]])
    current = np.array([[2.1, 0.05], [-3.0, 0.0]])  # the big weights barely move relative to their size
    (mask,) = dissipation_masks([np.ones((2, 2))], [initial], [current], threshold=0.1, start_sparsity=0.0,
                                sparsity=0.5, epoch=2, epochs=2, scope="layerwise")
    np.testing.assert_array_equal(mask, [[0, 1], [0, 1]])


def test_dissipation_schedule_caps_cumulative_sparsity_at_s_e_over_e_and_ends_exactly_at_s():
    assert [allowed_removals(1000, 0.0, 0.9, e, 3) for e in (1, 2, 3)] == [300, 600, 900]
    assert [allowed_removals(1000, 0.45, 0.9, e, 2) for e in (1, 2)] == [675, 900]
    shapes = [(40, 30), (30, 10)]
    generator = np.random.default_rng(0)
    initial = [generator.normal(size=shape) for shape in shapes]
    current = [w + 1e-4 * generator.normal(size=w.shape) for w in initial]  # nothing moves: all "slow"
    masks = [np.ones(shape, np.float32) for shape in shapes]
    for epoch in (1, 2, 3):
        masks = dissipation_masks(masks, initial, current, threshold=0.1, start_sparsity=0.0, sparsity=0.9,
                                  epoch=epoch, epochs=3, scope="layerwise")
        for mask, shape in zip(masks, shapes):
            assert np.size(mask) - np.count_nonzero(mask) == (round(0.9 * np.prod(shape)) * epoch) // 3


def test_dissipation_fills_up_to_exactly_s_in_global_scope():
    shapes = [(50, 20), (20, 7)]
    generator = np.random.default_rng(1)
    initial = [generator.normal(size=shape) for shape in shapes]
    current = [w * (1 + generator.uniform(0.2, 1.0, size=w.shape)) for w in initial]  # everything moves a lot
    masks = [np.ones(shape, np.float32) for shape in shapes]
    for epoch in (1, 2):
        masks = dissipation_masks(masks, initial, current, threshold=0.1, start_sparsity=0.0, sparsity=0.8,
                                  epoch=epoch, epochs=2, scope="global")
        removed = sum(np.size(m) - np.count_nonzero(m) for m in masks)
        assert removed == (0 if epoch == 1 else round(0.8 * 1140))


def test_magnitude_and_gradient_fitness_sum_over_kept_weights_only():
    kernels = [np.array([[1.0, -2.0], [3.0, -4.0]]), np.array([0.5, -0.25])]
    masks = [np.array([[1, 0], [0, 1]]), np.array([0, 1])]
    assert magnitude_fitness(kernels, masks) == 5.25
    assert gradient_fitness([np.full((2, 2), 0.5), np.array([7.0, 2.0])], masks) == 3.0


def test_selection_scores_and_the_logged_fitness_for_both():
    magnitudes, gradients = [2.0, 4.0, 3.0], [3.0, 1.0, 2.5]
    assert selection_scores("magnitude", magnitudes, gradients) == magnitudes
    assert selection_scores("gradient", magnitudes, gradients) == gradients
    assert selection_scores("both", magnitudes, gradients) == [6.0, 4.0, 7.5]
    np.testing.assert_allclose(logged_fitness("both", magnitudes, gradients), [0.5, 1 / 3, 0.625])
    assert select_candidate(selection_scores("both", magnitudes, gradients)) == 2
    assert select_candidate(logged_fitness("both", magnitudes, gradients)) == 2


def test_select_candidate_takes_the_fittest_and_the_lowest_index_on_ties():
    assert select_candidate([0.1, 0.7, 0.3]) == 1
    assert select_candidate([0.2, 0.9, 0.9, 0.1]) == 1
    assert select_candidate([float("nan"), 0.5, 0.5]) == 1
    with pytest.raises(ValueError):
        select_candidate([])


def test_candidate_selection_keeps_the_fittest_state_and_survives_a_checkpoint():
    selection = CandidateSelection(3, "magnitude")
    for index, magnitude in enumerate([5.0, 9.0, 9.0]):
        selection.candidate = index
        curves = {"testAccuracy": [0.1, 0.2 + index]}
        selection.finish_candidate(magnitude, 1.0, curves, {"state": index}, [np.full(2, index)], [np.zeros(1)])
    state, arrays = selection.to_state()
    restored = CandidateSelection(3, "magnitude")
    restored.restore(state, arrays)
    for candidate in (selection, restored):
        assert candidate.best == 1 and candidate.best_generator == {"state": 1}
        np.testing.assert_array_equal(candidate.best_model[0], [1, 1])
        assert candidate.summary()["candidateFitness"] == [5.0, 9.0, 9.0]
        assert candidate.summary()["candidateTestAccuracy"] == [[0.1, 0.2], [0.1, 1.2], [0.1, 2.2]]
