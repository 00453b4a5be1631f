"""Keras 3 layers whose effective weight is kernel * f(score), or kernel * a fixed 0/1 mask.

Three uses, set by two switches:
- connectivity training (FreePruning, MinPruning, FreeFlipping, MinFlipping): the kernel is fixed,
  the score trains through f (`kernel_trainable=False, score_trainable=True`);
- Baseline: the kernel trains, the score is frozen, so the mask stays all ones;
- fixed mask (lottery tickets, pruning at initialisation): `use_fixed_mask=True` replaces the score
  by a non-trainable 0/1 `fixed_mask`, set with `set_fixed_mask`, while the kernel trains.
"""

import keras
from keras import ops

from masking.functions import get_mask_function

SCORE_MINIMUM, SCORE_MAXIMUM = 0.01, 0.1


def score_initializer(name, seed):
    """reference: U(0.01, 0.1), the 2020 code's; kaiming_uniform: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's
    kaiming_uniform_(a=sqrt(5)), which hidden-networks gives its scores."""
    if name == "reference":
        return keras.initializers.RandomUniform(SCORE_MINIMUM, SCORE_MAXIMUM, seed=seed)
    if name == "kaiming_uniform":
        return keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform", seed=seed)
    raise ValueError(f"Unknown score initializer '{name}'; choose reference or kaiming_uniform.")


class MaskedLayer(keras.layers.Layer):
    """Shared machinery; subclasses define `kernel_shape` and `apply_kernel`."""

    def __init__(self, activation=None, mask_type="mask", kernel_initializer="he_normal",
                 score_seed=None, kernel_trainable=False, score_trainable=True,
                 use_fixed_mask=False, alpha=0.0, keep_fraction=None, score_initializer="reference", **kwargs):
        super().__init__(**kwargs)
        self.mask_parameters = {} if keep_fraction is None else {"keep_fraction": float(keep_fraction)}
        get_mask_function(mask_type, **self.mask_parameters)  # fails early with a clear message
        self.activation = keras.activations.get(activation)
        self.mask_type = mask_type
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.score_seed = score_seed
        self.kernel_trainable = bool(kernel_trainable)
        self.score_trainable = bool(score_trainable)
        self.use_fixed_mask = bool(use_fixed_mask)
        self.alpha = float(alpha)
        self.score_initializer = score_initializer

    def kernel_shape(self, input_shape):
        raise NotImplementedError

    def apply_kernel(self, inputs, kernel):
        raise NotImplementedError

    def build(self, input_shape):
        shape = self.kernel_shape(tuple(input_shape))
        self.kernel = self.add_weight(name="kernel", shape=shape, initializer=self.kernel_initializer,
                                      trainable=self.kernel_trainable)
        if self.use_fixed_mask:
            self.fixed_mask = self.add_weight(name="fixed_mask", shape=shape, initializer="ones",
                                              trainable=False)
        else:
            self.score = self.add_weight(name="score", shape=shape,
                                         initializer=score_initializer(self.score_initializer, self.score_seed),
                                         trainable=self.score_trainable)

    def mask_values(self):
        """f(score), or the fixed 0/1 mask."""
        if self.use_fixed_mask:
            return ops.convert_to_tensor(self.fixed_mask)
        return get_mask_function(self.mask_type, **self.mask_parameters)(ops.convert_to_tensor(self.score))

    def set_fixed_mask(self, mask):
        if not self.use_fixed_mask:
            raise ValueError(f"Layer '{self.name}' trains a score; build it with use_fixed_mask=True "
                             "to give it a fixed mask.")
        self.fixed_mask.assign(ops.cast(mask, self.fixed_mask.dtype))

    def call(self, inputs):
        mask_values = self.mask_values()
        outputs = self.apply_kernel(inputs, ops.convert_to_tensor(self.kernel) * mask_values)
        if self.alpha != 0.0 and not self.use_fixed_mask:
            self.add_loss(self.alpha * ops.mean(mask_values))
        return self.activation(outputs) if self.activation is not None else outputs

    def get_config(self):
        config = super().get_config()
        config.update({
            "activation": keras.activations.serialize(self.activation),
            "mask_type": self.mask_type,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "score_seed": self.score_seed,
            "kernel_trainable": self.kernel_trainable,
            "score_trainable": self.score_trainable,
            "use_fixed_mask": self.use_fixed_mask,
            "alpha": self.alpha,
            "keep_fraction": self.mask_parameters.get("keep_fraction"),
            "score_initializer": self.score_initializer,
        })
        return config


@keras.saving.register_keras_serializable(package="masking")
class MaskedDense(MaskedLayer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)

    def kernel_shape(self, input_shape):
        return (input_shape[-1], self.units)

    def apply_kernel(self, inputs, kernel):
        return ops.matmul(inputs, kernel)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="masking")
class MaskedConv2D(MaskedLayer):
    """Channels last; 'same' padding as in the reference's Conv networks, or 'valid'; stride 1, or 2 where a
    ResNet stage downsamples."""

    def __init__(self, filters, kernel_size=3, padding="same", strides=1, **kwargs):
        super().__init__(**kwargs)
        if padding not in ("same", "valid"):
            raise ValueError(f"padding must be 'same' or 'valid', got '{padding}'.")
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.padding = padding
        self.strides = int(strides)

    def kernel_shape(self, input_shape):
        return (self.kernel_size, self.kernel_size, input_shape[-1], self.filters)

    def apply_kernel(self, inputs, kernel):
        return ops.conv(inputs, kernel, strides=self.strides, padding=self.padding, data_format="channels_last")

    def compute_output_shape(self, input_shape):
        def output_size(size):
            if size is None:
                return None
            if self.padding == "valid":
                return (size - self.kernel_size) // self.strides + 1
            return -(-size // self.strides)

        return (input_shape[0],) + tuple(output_size(size) for size in input_shape[1:-1]) + (self.filters,)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size,
                "padding": self.padding, "strides": self.strides}
