"""--recipe: each method's own training recipe (methods/recipes.py), filled in where the command line is silent, logged,
and named on a run's first line when the run trains far from it."""

import contextlib
import io
import json

import pytest

import MaskTrainer
from config import ConfigError, RunConfig, parse_args
from methods.recipes import COMMON, RECIPES, far_from_own, own_recipe


def test_paper_fills_the_settings_the_command_line_leaves_out_and_is_the_same_run_as_giving_them():
    config = parse_args(["--traintype", "Supermask", "--recipe", "paper", "--maxepochs", "40"])[0]
    assert (config.optimizer, config.lr, config.momentum, config.batchsize, config.maxepochs) == \
        ("sgd", 100.0, 0.9, 250, 40)  # --maxepochs given: it wins
    explicit = parse_args(["--traintype", "Supermask", "--optimizer", "sgd", "--lr", "100", "--momentum", "0.9",
                           "--batchsize", "250", "--maxepochs", "40"])[0]
    assert config.identity() == explicit.identity() and config.folder() == explicit.folder()
    assert config.to_dict()["recipe"] == "paper" and explicit.to_dict()["recipe"] == "common"


def test_imp_trains_frankle_and_carbins_iterations_as_epochs():
    config = parse_args(["--traintype", "IMP", "--nettype", "Conv6", "--recipe", "paper"])[0]
    assert (config.optimizer, config.lr, config.batchsize, config.maxepochs) == ("adam", 3e-4, 60, 40)  # 30K x 60 / 45K
    lenet = parse_args(["--traintype", "IMP", "--recipe", "paper"])[0]
    assert (lenet.lr, lenet.batchsize, lenet.maxepochs) == (1.2e-3, 60, 55)  # 50K x 60 / 55K = 54.5


def test_the_methods_of_the_common_recipe_are_unchanged_by_paper():
    for traintype in ("FreePruning", "MinFlipping", "Baseline", "KStarts"):
        for nettype in ("LeNet", "ResNet20"):
            assert own_recipe(traintype, nettype) is COMMON
            paper = RunConfig.from_settings({"traintype": traintype, "nettype": nettype, "recipe": "paper"})
            common = RunConfig.from_settings({"traintype": traintype, "nettype": nettype})
            assert paper.identity() == common.identity()  # the ResNets keep their own drops and augmentation


def test_a_method_without_a_recorded_recipe_is_refused_in_one_sentence():
    with pytest.raises(ConfigError, match=r"no recipe of GraSP's own is recorded for LeNet \(it has one for VGG16\)"):
        RunConfig.from_settings({"traintype": "GraSP", "recipe": "paper"})
    errors = io.StringIO()
    with contextlib.redirect_stderr(errors):
        code = MaskTrainer.main(["--traintype", "EdgePopup", "--nettype", "LeNet", "--recipe", "paper"])
    assert code == 2 and len(errors.getvalue().strip().splitlines()) == 1
    assert "it has one for Conv2, Conv4, Conv6, Conv8" in errors.getvalue()


def test_every_recorded_recipe_has_its_source_and_gives_a_valid_run():
    for traintype, recipes in RECIPES.items():
        for nettype, recipe in recipes.items():
            assert recipe.source.strip(), (traintype, nettype)
            network = "LeNet" if nettype == "*" else nettype
            RunConfig.from_settings({"traintype": traintype, "nettype": network, "recipe": "paper"}).validate()


def test_a_run_far_from_its_methods_recipe_says_so_on_its_first_line(tmp_path):
    note = far_from_own(RunConfig(traintype="Supermask"))
    assert "Supermask's own recipe trains with sgd at learning rate 100" in note
    assert far_from_own(RunConfig.from_settings({"traintype": "Supermask", "recipe": "paper"})) is None
    assert far_from_own(RunConfig(traintype="IMP")) is None  # Adam at 1e-3 against 1.2e-3: close
    assert far_from_own(RunConfig(traintype="FreePruning")) is None
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        code = MaskTrainer.main(["--traintype", "Supermask", "--maxepochs", "0", "--dataset", "mnist-subset",
                                 "--limit", "20", "--outputpath", str(tmp_path), "--seed", "2"])
    assert code == 0
    lines = output.getvalue().splitlines()
    assert lines[0].startswith("Note: Supermask's own recipe") and lines[1].startswith("Device: ")
    (logs_path,) = tmp_path.rglob("*_logs.json")
    assert json.loads(logs_path.read_text())["config"]["recipe"] == "common"


def test_the_criteria_on_vgg16_train_as_synaptic_flows_recorded_runs():
    """Synaptic-Flow's args.json of its single-shot VGG16-bn runs: momentum (SGD, Nesterov 0.9), lr 0.1, drops 60
    and 120, weight decay 1e-4, batch 128, 160 epochs after pruning."""
    for traintype in ("SNIP", "GraSP", "SynFlow", "MagnitudeAtInit"):
        config = RunConfig.from_settings({"traintype": traintype, "nettype": "VGG16", "recipe": "paper"})
        assert (config.optimizer, config.lr, config.momentum, config.weight_decay, config.batchsize,
                config.maxepochs, config.resolved_lr_drops()) == ("sgd", 0.1, 0.9, 1e-4, 128, 160, "60,120")
