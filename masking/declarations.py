"""Every mask function by name, with what the rest of the tool needs to know about it: one record each.

A record names its function in masking/functions.py (keras.ops code, imported when first used, so that the
configuration reads the records before a Keras backend is chosen), the keyword parameters it takes, whether the
layer draws random numbers for it (a sampled mask), whether it flips signs rather than removing weights, and how
Export.py's supermask format gives its mask back. A family passes the parameters from its own settings of the same
names (methods/base.py, MethodFamily.mask_parameters); the masked layers take them as a mapping.

A new mask function: its code in masking/functions.py and its record here (docs/EXTENDING.md).
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class MaskFunction:
    name: str  # the --masktype value
    function: str  # f(score, **parameters) in masking/functions.py; a sampled one f(score, uniforms, **parameters)
    parameters: tuple = ()  # its keyword parameters, each given by the family's setting of the same name
    sampled: bool = False  # draws a new mask each training step from uniforms the layer supplies
    deterministic: str = None  # sampled: f(score, **parameters) that inference computes (the most probable mask)
    flips: bool = False  # a changed weight has its sign flipped (mask value -1) rather than being removed (0)
    # Export.py's supermask stores one bit per weight, 1 where the mask value is positive; loading gives each layer
    # the score +1 for a 1 and this for a 0, which the function must turn back into the stored mask.
    removed_score: float = -1.0

    def bound(self, **parameters):
        """f(score) (a sampled mask's: f(score, uniforms)) with its parameters bound; ValueError (one sentence) when
        they are not exactly those it takes."""
        self.check_parameters(parameters)
        return _bind(_implementation(self.function), parameters)

    def bound_deterministic(self, **parameters):
        """A sampled mask's f(score) for inference, its parameters bound."""
        self.check_parameters(parameters)
        return _bind(_implementation(self.deterministic), parameters)

    def check_parameters(self, parameters):
        if set(parameters) != set(self.parameters) or any(value is None for value in parameters.values()):
            raise ValueError(f"Mask type '{self.name}' takes {', '.join(self.parameters) or 'no parameters'}, got "
                             f"{', '.join(f'{key}={value}' for key, value in parameters.items()) or 'none'}.")


def _implementation(name):
    from masking import functions  # keras.ops: imported when a layer binds its function, not by the configuration
    return getattr(functions, name)


def _bind(function, parameters):
    return (lambda score, *uniforms: function(score, *uniforms, **parameters)) if parameters else function


MASK_FUNCTIONS = {record.name: record for record in (
    MaskFunction("mask", "mask"),
    MaskFunction("mask_rs", "mask_rs"),
    MaskFunction("flip", "flip", flips=True),
    # Of the layer's entries, a fixed count of the largest |score| is kept: scores +1 and 0 keep exactly the ones.
    MaskFunction("topk", "top_k", parameters=("keep_fraction",), removed_score=0.0),
    MaskFunction("sample", "sample", parameters=("dynamic_scaling",), sampled=True,
                 deterministic="deterministic_sample"),
)}
MASK_FUNCTION_NAMES = tuple(MASK_FUNCTIONS)


def mask_function(name):
    """The record of --masktype `name`; ValueError (one sentence) for an unknown one."""
    if name not in MASK_FUNCTIONS:
        raise ValueError(f"Unknown mask type '{name}'; choose one of {', '.join(MASK_FUNCTIONS)}.")
    return MASK_FUNCTIONS[name]


def get_mask_function(name, **parameters):
    """f(score) of --masktype NAME with its parameters bound (topk: keep_fraction; sample: dynamic_scaling); a
    sampled mask's f takes the uniforms too: f(score, uniforms)."""
    return mask_function(name).bound(**parameters)


def flips(masktype):
    """Whether the mask flips signs (a changed weight is flipped) rather than pruning (a changed weight is 0)."""
    return mask_function(masktype).flips
