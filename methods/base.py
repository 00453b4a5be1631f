"""What a method family declares, and settings that are dataclass fields and command-line flags at once.

A *method* is one `--traintype` value (FreePruning, IMP, KStarts, ...). A *family* groups the methods
that share an experiment class and hyperparameters (connectivity training, lottery tickets, pruning at
initialisation); each family is one module of this package and one line of `registry.FAMILIES`.
"""

import dataclasses

from masking import MaskingOptions, mask_function


class ConfigError(ValueError):
    """A setting or combination that cannot work; its message is one sentence with the fix."""


def setting(default, help, *, choices=None, type=None, flag=None, valid=None, requirement=None, applies=None):
    """A dataclass field that is also a command-line flag.

    valid(value) -> bool checks the value; requirement completes "--flag must ..." when it fails. applies: (the
    setting it depends on, the values of that setting for which it does something (a tuple, or a function of the
    value), how to name them in "it is a setting of ..."); None: it does something for every run of its methods
    (config/applicability.py).
    """
    metadata = {"help": help, "choices": choices, "type": type, "flag": flag, "valid": valid,
                "requirement": requirement, "applies": applies}
    return dataclasses.field(default=default, metadata=metadata)


def flag_of(field):
    return field.metadata["flag"] or f"--{field.name}"


def check_settings(instance):
    """Raises ConfigError for the first field of a settings dataclass whose value is not valid."""
    for field in dataclasses.fields(instance):
        valid = field.metadata.get("valid")
        value = getattr(instance, field.name)
        if valid is not None and not valid(value):
            raise ConfigError(f"{flag_of(field)} {field.metadata['requirement']}, got {value}.")


@dataclasses.dataclass(frozen=True)
class NoSettings:
    """The settings of a family without hyperparameters of its own."""


@dataclasses.dataclass(frozen=True)
class Method:
    """One --traintype value: how it uses the masked layers, and how reports draw it."""

    name: str
    description: str  # completes "--traintype NAME ...", e.g. "flips the signs of fixed weights"
    masktypes: tuple  # the mask functions that can do what it says
    default_masktype: str
    changes: str  # what it changes in the network: "weights", "pruning" or "flipping"
    color: str
    marker: str = "o"
    kernel_trainable: bool = True
    score_trainable: bool = False
    use_fixed_mask: bool = False
    alpha: float = 0.0  # weight of the mean-mask loss term (-1: keep as many connections as possible)
    uses: tuple = None  # the names of the family's settings this method uses; None: all of them
    score_initializer: str = "reference"  # masking/layers.py: the 2020 code's U(0.01, 0.1), or kaiming_uniform
    default_initializer: str = None  # the weights' initializer without --initializer; None: the family's

    def masking_options(self, masktype, mask_parameters=None, fan_scale=1.0):
        """The masked layers' switches with `masktype`; mask_parameters: its function's ({name: value}, from the
        family's settings: MethodFamily.masking_options); fan_scale: the kernels' (MaskingOptions)."""
        return MaskingOptions(mask_type=masktype, kernel_trainable=self.kernel_trainable,
                              score_trainable=self.score_trainable, use_fixed_mask=self.use_fixed_mask,
                              alpha=self.alpha, mask_parameters=tuple((mask_parameters or {}).items()),
                              score_initializer=self.score_initializer, fan_scale=fan_scale)


class MethodFamily:
    """Subclasses set the class attributes and may override the three hooks below."""

    name = ""  # short name, e.g. "lottery"
    title = ""  # for help and reports, e.g. "Lottery tickets (Frankle & Carbin 2019)"
    methods = ()  # Method instances, in report order
    settings_class = NoSettings  # frozen dataclass of setting() fields: the family's own flags
    default_initializer = "he"
    sanity_check_values = ()  # the --sanity-check values its methods take (methods/sanity_checks.py), "none" first

    @property
    def experiment_class(self):
        """The training.loop.Experiment subclass that runs the family's methods. Imported here, when first asked
        for: it imports Keras, which the configuration must not before the backend is chosen."""
        from training.loop import Experiment
        return Experiment

    def method_names(self):
        return tuple(method.name for method in self.methods)

    def setting_names(self, method=None):
        """The family's settings, or those of them that `method` (a Method of the family) uses."""
        names = tuple(field.name for field in dataclasses.fields(self.settings_class))
        if method is None or method.uses is None:
            return names
        return tuple(name for name in names if name in method.uses)

    def masking_options(self, method, masktype, settings):
        """The masked layers' switches of `method` (one of the family's) with `masktype`, given the family's
        resolved settings."""
        return method.masking_options(masktype, self.mask_parameters(masktype, settings),
                                      self.fan_scale(method, settings))

    def mask_parameters(self, masktype, settings):
        """The mask function's parameters: the family's settings of the same names (masking/declarations.py)."""
        names = mask_function(masktype).parameters
        missing = [name for name in names if not hasattr(settings, name)]
        if missing:
            raise ConfigError(f"--masktype {masktype} takes {', '.join(missing)}, which the settings of "
                              f"{self.title} do not have; choose another --masktype.")
        return {name: getattr(settings, name) for name in names}

    def fan_scale(self, method, settings):
        """The kernels' He scale as if fan_in were fan_scale * fan_in (MaskingOptions); 1 but for EdgePopup's
        --scale-fan."""
        return 1.0

    def resolved_settings(self, config):
        """config.method_settings with the defaults that depend on the rest of config (e.g. the network) filled in."""
        return config.method_settings

    def folder_suffix(self, config):
        """Appended to the configuration folder's last part (see results/paths.py)."""
        return ""

    def check(self, config):
        """Raises ConfigError for settings that cannot work together with the rest of config. The base refuses a
        --sanity-check value the family does not offer (invert for a method that learns its mask: it has no
        criterion's scores); a family that overrides this calls it too."""
        check = getattr(config.method_settings, "sanity_check", None)
        if check is not None and check not in self.sanity_check_values:
            raise ConfigError(f"--sanity-check {check} keeps the lowest scores of a criterion at initialisation, and "
                              f"--traintype {config.traintype} learns its mask instead: use --sanity-check "
                              f"{' or '.join(self.sanity_check_values[1:])}.")
