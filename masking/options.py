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

    def layer_arguments(self):
        return dataclasses.asdict(self)
