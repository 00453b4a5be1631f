"""Iterative magnitude pruning: train, prune, reset the survivors, train again, for --rounds rounds.

Round 0 trains the dense network. Each round trains --maxepochs epochs with a fresh Adam and logs the
reference's per-epoch curves; finished rounds are kept in the logs under "rounds", while the top-level
curves belong to the round in progress (so the last round's when the run ends).
"""


import numpy as np

from initializers import get_initializer
from lottery.control import paired_mask, paired_original_run
from lottery.pruning import layer_prune_rates, prune_by_magnitude
from masking import unmasked_variables
from results import atomic
from results.paths import round_masks_file
from results.run_log import EPOCH_KEYS
from training.loop import NEW_PHASE, Experiment, kernels, mask_arrays


class LotteryTicketExperiment(Experiment):
    def __init__(self, config, *arguments, **keywords):
        # --reset control: found before the run claims its ID, so a missing pair leaves nothing behind.
        self.paired = paired_original_run(config) if config.method_settings.reset == "control" else None
        super().__init__(config, *arguments, **keywords)
        self.settings = self.config.family.resolved_settings(self.config)  # methods/lottery_tickets.py: LotterySettings
        # The network is rebuilt identically from the seed, so these are the original values on resume too.
        self.initial_kernels = kernels(self.layers)
        # The other variables (BatchNorm's, in the ResNets) go back to their initial values in every round too:
        # a ticket is the masked network from its start.
        self.other_variables = unmasked_variables(self.model, self.layers)
        self.other_initial_values = [np.array(variable) for variable in self.other_variables]

    def prepare_new_run(self):
        self.log.data["rounds"] = []
        if self.paired:
            self.log.data["pairedRun"] = self.paired[1]
            for layer_index, layer in enumerate(self.layers):
                layer.kernel.assign(self.reset_values(layer, layer_index, 0))
            initial = kernels(self.layers)
            self.write(lambda: atomic.write_npz(self.path("initial_weights"), initial))

    def next_phase(self):
        rounds = self.log.data["rounds"]
        rounds.append(self.round_summary())
        masks, path = mask_arrays(self.layers), round_masks_file(self.folder, self.run_id, len(rounds) - 1)
        self.write(lambda: atomic.write_npz(path, masks))
        if len(rounds) > self.settings.rounds:
            return False
        self.prune_and_reset(len(rounds))
        for key in EPOCH_KEYS:
            self.log.data[key] = []
        remaining = sum(float(np.sum(layer.fixed_mask)) for layer in self.layers) / self.log.data["totalWeights"]
        self.print_line(f"Round {len(rounds)} of {self.settings.rounds}: pruned to {remaining:.2%} of the weights, "
                        f"reset the survivors ({self.settings.reset}), training again")
        return NEW_PHASE

    def prune_and_reset(self, round_index):
        rates = layer_prune_rates(self.layers, self.settings.prune_rate, self.settings.prune_rate_conv)
        for layer_index, (layer, rate) in enumerate(zip(self.layers, rates)):
            if self.paired:
                mask = paired_mask(*self.paired, round_index, layer.name)
            else:
                mask = prune_by_magnitude(np.asarray(layer.kernel), np.asarray(layer.fixed_mask), rate)
            layer.set_fixed_mask(mask)
            layer.kernel.assign(self.reset_values(layer, layer_index, round_index) * mask)
        for variable, value in zip(self.other_variables, self.other_initial_values, strict=True):
            variable.assign(value)
        self.reset_optimizer()

    def reset_values(self, layer, layer_index, round_index):
        if self.settings.reset == "original":
            return self.initial_kernels[layer.name]
        entropy = [self.config.seed, round_index, layer_index]
        if self.settings.reset == "control":
            # numpy's SeedSequence ignores trailing zeros, so round 0 of layer 0 would draw from the run seed
            # itself, i.e. the original weights; a last nonzero word gives the control a stream of its own.
            entropy.append(2)
        seed = int(np.random.default_rng(entropy).integers(1, 2**31 - 1))
        initializer = get_initializer(self.config.resolved_initializer(), seed, self.config.p1)
        return np.asarray(initializer(tuple(layer.kernel.shape)))

    def round_summary(self):
        data = self.log.data
        summary = {key: data[key] for key in EPOCH_KEYS}
        per_layer = np.asarray(data["remainingWeightsPerLayer"][-1])
        sizes = np.asarray(data["layerSizes"])
        best = int(np.argmax(data["valAccuracy"][1:])) + 1 if len(data["valAccuracy"]) > 1 else 0
        summary.update({
            "remainingFraction": data["remainingWeights"][-1] / data["totalWeights"],
            "remainingFractionPerLayer": ((per_layer[:, 0] + per_layer[:, 2]) / sizes).tolist(),
            "bestValidationEpoch": best,
            "testAccuracyAtBestValidation": data["testAccuracy"][best],
            "finalTestAccuracy": data["testAccuracy"][-1],
        })
        return summary
