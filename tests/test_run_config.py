"""The command line and RunConfig: flags of other method families, old run logs, a run's identity, the
help text of every flag the old command line had, and grid expansion across families."""

import contextlib
import io
import json
import re

import pytest

import MaskTrainer
from config import ConfigError, RunConfig, build_parser, parse_args
from sweeps.grid import GridError, expand_grid

# Every flag of the command line before the redesign, with its default as the help shows it.
OLD_FLAG_DEFAULTS = {
    "--nettype": "LeNet", "--traintype": "FreePruning", "--activation": "relu", "--batchsize": "25",
    "--maxepochs": "20", "--seed": "0", "--p1": "0.5", "--lr": "0.001", "--outputpath": "Outputs",
    "--nruns": "1", "--dataset": "auto", "--data-dir": "None", "--limit": "None", "--test-normalization": "test",
    "--xla": "auto", "--reset": "original", "--rounds": "5", "--prune-rate": "0.2",
    "--sparsity": "0.9", "--kstarts": "5", "--selection-epochs": "2",
    "--fitness": "magnitude", "--dissipation": "0.1",
}
# Defaults that depend on --traintype, which the help spells out in words.
OLD_FLAG_DEFAULT_WORDS = {"--initializer": ("glorot for IMP", "he otherwise"),
                          "--masktype": ("flip for the flipping methods", "mask otherwise"),
                          "--prune-rate-conv": ("0.15 for Conv6", "0.1 otherwise"),
                          # layerwise before the scoring criteria, which prune globally by default
                          "--pruning-scope": ("global for SNIP, GraSP, SynFlow and MagnitudeAtInit",
                                              "layerwise for the others")}
COMMON = {"nettype": "LeNet", "activation": "relu", "batchsize": 25, "maxepochs": 20, "seed": 7, "p1": 0.5,
          "lr": 0.001, "dataset": "auto", "limit": None, "test_normalization": "test"}


def run_main(arguments):
    stderr = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(stderr):
        code = MaskTrainer.main(arguments)
    return code, stderr.getvalue().splitlines()


@pytest.mark.parametrize("traintype, flag, value", [
    ("FreePruning", "--sparsity", "0.5"), ("Baseline", "--rounds", "5"),  # 5 is the default: refused all the same
    ("IMP", "--kstarts", "3"), ("KStarts", "--reset", "random"),
])
def test_a_flag_of_another_family_is_refused_in_one_sentence(tmp_path, traintype, flag, value):
    code, lines = run_main(["--traintype", traintype, flag, value, "--outputpath", str(tmp_path)])
    assert code == 2 and len(lines) == 1
    assert lines[0].startswith("MaskTrainer.py: error: " + flag) and "leave it out" in lines[0]
    assert not any(tmp_path.iterdir())  # refused before anything is written


def test_the_same_flag_works_for_its_own_family(tmp_path):
    arguments = ["--traintype", "RandomPruning", "--sparsity", "0.5", "--maxepochs", "0", "--limit", "5",
                 "--dataset", "mnist-subset", "--xla", "off", "--seed", "2", "--outputpath", str(tmp_path)]
    assert parse_args(arguments)[0].method_settings.sparsity == 0.5
    assert run_main(arguments) == (0, [])
    (logs,) = tmp_path.rglob("*_logs.json")
    assert json.loads(logs.read_text())["config"]["sparsity"] == 0.5


def old_stored_config(traintype, **changes):
    """A run log's config from before the redesign: every family's settings, whatever the method."""
    return {**COMMON, "traintype": traintype, "initializer": "he", "masktype": "mask", "outputpath": "Old",
            "nruns": 1, "data_dir": None, "xla": "auto", "reset": "original", "rounds": 5, "prune_rate": 0.2,
            "prune_rate_conv": 0.1, "sparsity": 0.9, "pruning_scope": "layerwise", "kstarts": 5,
            "selection_epochs": 2, "fitness": "magnitude", "dissipation": 0.1, **changes}


def test_an_old_run_log_with_every_familys_settings_loads_as_the_same_run():
    loaded = RunConfig.from_settings(old_stored_config("FreePruning"), strict=False)
    fresh = RunConfig.from_settings({**COMMON, "traintype": "FreePruning"}).validate()
    assert loaded.identity() == fresh.identity()
    assert "rounds" not in loaded.identity() and "sparsity" not in loaded.identity()
    with pytest.raises(ConfigError, match=r"--reset does nothing for --traintype FreePruning \(it is a setting of "
                                          r"--traintype IMP\)"):
        RunConfig.from_settings(old_stored_config("FreePruning"))  # strict, as for a command line
    lottery = RunConfig.from_settings(old_stored_config("IMP", rounds=3, reset="random"), strict=False)
    assert (lottery.method_settings.rounds, lottery.method_settings.reset) == (3, "random")
    assert "sparsity" not in lottery.identity()


def test_identity_leaves_out_where_and_how_a_run_is_computed_but_keeps_what_it_is():
    settings = {**COMMON, "traintype": "RandomPruning", "sparsity": 0.8, "seed": 9}
    config = RunConfig.from_settings({**settings, "outputpath": "A", "nruns": 3, "data_dir": "D", "xla": "on"})
    identity = config.identity()
    assert not {"outputpath", "nruns", "data_dir", "xla"} & set(identity)
    assert identity["seed"] == 9 and identity["sparsity"] == 0.8 and identity["pruning_scope"] == "layerwise"
    assert identity["masktype"] == "mask" and identity["initializer"] == "he"  # resolved defaults
    elsewhere = RunConfig.from_settings({**settings, "outputpath": "B", "xla": "off"})
    assert elsewhere.identity() == identity and elsewhere.identity_key() == config.identity_key()
    for change in ({"seed": 10}, {"sparsity": 0.5}, {"lr": 0.002}):
        assert RunConfig.from_settings({**settings, **change}).identity() != identity, change


def help_entries():
    """{flag: its help text, whitespace collapsed} from the parser's help."""
    entries = re.split(r"\n(?=  -|\S)", build_parser().format_help())  # at each flag and group title
    return {entry.split()[0]: " ".join(entry.split()) for entry in entries if entry.startswith("  -")}


def test_the_help_lists_every_flag_of_the_old_command_line_with_its_default():
    entries = help_entries()
    for flag, default in OLD_FLAG_DEFAULTS.items():
        assert flag in entries, flag
        assert entries[flag].endswith(f"(default: {default})"), entries[flag]
    for flag, words in OLD_FLAG_DEFAULT_WORDS.items():
        assert all(word in entries[flag] for word in words), entries[flag]


def test_no_flags_give_the_old_default_run():
    config = parse_args([])[0]
    assert (config.nettype, config.traintype, config.resolved_initializer(), config.resolved_masktype()) == (
        "LeNet", "FreePruning", "he", "mask")
    assert (config.batchsize, config.maxepochs, config.lr, config.p1, config.outputpath) == (25, 20, 1e-3, 0.5,
                                                                                              "Outputs")
    assert parse_args(["--traintype", "IMP"])[0].resolved_initializer() == "glorot"
    assert parse_args(["--traintype", "MinFlipping"])[0].resolved_masktype() == "flip"


def grid_document(base, grid, seeds=(1, 2)):
    return {"description": "test grid", "machine": "any", "base": base, "grid": grid, "seeds": list(seeds)}


def test_a_grid_across_families_runs_a_baseline_once_per_seed_and_each_sparsity():
    document = grid_document({"sparsity": 0.8, "maxepochs": 1},
                             {"traintype": ["Baseline", "RandomPruning"], "sparsity": [0.5, 0.9]})
    runs = expand_grid(document, "grid.json").runs
    described = [(run.traintype, getattr(run.method_settings, "sparsity", None), run.seed) for run in runs]
    assert described == [("Baseline", None, 1), ("RandomPruning", 0.5, 1), ("RandomPruning", 0.9, 1),
                         ("Baseline", None, 2), ("RandomPruning", 0.5, 2), ("RandomPruning", 0.9, 2)]
    assert all(run.maxepochs == 1 for run in runs)


def test_a_grid_setting_that_applies_to_no_run_is_refused():
    with pytest.raises(GridError, match="'rounds' applies to no run"):
        expand_grid(grid_document({"rounds": 3}, {"traintype": ["FreePruning", "MinPruning"]}), "grid.json")
    with pytest.raises(GridError, match="'prune_rate' applies to no run"):
        expand_grid(grid_document({}, {"traintype": ["RandomPruning"], "prune_rate": [0.1, 0.2]}), "grid.json")
    with pytest.raises(GridError, match="'kstarts' applies to no run"):
        expand_grid(grid_document({}, {"traintype": ["RandomPruning"], "kstarts": [2, 3]}), "grid.json")


@pytest.mark.parametrize("traintype, flag, value", [
    ("RandomPruning", "--kstarts", "3"), ("KStarts", "--dissipation", "0.2"),
    ("DissipatingGradients", "--fitness", "gradient"),
])
def test_a_flag_of_the_own_family_that_the_method_does_not_use_is_refused_but_a_grid_may_cross_it(traintype, flag,
                                                                                                  value):
    """On the command line a flag the method does not use does nothing, so it is refused, as another family's is;
    a grid crossing several methods with one method's setting leaves it out of the others' runs, which neither
    store it nor split apart by it."""
    with pytest.raises(ConfigError, match=f"^{flag} does nothing for --traintype {traintype} \\(it is a setting "
                                          "of --traintype "):
        parse_args(["--traintype", traintype, flag, value, "--seed", "3"])
    name = flag.lstrip("-").replace("-", "_")
    with_setting = RunConfig.from_settings({"traintype": traintype, name: type(getattr(
        RunConfig.from_settings({"traintype": "KStartsDG"}).method_settings, name))(value), "seed": 3},
        strict=False)
    without, _ = parse_args(["--traintype", traintype, "--seed", "3"])
    assert with_setting.identity() == without.identity() and with_setting.folder() == without.folder()
    assert name not in with_setting.to_dict()


def test_a_method_stores_and_is_identified_by_the_settings_it_uses_only():
    random_pruning = RunConfig.from_settings({"traintype": "RandomPruning", "sparsity": 0.5})
    assert {"sparsity", "pruning_scope"} <= set(random_pruning.identity())
    assert not {"kstarts", "fitness", "selection_epochs", "dissipation"} & set(random_pruning.identity())
    k_starts_dg = RunConfig.from_settings({"traintype": "KStartsDG"}).identity()
    assert {"kstarts", "fitness", "selection_epochs", "dissipation"} <= set(k_starts_dg)


def test_the_whole_command_line_is_read_and_checked_without_keras():
    """MaskTrainer.py parses and validates its command line, --help included, before it chooses Keras' backend."""
    import subprocess
    import sys

    from conftest import REPOSITORY
    script = """
import contextlib, io, sys
import MaskTrainer
with contextlib.redirect_stdout(io.StringIO()) as help_text, contextlib.redirect_stderr(io.StringIO()) as errors:
    codes = [MaskTrainer.main(["--help"]), MaskTrainer.main(["--nettype", "VGG16", "--initializer", "binary"])]
loaded = sorted(name for name in ("keras", "tensorflow", "jax") if name in sys.modules)
print(codes, loaded, "--nettype" in help_text.getvalue(), "VGG16 has none" in errors.getvalue())
"""
    result = subprocess.run([sys.executable, "-c", script], cwd=REPOSITORY, capture_output=True, text=True,
                            timeout=120)
    assert result.stdout.split() == ["[0,", "2]", "[]", "True", "True"], result.stderr


def test_a_seed_keras_cannot_take_is_refused_before_any_run_is_written():
    """keras.utils.set_random_seed takes seeds up to 2**32 - 1; a larger one failed with a traceback, after the
    --nruns before it had been written."""
    from config import MAX_SEED, ConfigError
    assert RunConfig.from_settings({"seed": MAX_SEED}).validate().seed == MAX_SEED
    with pytest.raises(ConfigError, match=r"--seed must be .* up to 4294967295 .*got 4294967296"):
        RunConfig.from_settings({"seed": MAX_SEED + 1}).validate()
    with pytest.raises(ConfigError, match=r"^--nruns 3 from --seed 4294967294 runs seeds up to 4294967296, past "):
        RunConfig.from_settings({"seed": MAX_SEED - 1, "nruns": 3}).validate()
