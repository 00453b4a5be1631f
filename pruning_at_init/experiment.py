"""The Experiment that runs the eight pruning-at-initialisation methods.

- RandomPruning: one random mask at sparsity S (seeded by the run seed), fixed from epoch 0.
- SNIP, GraSP, SynFlow, MagnitudeAtInit: the mask their criterion chooses (pruning_at_init/criteria/), fixed from
  epoch 0, or its sanity check (--sanity-check, pruning_at_init/sanity.py).
- DissipatingGradients: dense start; after each of the first E epochs weights that barely moved are
  removed (dissipation.py) until the sparsity is exactly S after epoch E; then the mask stays fixed.
- KStarts / KStartsDG: K candidates, each from the same initial weights, a fresh Adam and the same data
  order, train E epochs (KStarts: a random mask at S; KStartsDG: a random mask at S/2, then dissipating
  gradients up to S). The fittest (fitness.py) continues from its state after epoch E to --maxepochs.
  The run's curves are the chosen candidate's; each candidate's test accuracy is in the logs.
"""

import copy
import time

import numpy as np

from pruning_at_init import sanity, variables
from pruning_at_init.criteria import CRITERIA, criterion_masks
from pruning_at_init.criteria.scoring import CriterionError, ScoringContext, check_connected
from pruning_at_init.dissipation import dissipation_masks
from pruning_at_init.fitness import gradient_fitness, magnitude_fitness
from pruning_at_init.masks import random_masks, sparsity_of
from pruning_at_init.selection import CandidateSelection, numbered_arrays
from results.run_log import EPOCH_KEYS
from training.compiled_steps import compiled_steps
from training.loop import NEW_PHASE, SAME_CURVES, Experiment, TrainingFailed

SANITY_DESCRIPTIONS = {"shuffle": "each layer's mask shuffled", "reinit": "the weights drawn again with another seed",
                       "invert": "the lowest scores kept"}
MASK_STREAM = 2  # generator of candidate k's random mask: numpy default_rng([seed, MASK_STREAM, k])
SCORING_STREAM = 3  # generator of the examples SNIP and GraSP score: numpy default_rng([seed, SCORING_STREAM])


class PruningAtInitExperiment(Experiment):
    """config.method says what the method does (methods/pruning_at_initialisation.py: k_starts, dissipates,
    start_fraction); config.method_settings holds --sparsity, --kstarts and the other settings."""

    def __init__(self, config, dataset, print_line=print, run_id=None):
        self.settings = config.family.resolved_settings(config)
        self.selection = (CandidateSelection(self.settings.kstarts, self.settings.fitness)
                          if config.method.k_starts else None)
        super().__init__(config, dataset, print_line, run_id)
        self.dissipates = config.method.dissipates
        self.sanity_check = self.settings.sanity_check if "sanity_check" in config.method.uses else "none"
        self.initial_values = None  # model variables at initialisation (dense), while still needed

    def compiled_steps(self):
        if not self.selection:
            return super().compiled_steps()
        return compiled_steps(self.model, self.optimizer, self.dataset.x_train, self.dataset.y_train,
                              self.layers, jit_compile=self.use_xla, track_gradients=True)

    def start_sparsity(self):
        """Sparsity of the mask a run (or candidate) starts with."""
        return self.settings.sparsity * self.method.start_fraction

    # Hooks of Experiment ----------------------------------------------------------------------
    def prepare_new_run(self):
        self.initial_values = variables.values_of(self.model.variables)
        if self.selection:
            self.selection.start_generator = copy.deepcopy(self.shuffle_generator.bit_generator.state)
        self.start_candidate(0)

    def phase_epochs(self):
        if self.selection and not self.selection.finished:
            return self.settings.selection_epochs
        return self.config.maxepochs

    def next_phase(self):
        if not self.selection or self.selection.finished:
            return False
        self.finish_candidate()
        if self.selection.candidate + 1 < self.selection.count:
            self.selection.candidate += 1
            self.start_candidate(self.selection.candidate)
            for key in EPOCH_KEYS:
                self.log.data[key] = []
            return NEW_PHASE
        self.continue_fittest()
        return SAME_CURVES

    def epoch_trained(self, epoch):
        if self.dissipates and epoch <= self.settings.selection_epochs:
            masks = dissipation_masks(
                variables.current_masks(self.layers), self.initial_kernels(),
                variables.current_kernels(self.layers), threshold=self.settings.dissipation,
                start_sparsity=self.start_sparsity(), sparsity=self.settings.sparsity, epoch=epoch,
                epochs=self.settings.selection_epochs, scope=self.settings.pruning_scope)
            variables.apply_masks(self.layers, masks, self.optimizer)

    def record(self, epoch, train_result, evaluation, started):
        overall, per_layer = sparsity_of(variables.current_masks(self.layers))
        self.log.data.update(maskSparsity=overall, maskSparsityPerLayer=per_layer)
        super().record(epoch, train_result, evaluation, started)

    def method_state(self):
        state, arrays = {}, {}
        if self.needs_initial_values():
            arrays.update({f"initial_{i}": value for i, value in enumerate(self.initial_values)})
        if self.selection:
            state["selection"], selection_arrays = self.selection.to_state()
            arrays.update(selection_arrays)
            arrays.update({f"gradient_{i}": value for i, value in enumerate(self.steps.gradient_values())})
        return state, arrays

    def restore_method_state(self, state, arrays):
        self.initial_values = numbered_arrays(arrays, "initial_") or None
        if self.selection:
            self.selection.restore(state["selection"], arrays)
            self.steps.set_gradient_values(numbered_arrays(arrays, "gradient_"))

    # Candidates and masks ---------------------------------------------------------------------
    def needs_initial_values(self):
        if self.selection:
            return not self.selection.finished
        return self.dissipates and self.completed_epochs() < self.settings.selection_epochs

    def initial_kernels(self):
        return variables.kernel_values(self.model, self.layers, self.initial_values)

    def start_candidate(self, index):
        """Initial weights, candidate `index`'s random mask, a fresh Adam and the first epoch's data order."""
        variables.assign_all(self.model.variables, self.initial_values)
        variables.assign_all(self.optimizer.variables, self.fresh_optimizer_values)
        masks = self.starting_masks(index)
        if self.sanity_check == "reinit":
            config = self.config
            redrawn = sanity.redrawn_kernels([tuple(layer.kernel.shape) for layer in self.layers], config.seed,
                                             config.resolved_initializer(), config.p1,
                                             config.masking_options().fan_scale)
            for layer, kernel in zip(self.layers, redrawn, strict=True):
                layer.kernel.assign(kernel)
        variables.apply_masks(self.layers, masks, self.optimizer)
        if self.selection:
            self.steps.set_gradient_values(None)
            self.shuffle_generator.bit_generator.state = copy.deepcopy(self.selection.start_generator)
            self.print_line(f"K-starts: candidate {index + 1} of {self.selection.count}, "
                            f"{self.settings.selection_epochs} selection epochs")

    def starting_masks(self, index):
        """Candidate `index`'s random mask, or the mask the method's criterion chooses (one candidate)."""
        if CRITERIA[self.method.criterion].at_random:
            generator = np.random.default_rng([self.config.seed, MASK_STREAM, index])
            shapes = [tuple(layer.kernel.shape) for layer in self.layers]
            return random_masks(shapes, self.start_sparsity(), self.settings.pruning_scope, generator)
        count = min(self.settings.scoring_examples, len(self.dataset.x_train))
        chosen = np.random.default_rng([self.config.seed, SCORING_STREAM]).choice(
            len(self.dataset.x_train), count, replace=False)
        context = ScoringContext(self.model, self.layers, self.dataset.x_train[np.sort(chosen)],
                                 self.dataset.y_train[np.sort(chosen)].astype("int32"), self.settings.sparsity,
                                 self.settings.pruning_scope, self.settings, self.method.name,
                                 invert=self.sanity_check == "invert")
        started = time.time()
        try:
            masks = criterion_masks(self.method.criterion, context)
        except CriterionError as error:
            raise TrainingFailed(str(error)) from None
        if self.sanity_check == "shuffle":
            masks = sanity.shuffled(masks, self.config.seed)
            try:
                check_connected(context, masks)
            except CriterionError as error:
                raise TrainingFailed(str(error)) from None
        check = f"; sanity check: {SANITY_DESCRIPTIONS[self.sanity_check]}" if self.sanity_check != "none" else ""
        self.print_line(f"{self.method.name}: mask chosen in {time.time() - started:.1f} s{check}")
        return masks

    def finish_candidate(self):
        masks = variables.current_masks(self.layers)
        self.selection.finish_candidate(
            magnitude_fitness(variables.current_kernels(self.layers), masks),
            gradient_fitness(self.steps.gradient_values(), masks),
            {key: self.log.data[key] for key in EPOCH_KEYS}, self.shuffle_generator.bit_generator.state,
            variables.values_of(self.model.variables), variables.values_of(self.optimizer.variables))

    def continue_fittest(self):
        """Restores the fittest candidate where its selection epochs left it, and logs the choice."""
        model_values, optimizer_values, curves, generator_state = self.selection.release_best()
        variables.assign_all(self.model.variables, model_values)
        variables.assign_all(self.optimizer.variables, optimizer_values)
        self.shuffle_generator.bit_generator.state = generator_state
        self.log.data.update(curves)
        self.log.data.update(self.selection.summary())
        overall, per_layer = sparsity_of(variables.current_masks(self.layers))
        self.log.data.update(maskSparsity=overall, maskSparsityPerLayer=per_layer)
        self.selection.finished = True
        self.initial_values = None
        summary = self.log.data
        self.print_line(f"K-starts: candidate {summary['chosenCandidate'] + 1} is the fittest "
                        f"({self.settings.fitness} fitness "
                        + ", ".join(f"{value:.4g}" for value in summary["candidateFitness"])
                        + f"); it continues from epoch {self.completed_epochs()}")
        self.save_checkpoint()
        self.write_logs()
