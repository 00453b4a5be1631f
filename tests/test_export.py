"""Export.py: supermask and plain Keras round trips on tiny real runs, --check, and bad files in one sentence."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import Export
from datasets import load_dataset
from export import ExportError, SupermaskError, find_finished_run, load_supermask, write_supermask

TINY = dict(dataset="mnist-subset", limit=200, batchsize=20, maxepochs=2, lr=0.01)


def train(tmp_path, traintype, masktype=None, **extra):
    """A finished run; returns (its logs path, the trained model's predictions on the first 50 test images)."""
    from config import RunConfig
    config = RunConfig.from_settings({"traintype": traintype, "masktype": masktype, "seed": 3,
                                      "outputpath": str(tmp_path), **TINY, **extra})
    dataset = load_dataset("mnist-subset", "mnist", limit=TINY["limit"])
    experiment = config.validate().family.experiment_class(config, dataset, print_line=lambda line: None)
    experiment.run()
    predictions = np.asarray(experiment.model.predict(dataset.x_test[:50], verbose=0))
    return experiment.path("logs"), predictions, dataset


@pytest.mark.parametrize("traintype, masktype", [("FreePruning", "mask"), ("MinPruning", "mask_rs"),
                                                 ("FreeFlipping", "flip"), ("EdgePopup", "topk")])
def test_a_supermask_loads_as_a_model_that_predicts_exactly_what_the_trained_one_did(tmp_path, traintype, masktype):
    logs_path, predictions, dataset = train(tmp_path, traintype, masktype)
    run = find_finished_run(logs_path)
    path = tmp_path / "run_supermask.npz"
    write_supermask(run, path)
    model = load_supermask(path)
    np.testing.assert_array_equal(np.asarray(model.predict(dataset.x_test[:50], verbose=0)), predictions)
    masks = run.arrays("final_masks")
    float_bytes = 4 * run.logs["totalWeights"]
    assert path.stat().st_size < float_bytes / 20  # one bit per weight, compressed, against 32
    assert any(np.any(mask <= 0) for mask in masks.values())  # the masks did change: a real round trip


def test_a_tampered_or_truncated_supermask_is_refused_in_one_sentence(tmp_path):
    logs_path, _, _ = train(tmp_path, "FreePruning")
    path = tmp_path / "supermask.npz"
    write_supermask(find_finished_run(logs_path), path)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(SupermaskError, match="not a readable supermask file"):
        load_supermask(truncated)
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays["kernel_checksum"] = np.array("0" * 64)  # as if another library version had drawn the kernels
    altered = tmp_path / "altered.npz"
    np.savez_compressed(altered, **arrays)
    with pytest.raises(SupermaskError, match="another library version or backend draws other numbers"):
        load_supermask(altered)


def test_methods_that_train_weights_take_the_keras_format(tmp_path):
    logs_path, _, _ = train(tmp_path, "Baseline")
    with pytest.raises(ExportError, match="use --format keras"):
        write_supermask(find_finished_run(logs_path), tmp_path / "x.npz")


LOAD_ELSEWHERE = """
import json, sys
import keras, numpy as np
found = {}
for name in sys.argv[2:]:
    model = keras.saving.load_model(f"{name}.keras")
    found[name] = {"layers": [type(layer).__name__ for layer in model.layers],
                   "predictions": model.predict(np.load(sys.argv[1]), verbose=0).tolist()}
print(json.dumps(found))
"""
KERAS_CASES = {"MinPruning": {"traintype": "MinPruning", "masktype": "mask_rs"},
               "IMP": {"traintype": "IMP", "rounds": 1},
               "SNIP": {"traintype": "SNIP", "scoring_examples": 50},
               "Conv2-FreeFlipping": {"traintype": "FreeFlipping", "nettype": "Conv2", "limit": 60},
               "ResNet8-2020-frozen": {"traintype": "FreePruning", "nettype": "ResNet8", "resnet_variant": "2020",
                                       "batchnorm_affine": "frozen", "limit": 60}}


@pytest.fixture(scope="module")
def keras_exports(tmp_path_factory):
    """Runs exported with --format keras, then opened in one fresh process without this project on its path."""
    folder = tmp_path_factory.mktemp("keras_exports")
    expected = {}
    for name, settings in KERAS_CASES.items():
        logs_path, predictions, dataset = train(folder / name, **settings)
        assert Export.main([str(logs_path), "--format", "keras", "--output-dir", str(folder / name / "out")]) == 0
        (keras_path,) = (folder / name / "out").glob("*_model.keras")
        keras_path.rename(folder / f"{name}.keras")
        expected[name] = predictions
    np.save(folder / "images.npy", dataset.x_test[:50])
    elsewhere = folder / "elsewhere"
    elsewhere.mkdir()
    finished = subprocess.run([sys.executable, "-c", LOAD_ELSEWHERE, str(folder / "images.npy"),
                               *[str(folder / name) for name in KERAS_CASES]], cwd=elsewhere, capture_output=True,
                              text=True, timeout=300, env={"PATH": "/usr/bin:/bin", "KERAS_BACKEND": "tensorflow"})
    assert finished.returncode == 0, finished.stderr
    loaded = json.loads(finished.stdout.strip().splitlines()[-1])
    return {name: (loaded[str(folder / name)], expected[name]) for name in KERAS_CASES}


@pytest.mark.parametrize("name", list(KERAS_CASES))
def test_the_keras_file_opens_without_this_project_and_predicts_as_the_run(keras_exports, name):
    loaded, predictions = keras_exports[name]
    assert not {"MaskedDense", "MaskedConv2D"} & set(loaded["layers"])
    np.testing.assert_allclose(np.array(loaded["predictions"]), predictions, rtol=1e-5, atol=1e-6)


def test_check_passes_on_a_real_run_and_fails_when_its_final_masks_were_altered(tmp_path, capsys):
    logs_path, _, _ = train(tmp_path, "FreePruning")
    assert Export.main([str(logs_path), "--check"]) == 0
    output = capsys.readouterr().out
    assert output.count("equal to the run's logged final test accuracy") == 2
    assert "_supermask.npz: " in output and "of the 1,064,800 bytes of its float32 weights" in output
    run = find_finished_run(logs_path)
    masks = run.arrays("final_masks")
    masks["output"] = np.zeros_like(masks["output"])  # the output layer cut off: the network answers at chance
    np.savez_compressed(run.path("final_masks"), **masks)
    assert Export.main([str(logs_path), "--check", "--format", "keras"]) == 1
    assert "differs from the run's logged final test accuracy" in capsys.readouterr().out
    # damaged files: a truncated archive, and logs whose settings were overwritten with null
    with open(run.path("final_masks"), "r+b") as handle:
        handle.truncate(300)
    broken_logs = tmp_path / "elsewhere" / os.path.basename(logs_path)
    broken_logs.parent.mkdir()
    with open(logs_path, encoding="utf-8") as handle:
        broken_logs.write_text(json.dumps({**json.load(handle), "config": None}))
    assert Export.main([str(logs_path), "--check"]) == 2
    assert Export.main([str(broken_logs)]) == 2
    truncated, unreadable = capsys.readouterr().err.strip().splitlines()
    assert truncated.startswith(f"Export.py: error: Cannot read {run.path('final_masks')} (BadZipFile: ")
    run_files = os.path.join(os.path.dirname(logs_path), f"{run.run_id}_*")
    assert truncated.endswith(f"remove them (rm -r {run_files}) and train the run again with the same settings and "
                              "seed.")
    assert unreadable == (f"Export.py: error: {broken_logs} is not a readable run log; pass the _logs.json file of a "
                          "run.")


def test_bad_input_ends_in_one_sentence(tmp_path, capsys):
    assert Export.main([str(tmp_path / "missing_logs.json")]) == 2
    assert Export.main(["0123abcd", "--outputpath", str(tmp_path)]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 2 and all(line.startswith("Export.py: error: No run") for line in error)
