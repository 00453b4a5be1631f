"""Which settings do something for a run: a flag that does nothing for the chosen method, optimizer, network,
initializer or backend is refused, in the same sentence for every flag, rather than silently ignored.

A setting applies when the setting it depends on has one of its values: a family's setting depends on
--traintype (the methods that use it, `Method.uses`), a few common ones on another setting (`applies` in their
metadata, see methods/base.setting). The command line refuses a flag that is given and does not apply, even at its
default value; validation (grids, pack files) refuses a value other than the default that does not apply.
"""

import dataclasses

from methods import FAMILIES, ConfigError
from methods.base import flag_of

# Grids cross --p1 with initializers, and a pack's runs may differ in both; Sweep.py's --data-dir goes to every run
# of a grid, whatever its data set; a grid's IMP runs share --prune-rate-conv across networks with and without
# convolutions: refused on the command line only.
CROSSED_IN_GRIDS = ("p1", "data_dir", "prune_rate_conv")


def common_fields(config_class):
    return {field.name: field for field in dataclasses.fields(config_class) if field.name != "method_settings"}


def family_fields():
    """{name: (the families that have the setting, its field)}: a setting several families share (--sanity-check,
    methods/sanity_checks.py) is one flag, declared alike by each."""
    found = {}
    for family in FAMILIES:
        for field in dataclasses.fields(family.settings_class):
            families, _ = found.get(field.name, ((), field))
            found[field.name] = (families + (family,), field)
    return found


def shared_setting_names():
    """The family settings that more than one family has."""
    return tuple(name for name, (families, _) in family_fields().items() if len(families) > 1)


def dependency(config, name):
    """(setting it depends on, the values for which it applies, how to name them) for `name`, or None when it
    applies to every run."""
    common = common_fields(type(config))
    if name in common:
        return common[name].metadata.get("applies")
    families, field = family_fields()[name]
    users = tuple(method.name for family in families for method in family.methods
                  if name in family.setting_names(method))
    condition = ("traintype", users, "--traintype " + ", ".join(users))
    return field.metadata.get("applies") if config.method.name in users else condition


def flag_for(config, name):
    fields = {**common_fields(type(config)), **{key: field for key, (_, field) in family_fields().items()}}
    return flag_of(fields[name])


def does_nothing(config, name):
    """The sentence refusing setting `name` when it does nothing for `config`, else None."""
    condition = dependency(config, name)
    if condition is None:
        return None
    on, values, described = condition
    # Resolved where a default depends on the method (the value a run stores), without validating anything else.
    value = {"initializer": config.resolved_initializer}.get(on, lambda: getattr(config, on))()
    if (values(value) if callable(values) else value in values):
        return None
    return (f"{flag_for(config, name)} does nothing for {flag_for(config, on)} {value} (it is a setting of "
            f"{described}): leave it out.")


def refuse_given(config, given):
    """ConfigError for the first setting in `given` (names given on the command line) that does nothing."""
    for name in given:
        message = does_nothing(config, name)
        if message:
            raise ConfigError(message)


def refuse_changed(config):
    """ConfigError for the first common setting that differs from its default and does nothing for `config`."""
    for name, field in common_fields(type(config)).items():
        if name in CROSSED_IN_GRIDS:
            continue
        if field.metadata.get("applies") and getattr(config, name) != field.default:
            refuse_given(config, [name])
    settings = config.method_settings
    for field in dataclasses.fields(settings):
        if field.name in CROSSED_IN_GRIDS:
            continue
        if field.metadata.get("applies") and getattr(settings, field.name) != field.default:
            refuse_given(config, [field.name])
