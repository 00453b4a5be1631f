"""A stand-in for `MaskTrainer.py --continue` in the Slurm tests that need no TensorFlow:

    python slurm_fake_run.py STATE_JSON STEPS [EXIT_CODE]

counts STEPS steps of 50 ms in STATE_JSON, continuing from it when it exists; on SIGINT (each one counted) it saves
and exits 130, as a run does; other signals act as on any process. Then exits EXIT_CODE (default 0)."""

import json
import os
import signal
import sys
import time

path, steps = sys.argv[1], int(sys.argv[2])
exit_code = int(sys.argv[3]) if len(sys.argv) > 3 else 0
state = {"step": 0, "starts": 0, "sigints": 0, "saved": 0}
if os.path.exists(path):
    with open(path) as handle:
        state = json.load(handle)


def save():
    with open(path + ".tmp", "w") as handle:
        json.dump(state, handle)
    os.replace(path + ".tmp", path)


stop = []


def count_sigint(signum, frame):
    state["sigints"] += 1
    stop.append(signum)


state["starts"] += 1
signal.signal(signal.SIGINT, count_sigint)
save()
print(f"started at step {state['step']}", flush=True)
while state["step"] < steps:
    if stop:
        time.sleep(0.2)  # a second SIGINT, if one came, is counted before the run saves
        state["saved"] += 1
        save()
        print("MaskTrainer.py: error: Interrupted; the state is saved.", flush=True)
        sys.exit(130)
    time.sleep(0.05)
    state["step"] += 1
    save()
print("MaskTrainer.py: error: the run failed." if exit_code else "done", flush=True)
sys.exit(exit_code)
