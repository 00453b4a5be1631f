"""Keras 3 layers whose effective weight is kernel * f(score), or kernel * a fixed 0/1 mask.

Three uses, set by two switches:
- connectivity training (FreePruning, MinPruning, FreeFlipping, MinFlipping): the kernel is fixed,
  the score trains through f (`kernel_trainable=False, score_trainable=True`);
- Baseline: the kernel trains, the score is frozen, so the mask stays all ones;
- fixed mask (lottery tickets, pruning at initialisation): `use_fixed_mask=True` replaces the score
  by a non-trainable 0/1 `fixed_mask`, set with `set_fixed_mask`, while the kernel trains.

A sampled mask (Supermask, `mask_type="sample"`) draws a new mask at every training step. Its draws are a hash of
three non-trainable integers of the layer (masking/random_bits.py), which checkpoints and packs carry like any
variable: `sample_seed`; `sample_count`, the training steps drawn so far; and `evaluation_sample`, which chooses
what inference computes with: -1 (the default) the deterministic mask sigmoid(score) > 0.5, k >= 0 the k-th
evaluation sample, the same k-th draw for the same scores.
"""

import keras
from keras import ops

from masking import random_bits
from masking.declarations import mask_function

SCORE_MINIMUM, SCORE_MAXIMUM = 0.01, 0.1
TRAINING_DRAWS, EVALUATION_DRAWS = 0, 1  # the two streams of a sampled mask's draws
DETERMINISTIC = -1  # evaluation_sample: the deterministic mask


def score_initializer(name, seed):
    """reference: U(0.01, 0.1), the 2020 code's; kaiming_uniform: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's
    kaiming_uniform_(a=sqrt(5)), which hidden-networks gives its scores; zeros: Zhou et al.'s supermask scores,
    which start at their --sigmoid_bias default 0 (probability 0.5)."""
    if name == "reference":
        return keras.initializers.RandomUniform(SCORE_MINIMUM, SCORE_MAXIMUM, seed=seed)
    if name == "kaiming_uniform":
        return keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform", seed=seed)
    if name == "zeros":
        return keras.initializers.Zeros()
    raise ValueError(f"Unknown score initializer '{name}'; choose reference, kaiming_uniform or zeros.")


class MaskedLayer(keras.layers.Layer):
    """Shared machinery; subclasses define `kernel_shape` and `apply_kernel`."""

    def __init__(self, activation=None, mask_type="mask", kernel_initializer="he_normal",
                 score_seed=None, kernel_trainable=False, score_trainable=True,
                 use_fixed_mask=False, alpha=0.0, mask_parameters=None, score_initializer="reference", **kwargs):
        super().__init__(**kwargs)
        self.declaration = mask_function(mask_type)
        # The mask function's parameters, e.g. {"keep_fraction": 0.5} for topk (masking/declarations.py).
        self.mask_parameters = dict(mask_parameters or {})
        # Bound here, outside any traced function: binding imports masking/functions.py.
        self.mask_function = self.declaration.bound(**self.mask_parameters)
        self.deterministic_mask_function = (self.declaration.bound_deterministic(**self.mask_parameters)
                                            if self.declaration.sampled else None)
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
            if self.samples_mask():
                counter = dict(shape=(), dtype="int32", trainable=False)
                self.sample_seed = self.add_weight(name="sample_seed", **counter,
                                                   initializer=keras.initializers.Constant(self.score_seed or 0))
                self.sample_count = self.add_weight(name="sample_count", initializer="zeros", **counter)
                self.evaluation_sample = self.add_weight(name="evaluation_sample", **counter,
                                                         initializer=keras.initializers.Constant(DETERMINISTIC))

    def samples_mask(self):
        return self.declaration.sampled and not self.use_fixed_mask

    def mask_values(self, training=False):
        """f(score), or the fixed 0/1 mask. A sampled mask: the training step's draw when `training`, else what
        `evaluation_sample` chooses."""
        if self.use_fixed_mask:
            return ops.convert_to_tensor(self.fixed_mask)
        function = self.mask_function
        score = ops.convert_to_tensor(self.score)
        if not self.samples_mask():
            return function(score)
        if training:
            draw = random_bits.key(self.sample_seed, TRAINING_DRAWS, self.sample_count)
            return function(score, random_bits.uniforms(draw, score.shape))
        evaluation = ops.convert_to_tensor(self.evaluation_sample)

        def sampled():
            draw = random_bits.key(self.sample_seed, EVALUATION_DRAWS, evaluation)
            return function(score, random_bits.uniforms(draw, score.shape))

        # A branch, not a select: the deterministic mask (statistics, exports, inference) draws nothing.
        return ops.cond(ops.less(evaluation, 0), lambda: self.deterministic_mask_function(score), sampled)

    def set_fixed_mask(self, mask):
        if not self.use_fixed_mask:
            raise ValueError(f"Layer '{self.name}' trains a score; build it with use_fixed_mask=True "
                             "to give it a fixed mask.")
        self.fixed_mask.assign(ops.cast(mask, self.fixed_mask.dtype))

    def call(self, inputs, training=False):
        mask_values = self.mask_values(training=bool(training))
        if training and self.samples_mask():
            self.sample_count.assign(self.sample_count + 1)
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
            "mask_parameters": dict(self.mask_parameters),
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
