"""The command line of MaskTrainer.py, generated from RunConfig and the families' settings."""

import argparse
import dataclasses

from cli import OneLineParser
from cli.keras_backend import environment_backend
from config.applicability import family_fields, shared_setting_names
from config.run_config import ConfigError, RunConfig
from methods import FAMILIES
from methods.base import flag_of


def _add_flag(group, field, default):
    meta = field.metadata
    # A default of None is described in the help itself ("default: glorot for IMP, he otherwise").
    shown = "" if field.default is None and "default" in meta["help"] else f" (default: {field.default})"
    keywords = {"default": default, "dest": field.name, "help": meta["help"] + shown}
    if meta["type"] is bool:  # a switch: the flag alone turns it on
        keywords.update(action="store_true", help=meta["help"])
    elif meta["type"]:
        keywords["type"] = meta["type"]
    if meta["choices"]:
        keywords["choices"] = meta["choices"]
    group.add_argument(flag_of(field), **keywords)


def build_parser(prog="MaskTrainer.py", description=None):
    # No abbreviated flags: a grid's or pack file's settings are spelled in full, and should read as the flags do.
    parser = OneLineParser(prog=prog, description=description, allow_abbrev=False)
    # Every flag is left out of the namespace unless given, so that one which does nothing for the run can be refused
    # (config/applicability.py), and so that MaskTrainer.py knows whether --backend and --device were given.
    for field in dataclasses.fields(RunConfig):
        if field.name != "method_settings":
            _add_flag(parser, field, argparse.SUPPRESS)
    shared = shared_setting_names()
    for name in shared:  # one flag, among the common ones; its help names the methods it is for
        _add_flag(parser, family_fields()[name][1], argparse.SUPPRESS)
    for family in FAMILIES:
        fields = [field for field in dataclasses.fields(family.settings_class) if field.name not in shared]
        if fields:
            group = parser.add_argument_group(f"{family.title}, --traintype {', '.join(family.method_names())}")
            for field in fields:
                _add_flag(group, field, argparse.SUPPRESS)
    return parser


def setting_fields():
    """{name: dataclass field} of every setting: RunConfig's common ones, then each family's."""
    fields = {field.name: field for field in dataclasses.fields(RunConfig) if field.name != "method_settings"}
    for family in FAMILIES:
        fields.update({field.name: field for field in dataclasses.fields(family.settings_class)})
    return fields


def given_settings(namespace):
    """{name: value} of the settings given on the command line (the parser leaves the others out)."""
    return {name: getattr(namespace, name) for name in setting_fields() if hasattr(namespace, name)}


def parse_args(argv=None, parser=None):
    """Command line -> validated RunConfig, plus the parsed namespace for the script's own flags. Without
    --backend, KERAS_BACKEND's (else tensorflow). Imports no Keras."""
    parser = parser or build_parser()
    namespace = parser.parse_args(argv)
    given = given_settings(namespace)
    settings = {"backend": environment_backend(), **given}
    return RunConfig.from_settings(settings, given=given).validate(), namespace


def command_line_arguments(config, always=("seed", "outputpath", "data_dir", "backend")):
    """The flags that give `config` again (the settings that differ from their defaults, and `always`; the
    backend always, since its default depends on KERAS_BACKEND)."""
    fields = setting_fields()
    arguments = []
    for name, value in config.to_dict().items():
        field = fields[name]
        if name == "nruns" or value is None or (value == field.default and name not in always):
            continue
        arguments += [flag_of(field)] if value is True else [flag_of(field), str(value)]
    return arguments


__all__ = ["ConfigError", "build_parser", "command_line_arguments", "given_settings", "parse_args", "setting_fields"]
