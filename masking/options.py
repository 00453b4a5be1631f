"""How a training method uses the masked layers."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class MaskingOptions:
    """The switches of every masked layer of a network (see masking/layers.py)."""

    mask_type: str = "mask"
    kernel_trainable: bool = False
    score_trainable: bool = True
    use_fixed_mask: bool = False
    alpha: float = 0.0
    mask_parameters: tuple = ()  # (name, value) pairs: the mask function's parameters (masking/declarations.py)
    score_initializer: str = "reference"  # masking/layers.py's score_initializer
    fan_scale: float = 1.0  # the kernels' He scale as if fan_in were fan_scale * fan_in (EdgePopup's --scale-fan)

    def layer_arguments(self):
        arguments = {name: value for name, value in dataclasses.asdict(self).items() if name != "fan_scale"}
        return {**arguments, "mask_parameters": dict(self.mask_parameters)}
