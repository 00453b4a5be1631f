"""Supermasks (Zhou et al. 2019, uber-research/deconstructing-lottery-tickets): over fixed random weights, a mask
sampled at every step from Bernoulli(sigmoid(score)), the scores trained through the sampling's probability."""

import dataclasses

from methods import sanity_checks
from methods.base import Method, MethodFamily, setting

DEFAULT_MASK_SAMPLES = 10


@dataclasses.dataclass(frozen=True)
class SupermaskSettings:
    mask_samples: int = setting(DEFAULT_MASK_SAMPLES, "Supermask: sampled masks whose mean accuracy each evaluation "
                                "reports (Zhou's final evaluation averaged 10); the deterministic mask is logged "
                                "beside it", type=int, flag="--mask-samples", valid=lambda value: value >= 1,
                                requirement="must be at least 1")
    dynamic_scaling: bool = setting(False, "Supermask: multiply each layer's mask by size / (number of ones) "
                                    "(Zhou's dynamic_scaling option)", type=bool, flag="--dynamic-scaling")
    sanity_check: str = sanity_checks.sanity_check_setting()


class SupermaskTraining(MethodFamily):
    name = "supermask"
    title = "Supermasks over fixed random weights (Zhou et al. 2019)"

    @property
    def experiment_class(self):
        # Imports Keras: not before the backend is chosen (methods/base.py).
        from training.sampled_masks import SampledMaskExperiment
        return SampledMaskExperiment

    settings_class = SupermaskSettings
    sanity_check_values = sanity_checks.LEARNED_MASK_CHECKS
    methods = (
        Method("Supermask", "samples a mask of fixed weights at every step from trained probabilities "
               "sigmoid(score)", ("sample",), "sample", "pruning", "#c49c94", "*", kernel_trainable=False,
               score_trainable=True, uses=("mask_samples", "dynamic_scaling", "sanity_check"),
               score_initializer="zeros", default_initializer="glorot"),
    )

    def folder_suffix(self, config):
        settings = config.method_settings
        suffix = f"_samples{settings.mask_samples}" if settings.mask_samples != DEFAULT_MASK_SAMPLES else ""
        suffix += "_dynamicscaling" if settings.dynamic_scaling else ""
        return suffix + sanity_checks.folder_suffix(settings.sanity_check)


FAMILY = SupermaskTraining()
