"""tests/test_combinations.py's walk on JAX, so that a combination which crashes on one backend cannot pass unseen:
every initializer on every network family, every method, and --pack, each run either finishing or refused with one
sentence as the TensorFlow walk judges it.

One subprocess (tests/jax_combinations.py) makes many MaskTrainer.main calls on Keras' JAX backend, with TensorFlow
impossible to import, as on the GPU machines, which have none. What is covered:

- every initializer on every network family it is valid for (LeNet; Conv2, and Conv4 with its own binary scale;
  LeNet5; ResNet8), each with one of the 16 methods (LeNet's binary cell with two), as a pack of two (--pack 2
  --nruns 2: every method packs, training/driver.py), LeNet training an epoch and the others --maxepochs 0 (16 packs);
- --pack 3 --nruns 2 (one pack of 2, whatever the method) on each family, the initializers taking turns (4 packs);
  each pack ends with one finished logs file per seed.

A solo run on JAX is the same driver with a pack of one (training/steps_packed.py): every method runs solo on JAX in
tests/test_backend_jax.py and packed, against its solo run, in tests/test_pack_methods.py. With the binary input scale
back on Keras' Rescaling (a preprocessing layer, which asks TensorFlow whether it runs in a tf.data graph), exactly its
binary runs fail, with ImportError (checked 2026-12-06).

Measured (2026-12-07, the quiet 2-core machine): about 90 s for the 20 packs (144 s for the 36 solo runs and packs
walked before).
"""

import json
import os
import subprocess
import sys

import pytest

from conftest import REPOSITORY
from methods import METHOD_NAMES
from test_combinations import (
    ACTIVATION_NAMES,
    INITIALIZER_NAMES,
    SELECTION_FLAGS,
    arguments_of,
    expected_refusal_flags,
    finished_problem,
)

pytestmark = pytest.mark.slow  # a subprocess of 20 packs: not for the quick tier

FAMILIES = {"LeNet": ("LeNet",), "Conv": ("Conv2", "Conv4"), "LeNet5": ("LeNet5",), "ResNet": ("ResNet8",)}
# The methods in the order they take the cells of method_walk, each where it costs least: the selecting methods,
# SynFlow and EdgePopup on LeNet, the one network that trains an epoch here (a compiled training step of the others
# costs seconds each; they run --maxepochs 0, which still evaluates them), where SynFlow's 100 iterations cost a tenth
# of what they cost on Conv2 and EdgePopup's top-k search over Conv2's 3.2 million dense weights is absent (a pack of
# two on Conv2: 39 s of CPU; 2026-12-07); Supermask, SNIP and GraSP, which cost 2 to 5 times more on LeNet5 or a
# ResNet, on Conv2; the cheap ones on the rest.
METHOD_ORDER = ("KStarts", "DissipatingGradients", "KStartsDG", "SynFlow", "EdgePopup",  # LeNet
                "Supermask", "SNIP", "GraSP", "Baseline",  # Conv2
                "FreePruning",  # Conv4
                "MinPruning", "FreeFlipping", "MinFlipping",  # LeNet5
                "IMP", "RandomPruning", "MagnitudeAtInit")  # ResNet8
# 16 methods, 15 cells: this one takes two.
DOUBLED_CELL = ("LeNet", "binary")
TRAINED = ("LeNet",)
CHEAP_FLAGS = {**SELECTION_FLAGS, "IMP": ["--rounds", "1"]}
PACK_NETWORKS = ("Conv2", "LeNet", "LeNet5", "ResNet8")  # one of each family


def method_walk():
    """(nettype, initializer, traintype): every initializer on every network family it is valid for (Conv4, with its
    own binary scale, binary only), each with one of the 16 methods (DOUBLED_CELL takes two)."""
    cells = [(nettype, initializer) for nettype in ("LeNet", "Conv2", "Conv4", "LeNet5", "ResNet8")
             for initializer in INITIALIZER_NAMES if not expected_refusal_flags(nettype, "Baseline", initializer, None)
             and (nettype != "Conv4" or initializer == "binary")]
    cells.insert(cells.index(DOUBLED_CELL), DOUBLED_CELL)
    return [(*cell, traintype) for cell, traintype in zip(cells, METHOD_ORDER, strict=True)]


def pack_walk():
    """(nettype, initializer, traintype, pack) of --nruns 2 beside method_walk's packs of 2: --pack 3 (more than the
    runs: one pack of 2, whatever the method) on each family, the families and the initializers taking turns (he for
    binary where the network has no binary scale)."""
    packs = [(PACK_NETWORKS[(index + 1) % 4], METHOD_NAMES[index], 3) for index in range(4)]
    walk = []
    for number, (nettype, traintype, pack) in enumerate(packs):
        initializer = INITIALIZER_NAMES[(number + 2) % 4]
        if expected_refusal_flags(nettype, traintype, initializer, None):
            initializer = "he"
        walk.append((nettype, initializer, traintype, pack))
    return walk


def jax_arguments(nettype, initializer, traintype, number, outputpath, extra=()):
    maxepochs = 1 if nettype in TRAINED else 0
    assert not expected_refusal_flags(nettype, traintype, initializer, None, maxepochs, selection_epochs=1)
    return arguments_of(nettype, traintype, initializer, None, ACTIVATION_NAMES[number % 5], outputpath, maxepochs,
                        [*CHEAP_FLAGS.get(traintype, []), *extra], backend="jax")


@pytest.fixture(scope="module")
def jax_walk(tmp_path_factory):
    """({description: (what the run gave, the check that judges it)}, the subprocess's other findings)."""
    root = tmp_path_factory.mktemp("jax_walk")
    checks, commands = {}, []
    for number, (nettype, initializer, traintype) in enumerate(method_walk()):
        commands.append(jax_arguments(nettype, initializer, traintype, number, root / str(len(commands)),
                                      ["--pack", "2", "--nruns", "2"]))
        checks[f"{nettype} {initializer} {traintype} --pack 2"] = lambda run: finished_problem(**run, seeds=[5, 6])
    for number, (nettype, initializer, traintype, pack) in enumerate(pack_walk()):
        commands.append(jax_arguments(nettype, initializer, traintype, number, root / str(len(commands)),
                                      ["--pack", str(pack), "--nruns", "2"]))
        checks[f"{nettype} {initializer} {traintype} --pack {pack}"] = lambda run: finished_problem(**run, seeds=[5, 6])
    (root / "commands.json").write_text(json.dumps([[str(argument) for argument in command] for command in commands]))
    # XLA's CPU code without LLVM's optimisations, as for every test (tests/conftest.py): the walk looks for crashes
    # and refusals, not values.
    finished = subprocess.run([sys.executable, "tests/jax_combinations.py", str(root / "commands.json")],
                              cwd=REPOSITORY, capture_output=True, text=True, timeout=900,
                              env={**os.environ, "KERAS_BACKEND": "jax"})
    assert finished.returncode == 0, finished.stderr[-3000:]
    results = json.loads(finished.stdout.strip().splitlines()[-1])
    runs = [{key: run[key] for key in ("code", "stderr", "logs")} for run in results.pop("runs")]
    return {name: (run, check) for (name, check), run in zip(checks.items(), runs, strict=True)}, results


def test_the_walk_meets_every_initializer_with_every_family_and_packs_every_method():
    walked, packed = method_walk(), pack_walk()
    family = {nettype: name for name, members in FAMILIES.items() for nettype in members}
    assert {(family[nettype], initializer) for nettype, initializer, _ in walked} == {
        (name, initializer) for name, members in FAMILIES.items() for initializer in INITIALIZER_NAMES
        if not expected_refusal_flags(members[0], "Baseline", initializer, None)}
    assert sorted(traintype for _, _, traintype in walked) == sorted(METHOD_NAMES)
    assert {nettype for nettype, _, _, _ in packed} == set(PACK_NETWORKS)


def test_every_initializer_and_method_runs_and_packs_on_jax_without_tensorflow(jax_walk):
    runs, findings = jax_walk
    assert findings["backend"] == "jax" and findings["tensorflow modules"] == []
    assert findings["tensorflow"].startswith("ModuleNotFoundError: No module named 'tensorflow'")
    problems = [f"{name}: {problem}" for name, (run, check) in runs.items() if (problem := check(run))]
    assert len(runs) == 16 + 4 and not problems, "\n".join(problems)
