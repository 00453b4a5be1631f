"""The table of runs (walking result folders) and the merged (epochs x runs) arrays."""

import json
import os
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from reporting.merge import folder_outputs, merge_table, merged_arrays, write_merged  # noqa: E402
from reporting.runs_table import load_runs  # noqa: E402
from reporting.table import Table  # noqa: E402
from tests.result_folders import LAYERS, write_fake_run  # noqa: E402

LENET_TOTAL = 266200


def test_table_filters_and_groups():
    class Row(dict):
        pass

    rows = Table([Row(a=1, b="x"), Row(a=2, b="y"), Row(a=1, b="y"), Row(a=None, b="x")])
    assert len(rows.where(a=1)) == 2
    assert len(rows.where(b=["x", "y"], a=[1, 2])) == 3
    assert rows.unique("a") == [None, 1, 2]
    groups = rows.group_by("b")
    assert list(groups) == [("x",), ("y",)]
    assert [r["a"] for r in groups[("y",)]] == [2, 1]
    assert rows.varying_fields(["a", "b"]) == ["a", "b"]
    assert [r["a"] for r in rows.sort_by("a")] == [None, 1, 1, 2]


def test_merged_arrays_equal_the_inputs_exactly(tmp_path):
    test = {3: [0.1, 0.5, 0.7, 0.71], 1: [0.11, 0.4, 0.8, 0.79], 2: [0.09, 0.45, 0.75, 0.8]}
    val = {seed: [v + 0.001 for v in curve] for seed, curve in test.items()}
    remaining = {3: [LENET_TOTAL, 200000, 150000, 140000], 1: [LENET_TOTAL, 210000, 160000, 130000],
                 2: [LENET_TOTAL, 220000, 170000, 120000]}
    for seed in test:  # written out of order on purpose
        write_fake_run(tmp_path, {"traintype": "FreePruning"}, seed, test[seed], remaining[seed],
                       val_accuracy=val[seed])
    loaded = load_runs([str(tmp_path)])
    assert loaded.notes == []
    configurations = merge_table(loaded.runs)
    assert len(configurations) == 1
    c = configurations[0]
    seeds = [1, 2, 3]
    assert [run.seed for run in c.runs] == seeds
    np.testing.assert_array_equal(c.arrays["testAccuracy"], np.array([test[s] for s in seeds]).T)
    np.testing.assert_array_equal(c.arrays["valAccuracy"], np.array([val[s] for s in seeds]).T)
    np.testing.assert_array_equal(c.arrays["remainingWeights"], np.array([remaining[s] for s in seeds]).T)
    np.testing.assert_array_equal(c.arrays["changedFraction"],
                                  1 - np.array([remaining[s] for s in seeds]).T / LENET_TOTAL)
    np.testing.assert_array_equal(c.arrays["flippedFraction"], np.zeros((4, 3)))
    # Written to merged.npz next to the runs, loadable without pickles, same numbers.
    [(configuration, folder, stem)] = folder_outputs(configurations)
    assert stem == "merged" and folder == os.path.dirname(c.runs[0].path)
    path = write_merged(configuration, os.path.join(folder, "merged.npz"))
    with np.load(path, allow_pickle=False) as saved:
        for key in ("testAccuracy", "valAccuracy", "trainAccuracy", "trainLoss", "valLoss", "testLoss",
                    "remainingWeights", "changedFraction", "remainingFraction", "flippedFraction"):
            np.testing.assert_array_equal(saved[key], c.arrays[key], err_msg=key)
        assert saved["seeds"].tolist() == seeds
        assert saved["runIds"].tolist() == [run.run_id for run in c.runs]
        assert saved["epochs"].tolist() == [0, 1, 2, 3]
        assert saved["remainingWeightsPerLayer"].shape == (4, 3, 3, 6)
        assert json.loads(str(saved["config"]))["traintype"] == "FreePruning"
    assert not [n for n in os.listdir(folder) if n.startswith(".tmp-")]


def test_runs_of_different_lengths_use_the_common_epochs_and_name_the_shorter(tmp_path):
    config = {"traintype": "MinPruning", "maxepochs": 5}
    write_fake_run(tmp_path, config, 1, [0.1, 0.5, 0.6, 0.7, 0.8, 0.9], run_id="aaaaaaaa")
    write_fake_run(tmp_path, config, 2, [0.1, 0.4, 0.65], run_id="bbbbbbbb")
    write_fake_run(tmp_path, config, 3, [0.1, 0.3, 0.5, 0.6], run_id="cccccccc")
    c = merge_table(load_runs([str(tmp_path)]).runs)[0]
    assert c.epochs == 3
    np.testing.assert_array_equal(c.arrays["testAccuracy"], [[0.1, 0.1, 0.1], [0.5, 0.4, 0.3], [0.6, 0.65, 0.5]])
    [note] = c.notes
    assert "bbbbbbbb" in note and "cccccccc" in note and "aaaaaaaa" not in note
    assert "3 epochs" in note


def test_flipped_fraction_for_flip_masks_and_pruned_fraction_otherwise(tmp_path):
    write_fake_run(tmp_path, {"traintype": "FreeFlipping"}, 1, [0.1, 0.5, 0.6],
                   flipped=[0, 26620, 53240])
    write_fake_run(tmp_path, {"traintype": "FreePruning"}, 1, [0.1, 0.5, 0.6],
                   remaining=[LENET_TOTAL, 239580, 212960])
    write_fake_run(tmp_path, {"traintype": "Baseline"}, 1, [0.1, 0.5, 0.6])
    configurations = {c.get("traintype"): c for c in merge_table(load_runs([str(tmp_path)]).runs)}
    flip = configurations["FreeFlipping"]
    assert flip.get("masktype") == "flip"
    np.testing.assert_allclose(flip.arrays["changedFraction"][:, 0], [0.0, 0.1, 0.2], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(flip.arrays["remainingFraction"][:, 0], [1.0, 1.0, 1.0])
    prune = configurations["FreePruning"]
    np.testing.assert_allclose(prune.arrays["changedFraction"][:, 0], [0.0, 0.1, 0.2], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(prune.arrays["flippedFraction"][:, 0], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(configurations["Baseline"].arrays["changedFraction"][:, 0], [0.0, 0.0, 0.0])
    # Per layer: flipped = negative / size for flipping, pruned = zero / size for pruning.
    sizes = np.array([784 * 300, 300 * 100, 100 * 10])
    per_layer = flip.per_layer[2, 0]
    np.testing.assert_array_equal(flip.changed_per_layer()[2, 0], per_layer[:, 0] / sizes)
    np.testing.assert_array_equal(prune.changed_per_layer()[2, 0], prune.per_layer[2, 0][:, 1] / sizes)


def test_unrelated_files_are_ignored(tmp_path):
    path = write_fake_run(tmp_path, {}, 1, [0.1, 0.9])
    folder = os.path.dirname(path)
    for name, text in [("notes.txt", "hello"), ("summary.json", "{}"), ("abc_logs.json.bak", "{"),
                       (".tmp-123abcd1234_logs.json", "{"), ("x_logs.pkl", "\x80\x04"), ("README.md", "#")]:
        with open(os.path.join(folder, name), "w") as handle:
            handle.write(text)
    os.makedirs(tmp_path / ".hidden")
    (tmp_path / ".hidden" / "deadbeef_logs.json").write_text("{")
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures" / "compare.png").write_bytes(b"\x89PNG")
    loaded = load_runs([str(tmp_path)])
    assert len(loaded.runs) == 1 and loaded.notes == [] and loaded.left_out == {}


def test_unparsable_logs_are_skipped_with_one_line_naming_the_file(tmp_path):
    write_fake_run(tmp_path, {}, 1, [0.1, 0.9])
    broken = tmp_path / "FreePruning" / "LeNet" / "P1_0.5" / "mask_relu_he_LR0.001" / "deadbeef_logs.json"
    broken.write_text('{"config": {"nettype": "LeNet"}, "testAccuracy": [0.1, ')
    not_a_run = broken.with_name("cafecafe_logs.json")
    not_a_run.write_text('{"hello": 1}')
    loaded = load_runs([str(tmp_path)])
    assert len(loaded.runs) == 1
    assert len(loaded.notes) == 2
    assert any("deadbeef_logs.json" in note and "cannot parse" in note for note in loaded.notes)
    assert any("cafecafe_logs.json" in note for note in loaded.notes)
    assert all("\n" not in note for note in loaded.notes)


@pytest.mark.parametrize("status", ["failed", "running", "interrupted"])
def test_unfinished_runs_are_left_out_and_said_so(tmp_path, status):
    write_fake_run(tmp_path, {}, 1, [0.1, 0.9])
    write_fake_run(tmp_path, {}, 2, [0.1, float("nan")], run_id="0badf00d", status=status)
    loaded = load_runs([str(tmp_path)])
    assert [run.seed for run in loaded.runs] == [1]
    [note] = loaded.notes
    assert "0badf00d" in note and status in note
    assert loaded.left_out == {status: 1}


def test_a_just_reserved_empty_logs_file_is_left_out_quietly(tmp_path):
    path = write_fake_run(tmp_path, {}, 1, [0.1, 0.9])
    open(os.path.join(os.path.dirname(path), "12345678_logs.json"), "w").close()
    loaded = load_runs([str(tmp_path)])
    assert len(loaded.runs) == 1 and loaded.left_out == {"running": 1}
    assert "12345678_logs.json" in loaded.notes[0]


def test_a_configuration_is_every_config_field_but_seed_and_where_it_was_written(tmp_path):
    write_fake_run(tmp_path / "a", {"nruns": 3, "data_dir": "/data"}, 1, [0.1, 0.9])
    write_fake_run(tmp_path / "b", {"nruns": 1}, 2, [0.1, 0.8])
    write_fake_run(tmp_path / "a", {"batchsize": 50}, 3, [0.1, 0.7])
    write_fake_run(tmp_path / "a", {}, 4, [0.1, 0.7], dataset="mnist-subset")
    configurations = merge_table(load_runs([str(tmp_path / "a"), str(tmp_path / "b")]).runs)
    sizes = sorted(len(c.runs) for c in configurations)
    assert sizes == [1, 1, 2]
    merged = [c for c in configurations if len(c.runs) == 2][0]
    assert merged.get("dataset") == "mnist" and merged.get("batchsize") == 25
    # Three configurations share one folder under a/: file names must not collide.
    stems = [(folder, stem) for _, folder, stem in folder_outputs(configurations)]
    assert len(set(stems)) == len(stems) == 4


def test_merged_arrays_have_no_object_dtype(tmp_path):
    write_fake_run(tmp_path, {"nettype": "Conv2"}, 7, [0.1, 0.3, 0.4])
    c = merge_table(load_runs([str(tmp_path)]).runs)[0]
    arrays = merged_arrays(c)
    assert all(np.asarray(v).dtype != object for v in arrays.values())
    assert arrays["layerNames"].tolist() == LAYERS["Conv2"][0]
    assert c.get("dataset") == "cifar10"
