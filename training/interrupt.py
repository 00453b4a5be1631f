"""Ctrl-C during training: the first press asks the run to stop at the next safe point (after the
current chunk of steps, whose results would otherwise be lost); a second press stops at once."""

import signal
import threading


class StopRequest:
    def __init__(self):
        self.requested = False
        self._previous = None

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exception):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False
