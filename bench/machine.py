"""What the machine is and how busy it is: CPU model, load average, CPU used by other processes; the frameworks' threads
and versions."""

import os
import platform
import resource
import time


def cpu_model():
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_average():
    return [round(value, 2) for value in os.getloadavg()]


def _busy_and_total_seconds():
    """System-wide busy CPU seconds (all cores) from /proc/stat, or None off Linux."""
    try:
        with open("/proc/stat") as handle:
            fields = [int(value) for value in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / ticks


def _own_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class LoadMeter:
    """CPU cores kept busy by OTHER processes while the meter runs: (all busy - ours) / wall time."""

    def __init__(self):
        self.started = time.perf_counter()
        self.busy = _busy_and_total_seconds()
        self.own = _own_cpu_seconds()

    def others_cores(self, child_seconds=0.0):
        """child_seconds: CPU time our own child process used meanwhile (not another process's load)."""
        busy = _busy_and_total_seconds()
        if busy is None or self.busy is None:
            return None
        wall = time.perf_counter() - self.started
        others = (busy - self.busy) - (_own_cpu_seconds() - self.own) - child_seconds
        return round(max(others, 0.0) / wall, 2)


def wait_for_quiet(threshold, max_wait, print_line=print):
    """Waits (up to max_wait seconds) until the 1-minute load average drops below `threshold`."""
    deadline = time.monotonic() + max_wait
    while os.getloadavg()[0] >= threshold and time.monotonic() < deadline:
        print_line(f"load average {load_average()} >= {threshold}: waiting for the machine to calm down")
        time.sleep(min(30, max(1, deadline - time.monotonic())))
    return load_average()


def framework_facts():
    """The threads and versions the CPU benchmarks (TensorFlow, Keras, torch) record."""
    import keras
    import numpy
    import tensorflow as tf
    import torch
    return {"threads": {"torch_num_threads": torch.get_num_threads(),
                        "tf_intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                        "tf_inter_op": tf.config.threading.get_inter_op_parallelism_threads()},
            "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                         "keras": keras.__version__, "torch": torch.__version__, "numpy": numpy.__version__}}
