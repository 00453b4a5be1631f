"""Every flag of MaskTrainer.py against every method, in three settings of the network, optimizer, backend,
initializer and schedule: a flag that does nothing for the run is refused in one sentence of one form, even at its
default value; every other flag is accepted.

The verdict is written out here, from the papers' and the code's documented meaning of each flag, independently
of the product's table (config/applicability.py, Method.uses)."""

import dataclasses

import pytest

from config import ConfigError, RunConfig, parse_args, setting_fields
from methods import FAMILIES, METHOD_NAMES, get_method
from methods.base import flag_of

PRUNING_AT_INIT = ("RandomPruning", "KStarts", "DissipatingGradients", "KStartsDG", "SNIP", "GraSP", "SynFlow",
                   "MagnitudeAtInit")
# The methods each family flag does something for.
USED_BY = {
    "keep_fraction": ("EdgePopup",), "scale_fan": ("EdgePopup",),
    "mask_samples": ("Supermask",), "dynamic_scaling": ("Supermask",),
    "reset": ("IMP",), "rounds": ("IMP",), "prune_rate": ("IMP",), "prune_rate_conv": ("IMP",),
    "sparsity": PRUNING_AT_INIT, "pruning_scope": PRUNING_AT_INIT,
    "kstarts": ("KStarts", "KStartsDG"), "fitness": ("KStarts", "KStartsDG"),
    "selection_epochs": ("KStarts", "DissipatingGradients", "KStartsDG"),
    "dissipation": ("DissipatingGradients", "KStartsDG"),
    "scoring_examples": ("SNIP", "GraSP"), "grasp_temperature": ("GraSP",), "synflow_iterations": ("SynFlow",),
    # A criterion's mask checked and trained under (Frankle et al. 2021), or a mask learned over fixed weights
    # evaluated checked; the Baseline trains its weights and has neither.
    "sanity_check": ("SNIP", "GraSP", "SynFlow", "MagnitudeAtInit", "FreePruning", "MinPruning", "FreeFlipping",
                     "MinFlipping", "EdgePopup", "Supermask"),
}
DEFAULT_INITIALIZER = {"EdgePopup": "heconstant", "Supermask": "glorot", "IMP": "glorot"}  # "he" otherwise
CONTEXTS = {
    "LeNet, Adam, TensorFlow": {},
    "ResNet8, SGD, JAX, heconstant, cosine": {"nettype": "ResNet8", "optimizer": "sgd", "backend": "jax",
                                              "initializer": "heconstant", "lr_schedule": "cosine"},
    "Conv2, binary": {"nettype": "Conv2", "initializer": "binary"},
    "LeNet, the committed MNIST subset": {"dataset": "mnist-subset"},  # read from the package, never --data-dir
}
# Values for the flags whose default is None (or must suit the method).
VALUES = {"limit": 10, "data_dir": "data", "augmentation": "none", "lr_drops": "none", "prune_rate_conv": 0.1,
          "pruning_scope": "layerwise", "dataset": "mnist-subset", "seed": 3}


def applies(name, traintype, context):
    initializer = context.get("initializer") or DEFAULT_INITIALIZER.get(traintype, "he")
    nettype = context.get("nettype", "LeNet")
    if name in USED_BY:
        return traintype in USED_BY[name] and (
            name != "scale_fan" or initializer in ("he", "heconstant")) and (
            name != "prune_rate_conv" or nettype != "LeNet")  # LeNet-300-100 has no convolutions
    return {
        "momentum": context.get("optimizer") == "sgd",
        "resnet_variant": nettype.startswith("ResNet"), "batchnorm_affine": nettype.startswith("ResNet"),
        "xla": context.get("backend", "tensorflow") == "tensorflow",
        "p1": initializer in ("heconstant", "binary"),
        "lr_drops": context.get("lr_schedule", "step") == "step",
        "data_dir": context.get("dataset", "auto") != "mnist-subset",
    }.get(name, True)


def command_line(name, field, traintype, context):
    settings = {"traintype": traintype, **context}
    arguments = [argument for key, value in settings.items() for argument in (flag_of(fields()[key]), str(value))]
    if field.metadata["type"] is bool:
        return arguments + [flag_of(field)]
    value = VALUES.get(name, field.default)
    if name == "masktype":
        value = get_method(traintype).default_masktype
    if name == "initializer":
        value = context.get("initializer", "he")
    return arguments + [flag_of(field), str(value)]


def fields():
    return setting_fields()


FLAGS = [name for name in setting_fields() if name not in ("traintype",)]


def test_every_setting_is_covered_by_the_verdict():
    family_settings = {field.name for family in FAMILIES for field in dataclasses.fields(family.settings_class)}
    assert family_settings == set(USED_BY)
    assert set(FLAGS) | {"traintype"} == set(setting_fields())


@pytest.mark.parametrize("context_name", list(CONTEXTS))
@pytest.mark.parametrize("traintype", METHOD_NAMES)
def test_every_flag_is_refused_exactly_when_it_does_nothing(traintype, context_name):
    context, checked = CONTEXTS[context_name], 0
    for name in FLAGS:
        if name in context:
            continue
        field = fields()[name]
        arguments = command_line(name, field, traintype, context)
        flag = flag_of(field)
        if applies(name, traintype, context):
            config, _ = parse_args(arguments)
            assert isinstance(config, RunConfig)
        else:
            with pytest.raises(ConfigError) as refusal:
                parse_args(arguments)
            message = str(refusal.value)
            assert message.startswith(f"{flag} does nothing for --") and message.endswith(": leave it out."), \
                message
            assert "\n" not in message and "(it is a setting of " in message
        checked += 1
    assert checked >= len(FLAGS) - len(context)


def test_a_grid_may_not_set_a_value_that_does_nothing_but_may_leave_it_at_its_default():
    with pytest.raises(ConfigError, match="--xla does nothing for --backend jax"):
        RunConfig(backend="jax", xla="on").validate()
    assert RunConfig(p1=0.3).validate()  # grids cross p1 with initializers; refused on the command line only
    # a grid's IMP runs share --prune-rate-conv across LeNet and the conv networks; Sweep.py's --data-dir goes to all
    assert RunConfig.from_settings({"traintype": "IMP", "nettype": "LeNet", "prune_rate_conv": 0.15}).validate()
    assert RunConfig(dataset="mnist-subset", data_dir="data").validate()
    assert RunConfig(backend="jax", xla="auto", p1=0.5, momentum=0.9).validate()
