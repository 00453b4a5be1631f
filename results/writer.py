"""Writes a run's files in the background, in order, so that training goes on while they reach the disk.

Each write is a task: a function of no arguments whose data the caller made beforehand (arrays copied to the
host, JSON already encoded), so that what reaches the disk is the state at submission, not the state when the
thread gets to it. One thread runs the tasks first in, first out: a run's logs, submitted after its checkpoint,
land after it, so that `--resume` and Sweep.py's skip/resume, which read the logs, never meet logs ahead of the
checkpoint. Every file is still written atomically (results/atomic.py): a process killed at any moment leaves each
file whole, old or new.

A task that fails (a full disk, a folder gone) stops the writer: its error is raised, as it was, in the training
thread at the next submission or at `drain`, and later tasks are not run, so that no file is written after one that
failed to be.
"""

import queue
import threading


class BackgroundWriter:
    def __init__(self, name="run writer"):
        self.tasks = queue.Queue()
        self.error = None
        self.thread = threading.Thread(target=self.work, name=name)  # not a daemon: the process waits for it
        self.thread.start()

    def work(self):
        while True:
            task = self.tasks.get()
            try:
                if task is None:
                    return
                if self.error is None:
                    task()
            except BaseException as error:  # handed to the training thread, which raises it
                self.error = error
            finally:
                self.tasks.task_done()

    def raise_error(self):
        if self.error is not None:  # it stays: later tasks are not run
            raise self.error

    def submit(self, task):
        """Runs task() after the tasks already submitted; raises the error of a task that failed before."""
        self.raise_error()
        self.tasks.put(task)

    def drain(self):
        """Waits until every submitted task has run; raises the error of one that failed."""
        self.tasks.join()
        self.raise_error()

    def close(self):
        """Runs what is left and stops the thread; raises the error of a task that failed."""
        if self.thread.is_alive():
            self.tasks.put(None)
            self.thread.join()
        self.raise_error()

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback):
        try:
            self.close()
        except Exception:
            if kind is None:
                raise
        return False
