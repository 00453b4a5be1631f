"""A pack: several runs of one configuration's network trained together, epoch by epoch (`--pack N`).

Each member is a training.loop.Experiment in every respect but the arithmetic: its own seed, folder, run ID,
logs, data order, augmentation draws, checkpoints after every epoch, TensorBoard events and final files. What
is shared is the compiled program (training/steps_packed.py) and the data set on the device. Members stay in
step: the same epoch, the same number of steps per epoch. A member whose loss becomes NaN is marked failed and
the others go on; Ctrl-C saves every member, and each resumes with `--resume` like any run.

What may differ between members is what the compiled program takes as values, not as its shape: the seed
(hence initial weights, scores, data order and augmentation), p1, the initializer, the learning rate and its
drops. `pack_signature` is everything else; runs pack together only when it is equal.
"""

import secrets
import time

import numpy as np

from results import atomic
from training.console import EpochProgress
from training.interrupt import StopRequest
from training.loop import STEPS_PER_CALL, TrainingFailed, TrainingInterrupted, kernels

# Settings a pack's members may differ in (values inside the compiled program, not its shape).
MAY_DIFFER = ("seed", "p1", "initializer", "lr", "lr_drops", "lr_schedule")


def pack_signature(config):
    """The settings runs must share to train in one pack."""
    return tuple(sorted((name, value) for name, value in config.identity().items() if name not in MAY_DIFFER))


def labelled(print_line, run_id):
    def print_labelled(line):
        print_line(f"{run_id} {line}")
    return print_labelled


class PackedRuns:
    def __init__(self, experiments, print_line=print):
        from training.steps_packed import PackedJaxSteps
        self.members = list(experiments)
        self.print_line = print_line
        signatures = {pack_signature(member.config) for member in self.members}
        if len(signatures) != 1:
            raise ValueError("The runs of a pack must share everything but " + ", ".join(MAY_DIFFER) + ".")
        self.steps = PackedJaxSteps([member.steps for member in self.members])
        self.active = list(range(len(self.members)))  # members neither failed nor finished
        self.failures = []
        pack_id = secrets.token_hex(4)
        for index, member in enumerate(self.members):
            # The members' epoch lines interleave: each starts with its run's ID.
            member.print_line = labelled(member.print_line, member.run_id)
            # A resumed member keeps the record of the pack it started in.
            member.log.data.setdefault("pack", {"packId": pack_id, "member": index,
                                                "runIds": [other.run_id for other in self.members]})

    def run(self):
        """Trains every member to its end; returns their logs. TrainingFailed (after the others finished) when a
        member failed, TrainingInterrupted on Ctrl-C (every member saved)."""
        for member in self.members:
            member.events = member.open_events()
        try:
            with StopRequest() as stop:
                if self.members[0].completed_epochs() < 0:
                    for member in self.members:
                        atomic.write_npz(member.path("initial_weights"), kernels(member.layers))
                        member.prepare_new_run()
                    state, dataset = self.steps.stacked_state(), self.members[0].dataset
                    training = self.steps.evaluate(state, dataset.x_train, dataset.y_train)
                    self.record(0, state, dict(enumerate(training)), time.time())
                while self.active:
                    epoch = self.members[self.active[0]].completed_epochs() + 1
                    if epoch > self.members[0].config.maxepochs:
                        break
                    started = time.time()
                    state, results = self.train_epoch(epoch, stop)
                    self.record(epoch, state, results, started)
                    if stop.requested:
                        raise self.interrupted()
        finally:
            for member in self.members:
                if member.events:
                    member.events.close()
        logs = [self.members[index].finish() for index in self.active]
        if self.failures:
            raise TrainingFailed(f"{len(self.failures)} of the {len(self.members)} runs of the pack failed (the "
                                 f"others finished): {self.failures[0]}")
        return logs

    def fail(self, index, failure):
        self.members[index].mark_failed(failure)
        self.active.remove(index)
        self.failures.append(f"run {self.members[index].run_id}: {failure}")
        self.print_line(f"Run {self.members[index].run_id} of the pack failed: {failure}")

    def train_epoch(self, epoch, stop):
        """(stacked state, {member: (mean loss, accuracy)}) after one epoch of every active member."""
        plans = {index: self.members[index].epoch_plan(epoch) for index in self.active}
        state = self.steps.stacked_state()  # after epoch_plan: with each member's learning rate of this epoch
        first = plans[self.active[0]]
        # Every member of a pack is at the same step: the pack is saved and resumed together.
        start_step, steps = first[0]["step"], len(first[1])
        stacked = [np.stack([plans[index][part] if index in plans else first[part]
                             for index in range(len(self.members))]) for part in (1, 2)]
        shifts = None if first[3] is None else np.stack([plans.get(index, first)[3]
                                                         for index in range(len(self.members))])
        losses = {index: list(plans[index][0]["losses"]) for index in self.active}
        correct = {index: list(plans[index][0]["correct"]) for index in self.active}
        started = time.time() - first[0]["seconds"]
        bar = EpochProgress(steps)
        for start in range(start_step, steps, STEPS_PER_CALL):
            stop_step = min(start + STEPS_PER_CALL, steps)
            state, chunk_losses, chunk_correct = self.steps.train_steps(state, *stacked, start, stop_step, shifts)
            for index in list(self.active):
                losses[index].extend(chunk_losses[index].tolist())
                correct[index].extend(chunk_correct[index].tolist())
                failure = self.members[index].failure_of(epoch, chunk_losses[index])
                if failure:
                    self.fail(index, failure)
            if not self.active:
                bar.close()
                return state, {}
            bar.update(stop_step, float(np.mean([np.mean(losses[index]) for index in self.active])))
            if stop.requested and stop_step < steps:
                bar.close()
                self.steps.store(state, self.active)
                for index in self.active:
                    self.members[index].epoch_in_progress = {
                        **plans[index][0], "step": stop_step, "losses": losses[index], "correct": correct[index],
                        "seconds": time.time() - started}
                raise self.interrupted()
        bar.close()
        for index in self.active:
            self.members[index].epoch_in_progress = None
        weights = first[2]
        return state, {index: self.members[index].epoch_result(losses[index], correct[index], weights)
                       for index in self.active}

    def record(self, epoch, state, train_results, started):
        """Each active member's epoch: evaluated together, then logged and saved by the member itself."""
        self.steps.store(state, self.active)
        dataset = self.members[0].dataset
        validation = self.steps.evaluate(state, dataset.x_val, dataset.y_val)
        test = self.steps.evaluate(state, dataset.x_test, dataset.y_test)
        counts = self.steps.mask_counts(state)
        for index in list(self.active):
            try:
                self.members[index].record_evaluated_epoch(epoch, train_results[index], validation[index],
                                                           test[index], counts[index], started)
            except TrainingFailed as failure:
                self.fail(index, failure)

    def interrupted(self):
        for index in self.active:
            self.members[index].interrupted()  # saves the member's state and marks its logs interrupted
        example = self.members[self.active[0]].path("logs")
        return TrainingInterrupted(f"Interrupted; the state of the {len(self.active)} run(s) of the pack is saved. "
                                   f"Resume each with: python MaskTrainer.py --resume LOGS (e.g. {example})")
