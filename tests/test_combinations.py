"""Every combination of --nettype x --traintype x --initializer x --masktype x --activation, and of --device x
--precision, either runs to the end or is refused with one sentence, and the refused ones are exactly the impossible
ones.

The verdict is computed here, independently of the product: refused if --masktype is given and not in
`Method.masktypes`, if --initializer binary meets a network without a binary input scale (LeNet5, the ResNets), or if
a mask-selecting method (KStarts, DissipatingGradients, KStartsDG) needs more --selection-epochs
(default 2) than --maxepochs; and, from what this machine has (the walk trains in this process, on its Keras
backend): --device gpu when the backend sees no GPU, --device auto (or no --device) when the NVIDIA driver shows a
GPU that the backend cannot use, and --precision tf32 for a run that trains on the CPU. On a machine without a GPU,
--device gpu and --precision tf32 are refused, --device auto and cpu run. What is covered, in-process through
`MaskTrainer.main` (--maxepochs 0):

- all 7 x 15 x 4 x 6 x 5 = 12,600 combinations (masktype absent, mask, mask_rs, flip, topk, sample; ResNet8 and ResNet20
  stand for the deeper ResNets): each impossible one exits 2 with one line naming the culprit flag; each
  possible one passes validation;
- masktype absent: the validated RunConfig equals, settings resolved, that of the explicit default
  masktype (so running the explicit one runs it too);
- full runs (a run of a Conv network takes 1 to 3 s, mostly tracing its steps), over the 17 possible explicit
  (traintype, masktype) pairs: LeNet, every pair with every initializer, the activation rotating so that every
  initializer meets every activation (68 runs); Conv2 and LeNet5, every possible initializer x activation once, the
  pairs taking turns so that each runs at least once (Conv2 20, LeNet5 17); ResNet8, a deeper version of a network
  covered so, each pair once, over its 15 initializer x activation settings; Conv4 and Conv6, deeper versions of Conv2
  (one builder, one depth parameter), share the 17 pairs and 17 settings, 9 and 8. (The full cross, 220 LeNet runs,
  passed while it was run, through 2026-11-22; every initializer x activation on Conv4 and Conv6 until 2026-11-22, and
  every pair on each of them until 2026-12-07; all were cut to keep the suite within its time budget.)
- the three mask-selecting methods with --maxepochs 1 --selection-epochs 1 (and --kstarts 2 for the K-starts ones)
  on LeNet, Conv2, LeNet5 and ResNet8;
- --device (absent, auto, cpu, gpu) x --precision (absent, float32, tf32) with every network and method, 1,260
  combinations, the other three flags taking turns through their 120 settings: each refused exactly when impossible
  here (a refusal goes as far as the run gets: a --precision refusal after the data is read), each other one valid;
  and the full runs above take turns through the device and precision values that this machine can run (on a CPU:
  absent, auto, cpu x absent, float32), so each network runs with each.

tests/test_combinations_jax.py walks JAX, TensorFlow impossible to import: every initializer on every network family
it is valid for, every method, and --pack.

Measured: about 2 min on 2 quiet CPU cores, 3 to 4 min on busy ones (2026-12-04; the device and precision walk
takes 5 s of it); 4.5 min at a load of 3, 8 min at a load of 4 to 16, 310 s of CPU (2026-12-06).
"""

import contextlib
import io
import itertools
import json
import re
import shutil
import traceback

import keras
import pytest

import devices
import MaskTrainer
from config import ConfigError, parse_args
from initializers import INITIALIZERS
from methods import METHOD_NAMES, METHODS
from networks import ACTIVATIONS, NETWORK_NAMES, networks_where

# ResNet8 and ResNet20 stand for the deeper ResNets (one builder, one depth parameter) in the walk, and ResNet8
# alone in the runs. The field's networks (Conv8, VGG16, ResNet18) are walked and each runs a third of the methods.
NETWORKS = ("LeNet", "Conv2", "Conv4", "Conv6", "LeNet5", "ResNet8", "ResNet20", "Conv8", "VGG16", "ResNet18")
FIELD_NETWORKS = ("Conv8", "VGG16", "ResNet18")
HE_RESNETS = networks_where(lambda entry: "2020" in entry.variants)  # one builder, one depth parameter
RUN_NETWORKS = ("LeNet", "Conv2", "Conv4", "Conv6", "LeNet5", "ResNet8")
# Deeper versions of a network run above: each (traintype, masktype) pair once, not every initializer x activation.
PAIRS_ONLY = ("Conv4", "Conv6", "ResNet8")
# Conv4 and Conv6 add depth to Conv2 alike (one builder): they share the pairs, Conv4 the even rows, Conv6 the odd.
SHARED_PAIRS = {"Conv4": 0, "Conv6": 1}
SELECTING_NETWORKS = ("LeNet", "Conv2", "LeNet5", "ResNet8")
INITIALIZER_NAMES = ("glorot", "he", "heconstant", "binary")
MASKTYPES = (None, "mask", "mask_rs", "flip", "topk", "sample")  # None: --masktype left out
ACTIVATION_NAMES = ("relu", "swish", "sigmoid", "elu", "selu")
SELECTING_METHODS = ("KStarts", "DissipatingGradients", "KStartsDG")
NETWORKS_WITHOUT_BINARY_SCALE = ("LeNet5", "ResNet8", "ResNet20", "Conv8", "VGG16", "ResNet18")
DEFAULT_SELECTION_EPOCHS = 2
# What a mask-selecting method needs to select its mask within one epoch, quickly.
SELECTION_FLAGS = {"KStarts": ["--selection-epochs", "1", "--kstarts", "2"],
                   "DissipatingGradients": ["--selection-epochs", "1"],
                   "KStartsDG": ["--selection-epochs", "1", "--kstarts", "2"]}
DEVICE_NAMES = (None, "auto", "cpu", "gpu")  # None: --device left out
PRECISION_NAMES = (None, "float32", "tf32")  # None: --precision left out
PROGRAM_ERROR = "MaskTrainer.py: error: "


def arguments_of(nettype, traintype, initializer, masktype, activation, outputpath, maxepochs=0, extra=(),
                 device=None, precision=None, backend="tensorflow"):
    arguments = ["--nettype", nettype, "--traintype", traintype, "--initializer", initializer,
                 "--activation", activation, "--maxepochs", str(maxepochs), "--limit", "3", "--dataset",
                 "mnist-subset", "--seed", "5", "--outputpath", str(outputpath), *extra]
    arguments += ["--xla", "off"] if backend == "tensorflow" else ["--backend", backend]
    arguments += ["--device", device] if device else []
    arguments += ["--precision", precision] if precision else []
    return arguments + (["--masktype", masktype] if masktype else [])


def backend_sees_a_gpu():
    """Whether the Keras backend of this process (the one the walk's runs train on) can train on a GPU here."""
    if keras.backend.backend() == "jax":
        import jax
        return any(device.platform == "gpu" for device in jax.devices())
    import tensorflow as tf
    return bool(tf.config.list_physical_devices("GPU"))


GPU = backend_sees_a_gpu()


def trains_on_gpu(device):
    return GPU and (device or devices.DEFAULT_DEVICE) != "cpu"


def expected_device_refusal_flags(device, precision):
    """The flags among --device and --precision that this machine cannot honour; empty when it can."""
    device = device or devices.DEFAULT_DEVICE
    if not GPU and (device == "gpu" or (device == "auto" and devices.visible_gpus())):
        return ["--device"]
    return ["--precision"] if precision == "tf32" and not trains_on_gpu(device) else []


RUNNABLE_DEVICES = [device for device in DEVICE_NAMES if not expected_device_refusal_flags(device, None)]


def expected_refusal_flags(nettype, traintype, initializer, masktype, maxepochs=0,
                           selection_epochs=DEFAULT_SELECTION_EPOCHS):
    """The flags that make the combination impossible; empty when it must run."""
    flags = []
    if masktype is not None and masktype not in METHODS[traintype].masktypes:
        flags.append("--masktype")
    if initializer == "binary" and nettype in NETWORKS_WITHOUT_BINARY_SCALE:
        flags.append("--initializer")
    if traintype in SELECTING_METHODS and selection_epochs > maxepochs:
        flags.append("--selection-epochs")
    return flags


def run_main(arguments):
    """(exit code, stderr text) of MaskTrainer.main; an exception becomes code None and its traceback."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
            code = MaskTrainer.main(arguments)
    except BaseException:  # noqa: B036 - SystemExit or a crash: main must return a code, never raise
        return None, stderr.getvalue() + traceback.format_exc()
    return code, stderr.getvalue()


def refusal_problem(arguments, flags):
    """None if the run is refused with exit 2 and one line naming one of `flags`, else what went wrong."""
    return refused_problem(*run_main(arguments), flags)


def refused_problem(code, stderr, flags):
    lines = stderr.splitlines()
    if code != 2 or len(lines) != 1 or not lines[0].startswith(PROGRAM_ERROR):
        return f"expected a one-line refusal, got code {code} and stderr {stderr!r}"
    if not any(flag in lines[0] for flag in flags):
        return f"refusal names none of {flags}: {lines[0]!r}"
    return None


# Magnitude at initialisation over weights of one magnitude per layer (heconstant, binary: sqrt(2 / fan_in)) ranks
# whole layers, and its global mask at the default sparsity 0.9 keeps only the layers of smallest fan-in (in LeNet the
# output layer and part of dense2, none of dense1): in a network without shortcuts the run ends with the one-sentence
# "leaves no path" failure (exit 1), which is the finding, not a fault. (A ResNet keeps a path through its
# projections.)
COLLAPSING = {("MagnitudeAtInit", "heconstant"), ("MagnitudeAtInit", "binary")}


def collapses(nettype, traintype, initializer):
    from networks import network_entry
    from networks.architectures import Sequential
    return (traintype, initializer) in COLLAPSING and isinstance(network_entry(nettype).architecture, Sequential)


def collapse_problem(arguments):
    """None if the run fails with exit 1 and the one sentence of a mask without a path, else what went wrong."""
    code, stderr = run_main(arguments)
    lines = stderr.strip().splitlines()
    if code != 1 or len(lines) != 1 or "leaves no path from the input to the output" not in lines[0]:
        return f"expected the one-sentence no-path failure, got code {code} and stderr {stderr[-400:]!r}"
    return None


def finished_run_problem(arguments, outputpath):
    """None if the run exits 0 with one finished run log, else what went wrong; the outputs are removed."""
    code, stderr = run_main(arguments)
    logs = [json.loads(path.read_text()) for path in outputpath.rglob("*_logs.json")]
    shutil.rmtree(outputpath, ignore_errors=True)
    return finished_problem(code, stderr, [[log["status"], log["seed"]] for log in logs], seeds=[5])


def finished_problem(code, stderr, logs, seeds):
    """None if the run exited 0 with one finished log ([status, seed]) per seed of `seeds`, else what went wrong."""
    if code != 0 or "Traceback" in stderr:
        raised = [line for line in stderr.splitlines() if re.match(r"[\w.]*(Error|Exception)\b", line)]
        return f"expected exit 0, got code {code}, raising {raised[-1:]}, and stderr ending {stderr[-400:]!r}"
    if sorted(logs, key=str) != [["finished", seed] for seed in seeds]:
        return f"expected one finished run log for each seed of {seeds}, got [status, seed] {logs}"
    return None


def describe(combination):
    return " ".join(str(value) for value in combination)


def test_the_walk_covers_every_value_the_product_offers():
    assert set(NETWORKS) <= set(NETWORK_NAMES) and set(NETWORK_NAMES) - set(NETWORKS) <= set(HE_RESNETS)
    assert set(ACTIVATION_NAMES) == set(ACTIVATIONS)
    assert set(INITIALIZER_NAMES) == set(INITIALIZERS) and len(METHOD_NAMES) == 16
    assert set(DEVICE_NAMES[1:]) == set(devices.DEVICES) and set(PRECISION_NAMES[1:]) == set(devices.PRECISIONS)
    assert all(set(method.masktypes) <= set(MASKTYPES[1:]) and method.default_masktype in method.masktypes
               for method in METHODS.values())


def validation_problem(arguments, traintype, masktype):
    """None if a possible combination passes validation (and, masktype left out, is the run of the explicit
    default masktype), else what went wrong."""
    try:
        config, _ = parse_args(arguments)
    except ConfigError as error:
        return f"refused although possible: {error}"
    if masktype is None:
        explicit_masktype = METHODS[traintype].default_masktype
        explicit, _ = parse_args(arguments + ["--masktype", explicit_masktype])
        if config.to_dict() != explicit.to_dict() or config.folder() != explicit.folder():
            return f"masktype left out is not the same run as --masktype {explicit_masktype}"
    return None


def test_every_combination_is_refused_exactly_when_it_is_impossible(tmp_path):
    problems = []
    for combination in itertools.product(NETWORKS, METHOD_NAMES, INITIALIZER_NAMES, MASKTYPES, ACTIVATION_NAMES):
        nettype, traintype, initializer, masktype, activation = combination
        arguments = arguments_of(nettype, traintype, initializer, masktype, activation, tmp_path)
        flags = expected_refusal_flags(nettype, traintype, initializer, masktype) + expected_device_refusal_flags(
            None, None)
        problem = refusal_problem(arguments, flags) if flags else validation_problem(arguments, traintype, masktype)
        if problem:
            problems.append(f"{describe(combination)}: {problem}")
    assert not problems, f"{len(problems)} combinations went wrong, e.g.:\n" + "\n".join(problems[:20])


def test_every_device_and_precision_is_refused_exactly_when_this_machine_cannot_have_it(tmp_path):
    settings = list(itertools.product(INITIALIZER_NAMES, MASKTYPES, ACTIVATION_NAMES))
    problems, refused = [], 0
    combinations = itertools.product(NETWORKS, METHOD_NAMES, DEVICE_NAMES, PRECISION_NAMES)
    for number, (nettype, traintype, device, precision) in enumerate(combinations):
        initializer, masktype, activation = settings[number % len(settings)]
        arguments = arguments_of(nettype, traintype, initializer, masktype, activation, tmp_path, device=device,
                                 precision=precision)
        flags = (expected_refusal_flags(nettype, traintype, initializer, masktype)
                 + expected_device_refusal_flags(device, precision))
        refused += bool(flags)
        problem = refusal_problem(arguments, flags) if flags else validation_problem(arguments, traintype, masktype)
        if problem:
            combination = (nettype, traintype, initializer, masktype, activation, device, precision)
            problems.append(f"{describe(combination)}: {problem}")
    total = len(NETWORKS) * len(METHOD_NAMES) * len(DEVICE_NAMES) * len(PRECISION_NAMES)
    assert number + 1 == total and 0 < refused < total
    assert not problems, f"{len(problems)} combinations went wrong, e.g.:\n" + "\n".join(problems[:20])


def possible_pairs():
    """(traintype, masktype) pairs that run at --maxepochs 0 with an explicit masktype (17 of them)."""
    return [(traintype, masktype) for traintype in METHOD_NAMES for masktype in MASKTYPES[1:]
            if masktype in METHODS[traintype].masktypes and traintype not in SELECTING_METHODS]


def combinations_to_run(nettype):
    """(traintype, initializer, masktype, activation) of the explicit combinations run in full."""
    pairs = possible_pairs()
    if nettype == "LeNet":
        # Every pair with every initializer; for a fixed initializer the 15 pairs run through all 5 activations.
        chosen = [(traintype, initializer, masktype, ACTIVATION_NAMES[(pair + number) % len(ACTIVATION_NAMES)])
                  for pair, (traintype, masktype) in enumerate(pairs)
                  for number, initializer in enumerate(INITIALIZER_NAMES)]
    else:
        # Every possible initializer x activation once, the pairs taking turns (each at least once); the networks
        # that only add depth to one already covered run each pair once.
        settings = [(initializer, activation) for initializer in INITIALIZER_NAMES for activation in ACTIVATION_NAMES
                    if not expected_refusal_flags(nettype, "Baseline", initializer, None)]
        if nettype in PAIRS_ONLY:
            settings = [settings[index * len(settings) // len(pairs)] for index in range(len(pairs))]
        chosen = []
        for row in range(max(len(settings), len(pairs))):  # more pairs than settings: settings come round again
            initializer, activation = settings[row % len(settings)]
            traintype, masktype = pairs[row % len(pairs)]
            chosen.append((traintype, initializer, masktype, activation))
        if nettype in SHARED_PAIRS:
            chosen = chosen[SHARED_PAIRS[nettype]::len(SHARED_PAIRS)]
    return [(traintype, initializer, masktype, activation) for traintype, initializer, masktype, activation in chosen
            if not expected_refusal_flags(nettype, traintype, initializer, masktype)]


@pytest.mark.parametrize("nettype", RUN_NETWORKS)
def test_every_possible_combination_runs_to_the_end(tmp_path, nettype):
    chosen = combinations_to_run(nettype)
    sharing = list(SHARED_PAIRS) if nettype in SHARED_PAIRS else [nettype]
    walked = [combination for name in sharing for combination in combinations_to_run(name)]
    assert {(traintype, masktype) for traintype, _, masktype, _ in walked} == set(possible_pairs())
    available = 15 if nettype in NETWORKS_WITHOUT_BINARY_SCALE else 20
    assert len({(initializer, activation) for _, initializer, _, activation in walked}) == (
        min(len(possible_pairs()), available) if nettype in PAIRS_ONLY else available)
    problems = []
    for number, (traintype, initializer, masktype, activation) in enumerate(chosen):
        outputpath = tmp_path / str(number)
        # The device and precision values this machine runs take turns (on a CPU: absent/auto/cpu x absent/float32).
        device = RUNNABLE_DEVICES[number % len(RUNNABLE_DEVICES)]
        precision = ("tf32" if trains_on_gpu(device) else "float32") if number % 2 else None
        arguments = arguments_of(nettype, traintype, initializer, masktype, activation, outputpath, device=device,
                                 precision=precision)
        problem = (collapse_problem(arguments) if collapses(nettype, traintype, initializer)
                   else finished_run_problem(arguments, outputpath))
        if problem:
            combination = (nettype, traintype, initializer, masktype, activation, device, precision)
            problems.append(f"{describe(combination)}: {problem}")
        if nettype != "LeNet":
            # Drops the finished run's graphs, which halves the memory; Keras' full garbage collection (0.5 s a call
            # here) is left to Python's own.
            keras.backend.clear_session(free_memory=False)
    assert not problems, f"{len(problems)} of {len(chosen)} runs went wrong:\n" + "\n".join(problems[:20])


@pytest.mark.parametrize("nettype", SELECTING_NETWORKS)
def test_mask_selecting_methods_run_when_the_selection_fits_in_the_epochs(tmp_path, nettype):
    problems = []
    for traintype in SELECTING_METHODS:
        assert not expected_refusal_flags(nettype, traintype, "he", None, maxepochs=1, selection_epochs=1)
        outputpath = tmp_path / traintype
        arguments = arguments_of(nettype, traintype, "he", None, "relu", outputpath, maxepochs=1,
                                 extra=[*SELECTION_FLAGS[traintype], "--batchsize", "2"])
        problem = finished_run_problem(arguments, outputpath)
        if problem:
            problems.append(f"{traintype}: {problem}")
    keras.backend.clear_session(free_memory=False)
    assert not problems, "\n".join(problems)


# Each method on one of the field's networks. On Conv8, the smallest, the methods whose own steps need training (the
# selecting methods' selection epoch, IMP's round, SynFlow and Supermask) train an epoch. On VGG16 and ResNet18 one
# method trains an epoch (its compiled step costs 7-10 s here) and the others run --maxepochs 0: built, their masks
# made (the criteria score the network), evaluated and saved, in 2-5 s each.
FIELD_NETWORK_METHODS = {
    "Conv8": ("KStarts", "DissipatingGradients", "KStartsDG", "SynFlow", "Supermask", "IMP"),
    "VGG16": ("Baseline", "EdgePopup", "SNIP", "GraSP"),
    "ResNet18": ("FreePruning", "MinPruning", "FreeFlipping", "MinFlipping", "RandomPruning", "MagnitudeAtInit"),
}
FIELD_NETWORK_TRAINED = {"Conv8": FIELD_NETWORK_METHODS["Conv8"], "VGG16": ("Baseline",), "ResNet18": ("FreePruning",)}
CHEAP_FLAGS = {**SELECTION_FLAGS, "IMP": ["--rounds", "1"], "SynFlow": ["--synflow-iterations", "10"]}


@pytest.mark.parametrize("nettype", FIELD_NETWORKS)
def test_the_field_networks_train_with_every_method(tmp_path, nettype):
    assert sorted(sum(FIELD_NETWORK_METHODS.values(), ())) == sorted(METHOD_NAMES)
    problems = []
    for traintype in FIELD_NETWORK_METHODS[nettype]:
        outputpath = tmp_path / traintype
        extra = [*CHEAP_FLAGS.get(traintype, []), "--batchsize", "2"]
        maxepochs = int(traintype in FIELD_NETWORK_TRAINED[nettype])
        problem = finished_run_problem(arguments_of(nettype, traintype, "he", None, "relu", outputpath, maxepochs,
                                                    extra=extra), outputpath)
        if problem:
            problems.append(f"{traintype}: {problem}")
        keras.backend.clear_session(free_memory=False)
    assert not problems, "\n".join(problems)
