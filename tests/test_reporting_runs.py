"""The table of runs (walking result folders) and the merged (epochs x runs) arrays, on runs of the real
trainer (tests/trained_runs.py); edited copies of their logs for what training does not produce."""

import json
import math
import os

import numpy as np
import pandas as pd
import pytest

from reporting.frames import ordered_groups, sort_value, where
from reporting.merge import configurations_of, folder_outputs, merge_table, merged_arrays, write_merged
from reporting.runs_table import CURVE_COLUMNS, RESULT_COLUMNS, load_runs
from tests.trained_runs import (
    changed_fraction,
    configurations,
    copy_runs,
    curve,
    identity,
    read_logs,
    write_edited_copy,
)

pytest_plugins = ["tests.fixtures_trained"]


def test_frames_group_filter_and_order_mixed_values():
    frame = pd.DataFrame({"a": [1, 2, 1, None, 2.5], "b": ["x", "y", "y", "x", None], "row": range(5)})
    assert where(frame, a=1)["row"].tolist() == [0, 2]
    assert where(frame, b=["x", "y"], a=[1, 2])["row"].tolist() == [0, 1, 2]
    assert where(frame, missing=1).empty
    assert where(frame, a=None)["row"].tolist() == [3] and where(frame, b=[None, "x"])["row"].tolist() == [0, 3, 4]
    for fields, rows in ordered_groups(frame, ["a", "b"]):  # every group can be found again by its values
        assert where(frame, **fields)["row"].tolist() == rows["row"].tolist()
    groups = ordered_groups(frame, ["b"])
    assert [fields for fields, _ in groups] == [{"b": None}, {"b": "x"}, {"b": "y"}]
    assert [rows["row"].tolist() for _, rows in groups] == [[4], [0, 3], [1, 2]]
    assert [fields["a"] for fields, _ in ordered_groups(frame, ["a"])] == [None, 1, 2, 2.5]
    assert [fields["b"] for fields, _ in ordered_groups(frame, ["b"], sort=False)] == ["x", "y", None]
    assert sorted([2, None, "z", 1.5, float("nan"), True], key=sort_value)[2:] == [True, 1.5, 2, "z"]


def test_load_runs_has_one_row_per_run_with_the_values_of_its_logs(trained_runs):
    frame = load_runs(trained_runs)
    logs_by_path = {logs["_path"]: logs for logs in read_logs(trained_runs)}
    assert sorted(frame["path"]) == sorted(logs_by_path) and frame.attrs["notes"] == []
    settings = [name for name in frame.columns if name not in RESULT_COLUMNS]
    assert set(settings) == {name for logs in logs_by_path.values() for name in identity(logs)}
    assert {"sparsity", "reset"} <= set(settings)
    for _, row in frame.iterrows():
        logs = logs_by_path[row["path"]]
        for name in settings:
            expected = identity(logs).get(name)
            if expected is None:  # another method family's setting
                assert isinstance(row[name], float) and math.isnan(row[name]), (name, row[name])
            else:
                assert row[name] == expected, name
        assert (row["runId"], row["status"], row["seed"]) == (logs["runId"], logs["status"], logs["seed"])
        assert row["epochs"] == len(logs["testAccuracy"]) - 1
        assert row["finalTestAccuracy"] == logs["testAccuracy"][-1]
        assert row["peakTestAccuracy"] == max(logs["testAccuracy"])
        assert row["changedFraction"] == changed_fraction(logs)[-1]
        for key in CURVE_COLUMNS:
            np.testing.assert_array_equal(row["curves"][key], logs[key], err_msg=key)


def test_merged_arrays_equal_the_logs_exactly(trained_runs, tmp_path):
    copy_runs(trained_runs, tmp_path, traintype="FreePruning", p1=0.5)
    [runs] = configurations(tmp_path).values()
    c = configurations_of(merge_table(load_runs([str(tmp_path)])))[0]
    assert [run.seed for run in c.runs] == [1, 2]
    for key in CURVE_COLUMNS:
        np.testing.assert_array_equal(c.arrays[key], curve(runs, key), err_msg=key)
    total = runs[0]["totalWeights"]
    np.testing.assert_array_equal(c.arrays["changedFraction"], 1 - curve(runs, "remainingWeights") / total)
    assert c.arrays["changedFraction"][-1].min() > 0.05  # the scores did move
    np.testing.assert_array_equal(c.arrays["flippedFraction"], np.zeros((4, 2)))
    # Written to merged.npz next to the runs, loadable without pickles, same numbers.
    [(configuration, folder, stem)] = folder_outputs([c])
    assert stem == "merged" and folder == os.path.dirname(c.runs[0].path)
    path = write_merged(configuration, os.path.join(folder, "merged.npz"))
    with np.load(path, allow_pickle=False) as saved:
        for key in (*CURVE_COLUMNS, "changedFraction", "remainingFraction", "flippedFraction"):
            np.testing.assert_array_equal(saved[key], c.arrays[key], err_msg=key)
        assert saved["seeds"].tolist() == [1, 2]
        assert saved["runIds"].tolist() == [logs["runId"] for logs in runs]
        assert saved["epochs"].tolist() == [0, 1, 2, 3]
        np.testing.assert_array_equal(saved["remainingWeightsPerLayer"],
                                      np.stack([logs["remainingWeightsPerLayer"] for logs in runs], axis=1))
        assert json.loads(str(saved["config"]))["traintype"] == "FreePruning"
    assert not [n for n in os.listdir(folder) if n.startswith(".tmp-")]


def test_runs_of_different_lengths_use_the_common_epochs_and_name_the_shorter(trained_runs, tmp_path):
    # Cut-off copies of a real run: the trainer itself writes runs of one configuration at one length.
    [first, second] = read_logs(trained_runs, traintype="MinPruning")
    write_edited_copy(first, tmp_path, "aaaaaaaa", seed=1)
    write_edited_copy(second, tmp_path, "bbbbbbbb", epochs=2, seed=2)
    write_edited_copy(first, tmp_path, "cccccccc", epochs=3, seed=3)
    c = configurations_of(merge_table(load_runs([str(tmp_path)])))[0]
    assert c.epochs == 2
    np.testing.assert_array_equal(c.arrays["testAccuracy"],
                                  np.array([first["testAccuracy"][:2], second["testAccuracy"][:2],
                                            first["testAccuracy"][:2]]).T)
    [note] = c.notes
    assert "bbbbbbbb" in note and "cccccccc" in note and "aaaaaaaa" not in note
    assert "2 epochs" in note


def test_flipped_fraction_for_flip_masks_and_pruned_fraction_otherwise(trained_runs, tmp_path):
    copy_runs(trained_runs, tmp_path, traintype=["FreeFlipping", "FreePruning", "Baseline"], p1=0.5)
    merged = {c.get("traintype"): c for c in configurations_of(merge_table(load_runs([str(tmp_path)])))}
    for method, c in merged.items():
        [runs] = configurations(trained_runs, traintype=method, p1=0.5).values()  # by seed
        total = runs[0]["totalWeights"]
        per_layer = np.stack([logs["remainingWeightsPerLayer"] for logs in runs], axis=1)  # epochs, runs, layers, 6
        sizes = np.array(runs[0]["layerSizes"])
        if method == "FreeFlipping":
            assert c.get("masktype") == "flip"
            np.testing.assert_array_equal(c.arrays["changedFraction"], per_layer[..., 0].sum(axis=2) / total)
            np.testing.assert_array_equal(c.arrays["remainingFraction"], np.ones((4, 2)))
            np.testing.assert_array_equal(c.changed_per_layer(), per_layer[..., 0] / sizes)
            assert c.arrays["changedFraction"][-1].min() > 0.01
        else:
            np.testing.assert_array_equal(c.arrays["changedFraction"], 1 - curve(runs, "remainingWeights") / total)
            np.testing.assert_array_equal(c.arrays["flippedFraction"], np.zeros((4, 2)))
            np.testing.assert_array_equal(c.changed_per_layer(), per_layer[..., 1] / sizes)
    np.testing.assert_array_equal(merged["Baseline"].arrays["changedFraction"], np.zeros((4, 2)))


def test_unrelated_files_are_ignored(trained_runs, tmp_path):
    [path] = copy_runs(trained_runs, tmp_path, traintype="Baseline", seed=1)
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
    assert loaded["path"].tolist() == [str(path)]
    assert loaded.attrs["notes"] == [] and loaded.attrs["left_out"] == {}


def test_unparsable_logs_are_skipped_with_one_line_naming_the_file(trained_runs, tmp_path):
    [path] = copy_runs(trained_runs, tmp_path, traintype="Baseline", seed=1)
    broken = path.with_name("deadbeef_logs.json")
    broken.write_text(path.read_text()[:200])
    not_a_run = path.with_name("cafecafe_logs.json")
    not_a_run.write_text('{"hello": 1}')
    loaded = load_runs([str(tmp_path)])
    notes = loaded.attrs["notes"]
    assert len(loaded) == 1 and len(notes) == 2
    assert any("deadbeef_logs.json" in note and "cannot parse" in note for note in notes)
    assert any("cafecafe_logs.json" in note for note in notes)
    assert all("\n" not in note for note in notes)


@pytest.mark.parametrize("status", ["failed", "running", "interrupted"])
def test_unfinished_runs_are_left_out_and_said_so(trained_runs, tmp_path, status):
    [kept, unfinished] = read_logs(trained_runs, traintype="Baseline")
    copy_runs(trained_runs, tmp_path, traintype="Baseline", seed=kept["seed"])
    write_edited_copy(unfinished, tmp_path, "0badf00d", status=status)
    loaded = load_runs([str(tmp_path)])
    assert loaded["seed"].tolist() == [kept["seed"]]
    [note] = loaded.attrs["notes"]
    assert "0badf00d" in note and status in note
    assert loaded.attrs["left_out"] == {status: 1}


def test_a_just_reserved_empty_logs_file_is_left_out_quietly(trained_runs, tmp_path):
    [path] = copy_runs(trained_runs, tmp_path, traintype="Baseline", seed=1)
    open(os.path.join(os.path.dirname(path), "12345678_logs.json"), "w").close()
    loaded = load_runs([str(tmp_path)])
    assert len(loaded) == 1 and loaded.attrs["left_out"] == {"running": 1}
    assert "12345678_logs.json" in loaded.attrs["notes"][0]


def test_a_started_run_with_no_epoch_yet_is_left_out_as_just_starting(trained_runs, tmp_path):
    [kept, started] = read_logs(trained_runs, traintype="Baseline")
    copy_runs(trained_runs, tmp_path, traintype="Baseline", seed=kept["seed"])
    write_edited_copy(started, tmp_path, "0badf00d", epochs=0, status="running")
    for include_unfinished in (False, True):
        loaded = load_runs([str(tmp_path)], include_unfinished=include_unfinished)
        assert loaded["seed"].tolist() == [kept["seed"]] and loaded.attrs["left_out"] == {"running": 1}
        [note] = loaded.attrs["notes"]
        assert "0badf00d" in note and "just starting" in note


def test_a_run_that_failed_before_its_first_epoch_is_left_out_with_its_reason(trained_runs, tmp_path):
    [kept, failed] = read_logs(trained_runs, traintype="Baseline")
    copy_runs(trained_runs, tmp_path, traintype="Baseline", seed=kept["seed"])
    reason = "SNIP's global mask at --sparsity 0.9 leaves no path from the input to the output"
    write_edited_copy(failed, tmp_path, "0badf00d", epochs=0, status="failed", failureReason=reason)
    loaded = load_runs([str(tmp_path)])
    assert loaded["seed"].tolist() == [kept["seed"]] and loaded.attrs["left_out"] == {"failed": 1}
    [note] = loaded.attrs["notes"]
    assert "0badf00d" in note and f"failed before its first epoch: {reason}" in note


def test_a_configuration_is_every_identity_setting_but_seed_and_where_it_was_written(trained_runs, tmp_path):
    [logs, _] = read_logs(trained_runs, traintype="Baseline")
    write_edited_copy(logs, tmp_path / "a", "00000001", seed=1, config={"nruns": 3, "data_dir": "/data"})
    write_edited_copy(logs, tmp_path / "b", "00000002", seed=2, config={"nruns": 1, "xla": "on"})
    write_edited_copy(logs, tmp_path / "a", "00000003", seed=3, config={"batchsize": 50})
    write_edited_copy(logs, tmp_path / "a", "00000004", seed=4, dataset={**logs["dataset"], "name": "mnist"})
    merged = configurations_of(merge_table(load_runs([str(tmp_path / "a"), str(tmp_path / "b")])))
    assert sorted(len(c.runs) for c in merged) == [1, 1, 2]
    [pair] = [c for c in merged if len(c.runs) == 2]
    assert pair.get("dataset") == "mnist-subset" and pair.get("batchsize") == 20
    # Three configurations share one folder under a/: file names must not collide.
    stems = [(folder, stem) for _, folder, stem in folder_outputs(merged)]
    assert len(set(stems)) == len(stems) == 4


def test_merged_arrays_have_no_object_dtype(trained_runs):
    logs_by_id = {logs["runId"]: logs for logs in read_logs(trained_runs)}
    for c in configurations_of(merge_table(load_runs(trained_runs))):
        arrays = merged_arrays(c)
        assert all(np.asarray(v).dtype != object for v in arrays.values()), c.key
        first = logs_by_id[c.runs[0].run_id]
        assert arrays["layerNames"].tolist() == first["layerNames"]
        assert arrays["layerSizes"].tolist() == first["layerSizes"]
        assert c.get("dataset") == first["dataset"]["name"] == "mnist-subset"


def test_a_run_found_twice_counts_once_the_finished_newest_and_the_duplicates_are_named(trained_runs, tmp_path):
    [logs, other] = read_logs(trained_runs, traintype="Baseline")
    older = write_edited_copy(logs, tmp_path, "0000000a", testAccuracy=[0.1] * len(logs["testAccuracy"]))
    newer = write_edited_copy(logs, tmp_path, "0000000b")
    unfinished = write_edited_copy(logs, tmp_path, "0000000c", status="interrupted")
    os.utime(older, (1e9, 1e9))
    os.utime(unfinished, (2e9, 2e9))  # newest, but not finished
    copy_runs(trained_runs, tmp_path, traintype="Baseline", seed=other["seed"])  # another seed: no duplicate
    loaded = load_runs([str(tmp_path)])
    assert sorted(loaded["seed"]) == sorted([logs["seed"], other["seed"]])
    assert loaded.loc[loaded["seed"] == logs["seed"], "runId"].tolist() == ["0000000b"]
    assert loaded.attrs["duplicates"] == [(str(newer), [str(older)])]
    assert loaded.attrs["left_out"] == {"interrupted": 1, "duplicate": 1}
    [note] = [note for note in loaded.attrs["notes"] if note.startswith("Counted once")]
    assert "\n" not in note and "0000000a_logs.json" in note and "0000000b" not in note
    with_unfinished = load_runs([str(tmp_path)], include_unfinished=True)
    assert with_unfinished.loc[with_unfinished["seed"] == logs["seed"], "runId"].tolist() == ["0000000b"]
    assert sorted(map(os.path.basename, with_unfinished.attrs["duplicates"][0][1])) == [
        "0000000a_logs.json", "0000000c_logs.json"]
    everything = load_runs([str(tmp_path)], keep_duplicates=True)
    assert len(everything) == 3 and everything.attrs["duplicates"] == []


def expected_steps(logs, epochs):
    """Optimizer steps of `epochs` trained epochs: ceil(trainExamples / batchsize) each, the last batch partial."""
    return epochs * math.ceil(logs["dataset"]["trainExamples"] / logs["config"]["batchsize"])


def test_load_runs_costs_the_masks_and_their_training(trained_runs, tmp_path):
    frame = load_runs(trained_runs)
    logs_by_path = {logs["_path"]: logs for logs in read_logs(trained_runs)}
    for _, row in frame.iterrows():
        logs = logs_by_path[row["path"]]
        method, total = logs["config"]["traintype"], logs["totalWeights"]
        final = np.array(logs["remainingWeightsPerLayer"][-1])
        kept = int(final[:, 0].sum() + final[:, 2].sum())
        assert row["keptWeights"] == kept == logs["remainingWeights"][-1], method
        assert row["compressionRatio"] == total / kept
        # LeNet-300-100 on 28x28 images: 784*300 + 300*100 + 100*10 multiply-accumulates, one per kept weight.
        assert logs["inputShape"] == [28, 28, 1] and row["denseFlops"] == 266_200 == total
        assert row["maskedFlops"] == kept and row["theoreticalSpeedup"] == total / kept
        if method in ("Baseline", "FreeFlipping", "MinFlipping"):  # nothing removed: flipped weights still compute
            assert (row["keptWeights"], row["compressionRatio"], row["theoreticalSpeedup"]) == (total, 1.0, 1.0)
        else:
            assert row["compressionRatio"] > 1.0, method
        if method == "RandomPruning":  # layerwise sparsity S: each layer keeps round((1 - S) * size) weights
            assert row["compressionRatio"] == pytest.approx(1 / (1 - logs["config"]["sparsity"]), rel=1e-3)
        # tests/trained_runs.py's TINY: 60 training examples in batches of 20 (3 steps an epoch), 3 epochs; IMP's
        # --rounds 1 trains twice (round 0, the dense network, and round 1), each round from an epoch 0.
        assert (logs["dataset"]["trainExamples"], logs["config"]["batchsize"], logs["config"]["maxepochs"]) == (
            60, 20, 3)
        assert row["trainingSteps"] == (18 if method == "IMP" else 9), method
        seconds = [logs["epochSeconds"]] if method != "IMP" else [r["epochSeconds"] for r in logs["rounds"]]
        assert row["wallSeconds"] == math.fsum(value for values in seconds for value in values) > 0
        if method == "IMP":
            assert len(logs["rounds"]) == 2 and logs["rounds"][-1]["epochSeconds"] == logs["epochSeconds"]
    # Logs older than recordedEpochs: counted from the curves (IMP: every round's), the same.
    imp = read_logs(trained_runs, traintype="IMP")[0]
    older = write_edited_copy(imp, tmp_path, "0000000a", recordedEpochs=None)
    assert load_runs([str(older)]).iloc[0]["trainingSteps"] == 18
    # Stopped in round 1 after its epoch 1: round 0 is in `rounds`, round 1 in progress in the run's own curves.
    for recorded in (4 + 2, None):
        path = write_edited_copy(imp, tmp_path / str(recorded), "0000000b", epochs=2, status="interrupted",
                                 rounds=imp["rounds"][:1], recordedEpochs=recorded)
        interrupted = load_runs([str(path)], include_unfinished=True).iloc[0]
        assert interrupted["trainingSteps"] == expected_steps(imp, 3 + 1) == 12
        assert interrupted["wallSeconds"] == math.fsum(imp["rounds"][0]["epochSeconds"] + imp["epochSeconds"][:2])


@pytest.fixture(scope="module")
def k_starts_conv_run(tmp_path_factory):
    """LeNet-5 (convolutions) under K-starts: 2 candidates of 1 selection epoch, the fittest on to epoch 2; 50
    training examples in batches of 20 (the third batch partial)."""
    import contextlib
    import io

    import MaskTrainer
    root = tmp_path_factory.mktemp("k_starts")
    with contextlib.redirect_stdout(io.StringIO()):
        code = MaskTrainer.main(["--nettype", "LeNet5", "--dataset", "mnist-subset", "--limit", "50", "--batchsize",
                                 "20", "--maxepochs", "2", "--xla", "off", "--seed", "1", "--traintype", "KStarts",
                                 "--kstarts", "2", "--selection-epochs", "1", "--sparsity", "0.8", "--outputpath",
                                 str(root)])
    assert code == 0
    return root


def test_a_pruned_convolution_network_runs_faster_in_theory_and_k_starts_counts_every_candidate(k_starts_conv_run,
                                                                                               tmp_path):
    [logs] = read_logs(k_starts_conv_run)
    [row] = [row for _, row in load_runs(k_starts_conv_run).iterrows()]
    kept = np.array(logs["remainingWeightsPerLayer"][-1])[:, [0, 2]].sum(axis=1)
    positions = np.array([28 * 28, 10 * 10, 1, 1, 1])  # conv1, conv2 ('valid'), dense1, dense2, output
    assert logs["layerNames"] == ["conv1", "conv2", "dense1", "dense2", "output"]
    assert row["denseFlops"] == 416_520 == int(np.dot(positions, logs["layerSizes"]))
    assert row["maskedFlops"] == int(np.dot(positions, kept)) < 416_520
    assert row["theoreticalSpeedup"] == 416_520 / row["maskedFlops"] == pytest.approx(5, rel=1e-3)
    assert row["compressionRatio"] == logs["totalWeights"] / kept.sum()
    # 2 candidates x 1 selection epoch, then the fittest's second epoch: 3 epochs of ceil(50 / 20) = 3 steps.
    assert (logs["recordedEpochs"], len(logs["candidateTestAccuracy"])) == (2 * 2 + 1, 2)
    assert row["trainingSteps"] == expected_steps(logs, 3) == 9
    older = write_edited_copy(logs, tmp_path, "0000000a", recordedEpochs=None)
    assert load_runs([str(older)]).iloc[0]["trainingSteps"] == 9
    # The run's curves are the chosen candidate's (its selection epochs, then its own); each candidate's selection
    # seconds are in candidateSeconds, the chosen one's equal to its epochs' in the curves.
    chosen, seconds = logs["chosenCandidate"], logs["candidateSeconds"]
    assert len(seconds) == 2 and seconds[chosen] == math.fsum(logs["epochSeconds"][:2]) > 0
    assert row["wallSeconds"] == math.fsum(logs["epochSeconds"] + [seconds[1 - chosen]])
    # Logs of a version that did not keep them: unknown, not the chosen candidate's alone.
    older = write_edited_copy({key: value for key, value in logs.items() if key != "candidateSeconds"}, tmp_path,
                              "0000000c")
    assert math.isnan(load_runs([str(older)]).iloc[0]["wallSeconds"])
