"""The one epoch driver: trains N >= 1 runs (training.loop.Experiment) together, epoch by epoch. A solo run is a
pack of one; several runs of one network on JAX are a pack (`--pack N`, training/steps_packed.py).

Each member is a run in every respect but the arithmetic: its own seed, folder, run ID, logs, data order,
augmentation draws, checkpoints after every epoch, TensorBoard events, final files and method state. Its method's
hooks (training/loop.py: start, phases, epoch_trained, record) run on its own Keras variables between epochs: the
driver writes every member's values back into them after an epoch's steps and stacks them again before the next.
What is shared is the compiled program and the data set on the device. Members stay in step: the same epoch, the
same number of steps per epoch, the same phases (they share every setting that shapes them: training/pack.py). A
member whose loss becomes NaN, or whose method fails, is marked failed and the others go on; Ctrl-C saves every
member, and each resumes with `--resume` like any run.
"""

import dataclasses
import secrets
import time

import numpy as np

from results.writer import BackgroundWriter
from training.console import EpochProgress
from training.interrupt import StopRequest
from training.steps import SoloSteps

STEPS_PER_CALL = 200  # steps per compiled call: the points where a progress bar moves or Ctrl-C stops
NEW_PHASE, SAME_CURVES = "new phase", "same curves"  # what a member's next_phase started (False: nothing)


class TrainingFailed(RuntimeError):
    """The run could not go on (e.g. a NaN loss); its logs are kept and marked failed."""


class TrainingInterrupted(RuntimeError):
    """Ctrl-C: the state was saved; the message says how to resume."""


@dataclasses.dataclass
class EpochPlan:
    """What a member trains in an epoch: where it stands (step, losses and correct counts so far, seconds, the
    shuffle generator's state at the epoch's start), and its batches: indices and weights (steps, batch), and the
    augmentation's shifts (steps, batch, 3) or None."""

    progress: dict
    batch_indices: np.ndarray
    batch_weights: np.ndarray
    batch_shifts: np.ndarray = None


def failure_of(epoch, chunk_losses):
    """TrainingFailed when a step's loss is not finite, else None."""
    if np.all(np.isfinite(chunk_losses)):
        return None
    return TrainingFailed(f"The training loss became {chunk_losses[~np.isfinite(chunk_losses)][0]} in epoch "
                          f"{epoch}, so the run stopped and is marked failed in its logs; try a smaller --lr.")


def epoch_result(losses, correct, weights):
    """(mean loss, accuracy) of an epoch from its steps' mean losses and correct counts."""
    sizes = weights.sum(axis=1, dtype=np.float64)
    return float(np.dot(losses, sizes) / sizes.sum()), float(np.sum(correct) / sizes.sum())


def labelled(print_line, run_id):
    def print_labelled(line):
        print_line(f"{run_id} {line}")
    return print_labelled


def pack_steps(members):
    """The steps that train `members` together: a pack's (JAX), or one run's own."""
    first = members[0].steps
    if len(members) == 1:
        return getattr(first, "pack_of_one", None) or SoloSteps(first)
    from training.steps_packed import PackedJaxSteps  # JAX only: a TensorFlow process never imports it
    return PackedJaxSteps([member.steps for member in members])


SPLITS = {"train": ("x_train", "y_train"), "val": ("x_val", "y_val"), "test": ("x_test", "y_test")}


class EpochEvaluation:
    """What the members' records of one epoch ask for, computed for all members at the first member's request:
    splits evaluated (under a variant of the variables that `prepare(member)` sets, for sampled masks) and mask
    counts."""

    def __init__(self, driver):
        self.driver = driver
        self.results = {}
        self.state = self.counts = self.host = None

    def current_state(self):
        if self.state is None:
            self.state, self.counts, self.host = self.driver.steps.stacked_state(), None, None
        return self.state

    def splits(self, member, names, variant=None, prepare=None, restore=None):
        """[(mean loss, accuracy)] of `member` on each split of `names` ("train", "val", "test"); the mask counts
        come with them, in the same compiled call. prepare(member) changes every active member's variables before,
        restore(member) changes them back after (a sanity check's evaluation, which is not the run's state)."""
        key = (tuple(names), variant)
        if key not in self.results:
            if prepare is not None:
                for index in self.driver.active:
                    prepare(self.driver.members[index])
                self.state = None  # the variables changed
            data = [tuple(getattr(member.dataset, part) for part in SPLITS[name]) for name in names]
            self.results[key], self.counts = self.driver.steps.evaluate_splits(self.current_state(), data)
            if restore is not None:
                for index in self.driver.active:
                    restore(self.driver.members[index])
                self.state = self.counts = None
        position = self.driver.members.index(member)
        return [results[position] for results in self.results[key]]

    def mask_counts(self, member):
        """(layers, 6) mask counts of `member` as its variables are now."""
        if self.counts is None:
            self.counts = self.driver.steps.mask_counts(self.current_state())
        return np.asarray(self.counts[self.driver.members.index(member)])

    def host_values(self, member):
        """(model values, optimizer values) of `member` on the host, for its checkpoint: the whole pack's state
        copied from the device at once; None where the variables are read directly (TensorFlow)."""
        if self.host is None:
            self.host = self.driver.steps.host_values(self.current_state())
        return self.host[self.driver.members.index(member)]


class EpochDriver:
    def __init__(self, members, print_line=print):
        self.members = list(members)
        self.print_line = print_line
        self.steps = pack_steps(self.members)
        self.active = list(range(len(self.members)))  # members neither failed nor finished
        self.failures = []
        if len(self.members) > 1:
            pack_id = secrets.token_hex(4)
            for index, member in enumerate(self.members):
                # The members' epoch lines interleave: each starts with its run's ID.
                member.print_line = labelled(member.print_line, member.run_id)
                # A resumed member keeps the record of the pack it started in.
                member.log.data.setdefault("pack", {"packId": pack_id, "member": index,
                                                    "runIds": [other.run_id for other in self.members]})

    def lead(self):
        return self.members[self.active[0]]

    def run(self):
        """Trains every member to its end; returns their logs. TrainingFailed (after the others finished) when a
        member failed, TrainingInterrupted on Ctrl-C (every member saved)."""
        for member in self.members:
            member.events = member.open_events()
        try:
            with BackgroundWriter() as writer, StopRequest() as stop:
                for member in self.members:  # the members' files, written while the next epoch trains
                    member.writer = writer
                if self.lead().completed_epochs() < 0:
                    self.each(lambda member: member.start())
                    self.record(0, None, time.time())
                while self.active:
                    epoch = self.lead().completed_epochs() + 1
                    if epoch > self.lead().phase_epochs():
                        started = time.time()
                        outcomes = self.each(lambda member: member.next_phase())
                        self.record(0, None, started, [index for index in self.active
                                                       if outcomes.get(index) == NEW_PHASE])
                        if set(outcomes.values()) & {NEW_PHASE, SAME_CURVES}:
                            continue
                        break
                    started = time.time()
                    results = self.train_epoch(epoch, stop)
                    self.record(epoch, results, started)
                    if stop.requested:
                        raise self.interrupted()
                logs = [self.members[index].finish() for index in self.active]
        finally:
            for member in self.members:
                member.writer = None
                if member.events:
                    member.events.close()
        self.raise_failure()
        return logs

    def each(self, hook):
        """{member index: hook(member)} over the active members; a member whose hook fails is marked failed."""
        outcomes = {}
        for index in list(self.active):
            try:
                outcomes[index] = hook(self.members[index])
            except TrainingFailed as failure:
                self.fail(index, failure)
        return outcomes

    def fail(self, index, failure):
        self.members[index].mark_failed(failure)
        self.active.remove(index)
        self.failures.append((self.members[index].run_id, failure))
        if len(self.members) > 1:
            self.print_line(f"Run {self.members[index].run_id} of the pack failed: {failure}")

    def raise_failure(self):
        if not self.failures:
            return
        run_id, failure = self.failures[0]
        if len(self.members) == 1:
            raise failure
        raise TrainingFailed(f"{len(self.failures)} of the {len(self.members)} runs of the pack failed (the "
                             f"others finished): run {run_id}: {failure}")

    def train_epoch(self, epoch, stop):
        """{member index: (mean loss, accuracy)} after one epoch of every active member, whose variables then hold
        its values and whose method has seen the epoch end (epoch_trained)."""
        plans = {index: self.members[index].epoch_plan(epoch) for index in self.active}
        state = self.steps.stacked_state()  # after epoch_plan: with each member's learning rate of this epoch
        first = plans[self.active[0]]
        # Every member of a pack is at the same step: the pack is saved and resumed together.
        start_step, steps = first.progress["step"], len(first.batch_indices)
        # A failed member trains on in the pack on the first member's batches; its results are ignored.
        indices, weights, shifts = (
            None if getattr(first, part) is None else
            np.stack([getattr(plans.get(index, first), part) for index in range(len(self.members))])
            for part in ("batch_indices", "batch_weights", "batch_shifts"))
        losses = {index: list(plans[index].progress["losses"]) for index in self.active}
        correct = {index: list(plans[index].progress["correct"]) for index in self.active}
        started = time.time() - first.progress["seconds"]
        bar = EpochProgress(steps)
        for start in range(start_step, steps, STEPS_PER_CALL):
            stop_step = min(start + STEPS_PER_CALL, steps)
            state, chunk_losses, chunk_correct = self.steps.train_steps(state, indices, weights, start, stop_step,
                                                                        shifts)
            for index in list(self.active):
                losses[index].extend(chunk_losses[index].tolist())
                correct[index].extend(chunk_correct[index].tolist())
                failure = failure_of(epoch, chunk_losses[index])
                if failure:
                    self.fail(index, failure)
            if not self.active:
                bar.close()
                return {}
            bar.update(stop_step, float(np.mean([np.mean(losses[index]) for index in self.active])))
            if stop.requested and stop_step < steps:
                bar.close()
                self.steps.store(state, self.active)
                for index in self.active:
                    self.members[index].epoch_in_progress = {
                        **plans[index].progress, "step": stop_step, "losses": losses[index],
                        "correct": correct[index], "seconds": time.time() - started}
                raise self.interrupted()
        bar.close()
        self.steps.store(state, self.active)
        for index in self.active:
            self.members[index].epoch_in_progress = None
        results = {index: epoch_result(losses[index], correct[index], first.batch_weights) for index in self.active}
        self.each(lambda member: member.epoch_trained(epoch))
        return {index: result for index, result in results.items() if index in self.active}

    def record(self, epoch, train_results, started, indices=None):
        """Each active member's epoch (train_results None: its epoch 0, whose training split is evaluated), logged
        and saved by the member itself; `indices`: only these members."""
        evaluation = EpochEvaluation(self)
        chosen = set(self.active if indices is None else indices)
        self.each(lambda member: member.record(
            epoch, None if train_results is None else train_results[self.members.index(member)], evaluation,
            started) if self.members.index(member) in chosen else None)

    def interrupted(self):
        for index in self.active:
            self.members[index].interrupted()  # saves the member's state and marks its logs interrupted
        example = self.members[(self.active or [0])[0]].path("logs")
        if len(self.members) == 1:
            return TrainingInterrupted(f"Interrupted; the state is saved. Resume with: python MaskTrainer.py "
                                       f"--resume {example}")
        return TrainingInterrupted(f"Interrupted; the state of the {len(self.active)} run(s) of the pack is saved. "
                                   f"Resume each with: python MaskTrainer.py --resume LOGS (e.g. {example})")
