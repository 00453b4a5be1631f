"""Every method packs (training/driver.py: a solo run is a pack of one, and a pack runs each member's method hooks
on its own variables): for each --traintype, `MaskTrainer.py --backend jax --nruns 2 --pack 2` trains both seeds in
one pack, and every epoch of each member, its phases included (IMP's rounds, K-starts' candidates, the selection
epochs of dissipating gradients, criteria scored at initialisation, Supermask's sampled evaluation), equals its solo
run's within the pack tolerance of tests/test_pack.py (rtol 1e-5, atol 5e-6); counts and choices exactly.

JAX runs in one subprocess (this test process runs Keras on TensorFlow; a process has one backend).
"""

import json
import math
import subprocess
import sys

import pytest

from conftest import REPOSITORY
from methods import METHOD_NAMES
from test_pack import by_seed, run_logs

pytestmark = pytest.mark.slow  # every method and two checks, packed and solo: tiny runs in one subprocess

COMMON = ["--backend", "jax", "--dataset", "mnist-subset", "--limit", "100", "--batchsize", "20", "--maxepochs", "2",
          "--seed", "3", "--nruns", "2"]
# The methods' own flags, each as small as still shows its phases.
OWN_FLAGS = {"IMP": ["--rounds", "1"], "KStarts": ["--kstarts", "2", "--selection-epochs", "1"],
             "KStartsDG": ["--kstarts", "2", "--selection-epochs", "1"],
             "DissipatingGradients": ["--selection-epochs", "1"], "Supermask": ["--mask-samples", "2"]}
# Sanity checks of a learned mask, which each member puts into its own variables for its evaluations and takes out
# again (training/learned_mask_checks.py).
CHECKED = {"FreePruning reinit": ["--traintype", "FreePruning", "--sanity-check", "reinit"],
           "Supermask shuffle": ["--traintype", "Supermask", "--mask-samples", "2", "--sanity-check", "shuffle"]}
CASES = {**{traintype: ["--traintype", traintype, *OWN_FLAGS.get(traintype, [])] for traintype in METHOD_NAMES},
         **CHECKED}
# What is compared: every per-epoch curve and every method's own record (rounds, candidates, the deterministic
# mask's figures), whichever a method's logs hold.
COMPARED = ("trainLoss", "valLoss", "testLoss", "trainAccuracy", "valAccuracy", "testAccuracy", "remainingWeights",
            "remainingWeightsPerLayer", "maskSparsity", "maskSparsityPerLayer", "rounds", "candidateFitness",
            "candidateMagnitude", "candidateGradient", "candidateTestAccuracy", "chosenCandidate",
            "valLossDeterministic", "testLossDeterministic", "valAccuracyDeterministic", "testAccuracyDeterministic")



@pytest.fixture(scope="module")
def methods_packed_and_solo(tmp_path_factory):
    root = tmp_path_factory.mktemp("pack_methods")
    arguments = {}
    for case, own in CASES.items():
        flags, folder = [*COMMON, *own], root / case.replace(" ", "-")
        arguments[f"{case} packed"] = [*flags, "--pack", "2", "--outputpath", str(folder / "packed")]
        arguments[f"{case} solo"] = [*flags, "--outputpath", str(folder / "solo")]
    finished = subprocess.run([sys.executable, "tests/main_calls.py", json.dumps(arguments)], cwd=REPOSITORY,
                              capture_output=True, text=True, timeout=1200)
    assert finished.returncode == 0, finished.stderr[-3000:]
    results = json.loads(finished.stdout.strip().splitlines()[-1])
    for case in CASES:
        for form in ("packed", "solo"):
            results[f"{case} {form}"]["logs"] = by_seed(run_logs(root / case.replace(" ", "-") / form))
    return results


def differences(packed, solo, where=""):
    """Where two logs values differ: numbers beyond the pack tolerance (integers and booleans exactly); times
    (epochSeconds) are not compared."""
    if isinstance(solo, dict):
        if not isinstance(packed, dict) or packed.keys() != solo.keys():
            return [f"{where}: keys {sorted(packed) if isinstance(packed, dict) else packed} != {sorted(solo)}"]
        return [found for key in solo if key != "epochSeconds"
                for found in differences(packed[key], solo[key], f"{where}.{key}")]
    if isinstance(solo, list):
        if not isinstance(packed, list) or len(packed) != len(solo):
            return [f"{where}: {packed} != {solo}"]
        return [found for index, (one, other) in enumerate(zip(packed, solo)) for found in
                differences(one, other, f"{where}[{index}]")]
    if isinstance(solo, float) and isinstance(packed, (int, float)) and not isinstance(packed, bool):
        return [] if math.isclose(packed, solo, rel_tol=1e-5, abs_tol=5e-6) else [f"{where}: {packed} != {solo}"]
    return [] if packed == solo else [f"{where}: {packed} != {solo}"]


@pytest.mark.parametrize("traintype", list(CASES))
def test_each_member_of_a_pack_trains_as_its_solo_run(methods_packed_and_solo, traintype):
    packed, solo = (methods_packed_and_solo[f"{traintype} {form}"] for form in ("packed", "solo"))
    assert packed["code"] == 0 and solo["code"] == 0, packed["output"][-2000:] + solo["output"][-2000:]
    assert "Training the 2 runs above together, in one pack" in packed["output"]
    assert sorted(packed["logs"]) == sorted(solo["logs"]) == [3, 4]
    assert len({run["pack"]["packId"] for run in packed["logs"].values()}) == 1
    assert all("pack" not in run for run in solo["logs"].values())
    found = []
    for seed, run in packed["logs"].items():
        twin = solo["logs"][seed]
        assert run["status"] == twin["status"] == "finished"
        compared = [key for key in COMPARED if key in twin]
        assert [key for key in COMPARED if key in run] == compared
        found += differences({key: run[key] for key in compared}, {key: twin[key] for key in compared},
                             f"seed {seed}")
    assert not found, "\n".join(found[:20])
    first, second = (packed["logs"][seed]["trainLoss"] for seed in (3, 4))
    assert first != second  # two runs, not one twice
