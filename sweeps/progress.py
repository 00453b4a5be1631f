"""Progress of a sweep: one line per run that ends (done / total, elapsed, estimated time left) and
the final summary."""

import time


def duration(seconds):
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"


class Progress:
    """Counts the runs of a sweep. Skipped runs (finished already, or being trained by another process: `busy`,
    (label, note) pairs) count as done from the start; the time left is the mean wall time per run executed so far
    (parallel workers included) times the runs still to execute."""

    def __init__(self, total, skipped, busy=(), clock=time.monotonic):
        self.total = total
        self.skipped = skipped
        self.busy = list(busy)
        self.clock = clock
        self.started = clock()
        self.executed = 0
        # busy: runs that another process was found training when their turn came (MaskTrainer.py exit 75).
        self.outcomes = {"finished": [], "resumed": [], "failed": [], "interrupted": [], "busy": []}

    def elapsed(self):
        return self.clock() - self.started

    def record(self, outcome, label, logs_path, seconds, detail=""):
        """Records one run's end ('finished', 'resumed' = finished after a resume, 'failed',
        'interrupted', 'busy' = left to another process that is training it) and returns its progress line."""
        self.outcomes[outcome].append((label, logs_path, detail))
        self.executed += 1
        done = self.skipped + len(self.busy) + self.executed
        left = self.total - done
        estimate = (f"about {duration(self.elapsed() / self.executed * left)} left" if left
                    else "nothing left")
        if outcome == "busy":
            return (f"[{done}/{self.total}] skipped: {label}: {detail or 'another process is training it'}; "
                    f"elapsed {duration(self.elapsed())}, {estimate}")
        shown = "finished (resumed)" if outcome == "resumed" else outcome
        return (f"[{done}/{self.total}] {shown}: {label} in {duration(seconds)}; "
                f"elapsed {duration(self.elapsed())}, {estimate}")

    def summary(self):
        finished, resumed = self.outcomes["finished"], self.outcomes["resumed"]
        failed, interrupted = self.outcomes["failed"], self.outcomes["interrupted"]
        busy = [(label, None, note) for label, note in self.busy] + self.outcomes["busy"]
        not_started = self.total - self.skipped - len(self.busy) - self.executed
        lines = [(f"Sweep summary after {duration(self.elapsed())}: {len(finished) + len(resumed)} finished "
                  f"({len(resumed)} of them resumed), {self.skipped} skipped (finished already), "
                  + (f"{len(busy)} skipped (being trained by other processes), " if busy else "")
                  + f"{len(failed)} failed, {len(interrupted)} interrupted, {not_started} not started.")]
        for title, runs in (("Failed runs", failed), ("Interrupted runs (resumable)", interrupted),
                            ("Left to the processes training them (run the same command later to check)", busy)):
            if runs:
                lines.append(f"{title}:")
                lines.extend(f"  {label}: {logs_path or detail or 'no logs written'}"
                             + (f" ({detail})" if detail and logs_path else "") for label, logs_path, detail in runs)
        return lines
