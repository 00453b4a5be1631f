"""Lottery tickets (Frankle & Carbin 2019): iterative magnitude pruning, resetting the survivors to
their original values or to fresh random ones."""

import dataclasses

from methods.base import Method, MethodFamily, setting
from networks import network_entry, networks_where
from networks.registry import defaults_text

WITH_CONVOLUTIONS = networks_where(lambda entry: entry.has_convolutions)


@dataclasses.dataclass(frozen=True)
class LotterySettings:
    reset: str = setting("original", "IMP: reset survivors to their original initial values, or to fresh "
                         "random ones (pruning the re-trained random network, after Han et al.), or 'control': "
                         "Frankle & Carbin's control, the masks of the finished original-init run of the same "
                         "settings and seed, trained from fresh random weights",
                         choices=("original", "random", "control"))
    rounds: int = setting(5, "IMP: pruning rounds after the first dense training", type=int,
                          valid=lambda value: value >= 0, requirement="must be 0 or more")
    prune_rate: float = setting(0.2, "IMP: fraction of the remaining dense weights removed per round and "
                                "layer (the output layer at half this rate)", type=float, flag="--prune-rate",
                                valid=lambda value: 0 < value < 1, requirement="must lie strictly between 0 and 1")
    prune_rate_conv: float = setting(None, "IMP: the same for convolutions; default per network, as Frankle & "
                                     f"Carbin: {defaults_text('lottery_conv_prune_rate')}", type=float,
                                     flag="--prune-rate-conv", valid=lambda value: value is None or 0 < value < 1,
                                     requirement="must lie strictly between 0 and 1",
                                     applies=("nettype", WITH_CONVOLUTIONS, "the networks with convolutions, "
                                              "--nettype " + ", ".join(WITH_CONVOLUTIONS)))


class LotteryTickets(MethodFamily):
    name = "lottery"
    title = "Lottery tickets (Frankle & Carbin 2019)"
    settings_class = LotterySettings

    @property
    def experiment_class(self):
        # Imports Keras: not before the backend is chosen (methods/base.py).
        from lottery.experiment import LotteryTicketExperiment
        return LotteryTicketExperiment

    default_initializer = "glorot"
    methods = (
        Method("IMP", "prunes trained weights by magnitude over rounds under a fixed 0/1 mask", ("mask",), "mask",
               "pruning", "#9467bd", "o", use_fixed_mask=True),
    )

    def resolved_settings(self, config):
        settings = config.method_settings
        if settings.prune_rate_conv is not None:
            return settings
        return dataclasses.replace(settings, prune_rate_conv=network_entry(config.nettype).lottery_conv_prune_rate)

    def folder_suffix(self, config):
        settings = self.resolved_settings(config)
        rates = f"R{settings.prune_rate}" + (f"_C{settings.prune_rate_conv}"
                                             if network_entry(config.nettype).has_convolutions else "")
        return f"_{settings.reset}_{rates}"


FAMILY = LotteryTickets()
