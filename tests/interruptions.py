"""Simulated Ctrl-C for tests: the run 'presses' it after a given number of compiled training calls."""

import training.driver
from training.steps_tensorflow import TensorFlowSteps


class StopAfterCalls:
    """Stands in for training.interrupt.StopRequest."""

    def __init__(self, calls):
        self.calls = calls
        self.requested = False

    def __enter__(self):
        return self

    def __exit__(self, *exception):
        return False


def interrupt_after(monkeypatch, calls, steps_per_call=7):
    stop = StopAfterCalls(calls)
    monkeypatch.setattr(training.driver, "StopRequest", lambda: stop)
    monkeypatch.setattr(training.driver, "STEPS_PER_CALL", steps_per_call)
    original = TensorFlowSteps.train_steps

    def counting(self, *arguments):
        stop.calls -= 1
        stop.requested = stop.requested or stop.calls <= 0
        return original(self, *arguments)

    monkeypatch.setattr(TensorFlowSteps, "train_steps", counting)
