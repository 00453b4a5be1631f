"""A connectivity run as one bit per weight: the network's settings, its seed and the bits, in an .npz; for the
ResNets also the final BatchNorm values (float32, `batchnorm/` and the variable's path: `batchnorm/stem_bn/gamma`).

The bits are turned back into scores that give the stored mask (masking/declarations.py, removed_score).

The kernels are not stored: they are drawn again from the run's seed (networks.build_network), which
gives the same numbers with the same library versions and Keras backend. A checksum of the kernels drawn
at export time guards that: loading refuses, in one sentence, when the kernels drawn now differ. The bit
of a weight is 1 where its mask value is positive: kept (mask, mask_rs, topk) or sign kept (flip); for a sampled
mask (Supermask), kept in its deterministic mask, sigmoid(score) > 0.5, which is what the run's final mask file
holds and what the loaded network computes with. A flip mask is 0 only for a score of exactly 0; such positions,
if any, are listed separately.
"""

import hashlib
import json

import keras
import numpy as np

from export.run_files import ExportError, require_same_names
from masking import mask_function, masked_layers, unmasked_variables
from networks import build_network
from results import atomic

FORMAT = "connectivity-supermask/1"
BATCHNORM_PREFIX = "batchnorm/"


class SupermaskError(ExportError):
    """A supermask file that cannot be loaded; one sentence."""


def kernel_checksum(kernels):
    digest = hashlib.sha256()
    for kernel in kernels:
        digest.update(np.ascontiguousarray(kernel, dtype="<f4").tobytes())
    return digest.hexdigest()


def regenerated_network(settings, input_shape, num_classes):
    """The run's masked network with its kernels drawn again from the seed (scores as at initialisation)."""
    from config import RunConfig
    config = RunConfig.from_settings(settings, strict=False)
    return build_network(config.nettype, input_shape, num_classes, activation=config.activation,
                         initializer=config.resolved_initializer(), p1=config.p1, seed=config.seed,
                         masking=config.masking_options(), xla=keras.backend.backend() == "jax",
                         resnet_variant=config.resnet_variant, batchnorm_affine=config.batchnorm_affine)


def write_supermask(run, path):
    """Writes `run`'s supermask to `path`; refuses the methods that train weights."""
    config = run.config
    if config.method.kernel_trainable or config.masking_options().use_fixed_mask:
        raise ExportError(f"--traintype {config.traintype} trains the weights, so a supermask (bits over weights drawn "
                          "from the seed) cannot describe it; use --format keras.")
    model = regenerated_network(run.logs["config"], run.input_shape(), run.num_classes())
    layers = masked_layers(model)
    drawn = [np.asarray(layer.kernel) for layer in layers]
    stored = run.arrays("initial_weights")
    if any(not np.array_equal(kernel, stored[layer.name]) for kernel, layer in zip(drawn, layers, strict=True)):
        raise ExportError(f"The kernels drawn here from seed {config.seed} differ from the run's initial weights "
                          f"(it ran with {json.dumps(run.logs['versions'])}); export it with those library versions.")
    masks = run.arrays("final_masks")
    arrays = {"format": np.array(FORMAT), "settings": np.array(json.dumps(run.logs["config"])),
              "versions": np.array(json.dumps(run.logs["versions"])), "seed": np.array(config.seed),
              "input_shape": np.array(run.input_shape()), "num_classes": np.array(run.num_classes()),
              "layer_names": np.array([layer.name for layer in layers]),
              "kernel_checksum": np.array(kernel_checksum(drawn))}
    for index, layer in enumerate(layers):
        mask = masks[layer.name]
        arrays[f"shape_{index}"] = np.array(mask.shape)
        arrays[f"bits_{index}"] = np.packbits((mask > 0).reshape(-1))
        zeros = np.flatnonzero(mask.reshape(-1) == 0) if mask_function(config.resolved_masktype()).flips else []
        if len(zeros):
            arrays[f"zeros_{index}"] = zeros.astype(np.int64)
    batchnorm = run.batchnorm()
    require_same_names(batchnorm, [variable.path for variable in unmasked_variables(model, layers)],
                       "BatchNorm values", config.nettype)
    arrays.update({BATCHNORM_PREFIX + name: value for name, value in batchnorm.items()})
    atomic.write_npz(path, arrays, compressed=True)


def _read(path):
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
        if str(arrays["format"]) != FORMAT:
            raise SupermaskError(f"{path} is a {arrays['format']} file, not a supermask ({FORMAT}).")
        return arrays, json.loads(str(arrays["settings"]))
    except SupermaskError:
        raise
    except atomic.NPZ_READ_ERRORS:
        raise SupermaskError(f"{path} is not a readable supermask file (truncated, altered or of another kind); "
                             "export the run again.") from None


def load_supermask(path):
    """The trained network as a Keras model (this project's masked layers), from the supermask file alone."""
    arrays, settings = _read(path)
    model = regenerated_network(settings, tuple(int(size) for size in arrays["input_shape"]),
                                int(arrays["num_classes"]))
    layers = masked_layers(model)
    if [layer.name for layer in layers] != arrays["layer_names"].tolist():
        raise SupermaskError(f"{path} does not match the network it names; export the run again.")
    if kernel_checksum(np.asarray(layer.kernel) for layer in layers) != str(arrays["kernel_checksum"]):
        raise SupermaskError(f"The kernels drawn here from the seed differ from those of the export (made with "
                             f"{arrays['versions']}, Keras backend {settings.get('backend', 'tensorflow')}): another "
                             "library version or backend draws other numbers; load it with those.")
    for index, layer in enumerate(layers):
        shape = tuple(int(size) for size in arrays[f"shape_{index}"])
        count = int(np.prod(shape))
        packed = arrays[f"bits_{index}"]
        if shape != tuple(layer.score.shape) or packed.size != (count + 7) // 8:
            raise SupermaskError(f"{path} holds bits of another shape for layer {layer.name}; export the run again.")
        removed = mask_function(layer.mask_type).removed_score  # with +1 for a kept weight, gives the stored mask
        scores = np.where(np.unpackbits(packed, count=count) == 1, 1.0, removed).astype(np.float32)
        if f"zeros_{index}" in arrays:
            scores[arrays[f"zeros_{index}"]] = 0.0
        layer.score.assign(scores.reshape(shape))
    for variable in unmasked_variables(model, layers):
        if BATCHNORM_PREFIX + variable.path not in arrays:
            raise SupermaskError(f"{path} lacks the BatchNorm values of {variable.path}; export the run again.")
        variable.assign(arrays[BATCHNORM_PREFIX + variable.path])
    return model
