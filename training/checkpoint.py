"""One run's whole state in one .npz, replaced atomically, with the previous one kept as a fallback.

Holds every model and optimizer variable, the numpy generator state that decides the data order,
the position inside an interrupted epoch, and the logs so far, so a resumed run continues exactly
where the saved one stopped.
"""

import json
import os

import numpy as np

from results import atomic
from results.paths import checkpoint_files


class CheckpointError(RuntimeError):
    """No usable checkpoint; the message is one sentence."""


def checkpoint_arrays(model_values, optimizer_values, state, method_arrays=None):
    """What a checkpoint holds, as its arrays; the state (the logs among it) encoded now, so that what is written
    later (results/writer.py) is the state of now."""
    arrays = {f"method_{key}": value for key, value in (method_arrays or {}).items()}
    arrays.update({f"model_{index}": value for index, value in enumerate(model_values)})
    arrays.update({f"optimizer_{index}": value for index, value in enumerate(optimizer_values)})
    arrays["state_json"] = np.array(json.dumps(state))
    return arrays


def write_checkpoint(folder, run_id, arrays):
    """Writes checkpoint_arrays' result as the run's newest checkpoint, the one before kept as its fallback."""
    current, previous = checkpoint_files(folder, run_id)
    if os.path.exists(current):
        os.replace(current, previous)
    atomic.write_npz(current, arrays, compressed=False)  # written every epoch: speed over size


def save_checkpoint(folder, run_id, model_values, optimizer_values, state, method_arrays=None):
    write_checkpoint(folder, run_id, checkpoint_arrays(model_values, optimizer_values, state, method_arrays))


def _read(path):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}  # reading every member checks its CRC
    state = json.loads(str(arrays.pop("state_json")))
    model = [arrays[f"model_{index}"] for index in range(sum(k.startswith("model_") for k in arrays))]
    optimizer = [arrays[f"optimizer_{index}"] for index in range(sum(k.startswith("optimizer_") for k in arrays))]
    state["methodArrays"] = {key[len("method_"):]: value for key, value in arrays.items() if key.startswith("method_")}
    return model, optimizer, state


def saved_states(folder, run_id, warn=print):
    """(model values, optimizer values, state) of each readable checkpoint of a run, the newest first."""
    current, previous = checkpoint_files(folder, run_id)
    for path in (current, previous):
        if not os.path.exists(path):
            continue
        try:
            yield _read(path)
        except atomic.NPZ_READ_ERRORS:  # a truncated or garbled archive, or its JSON state (a ValueError)
            then = "trying the previous one" if path == current and os.path.exists(previous) else "no other is left"
            warn(f"Warning: the checkpoint {path} is truncated or corrupt; {then}.")


def load_checkpoint(folder, run_id, warn=print):
    """(model values, optimizer values, state) from the newest readable checkpoint."""
    for saved in saved_states(folder, run_id, warn):
        return saved
    raise CheckpointError(unresumable(folder, run_id))


def unresumable(folder, run_id):
    """The sentence for a run none of whose checkpoints can be read: what to remove so that it starts anew."""
    current, _ = checkpoint_files(folder, run_id)
    return (f"Run {run_id} in {folder} has no readable checkpoint ({os.path.basename(current)} and its previous one "
            f"are missing, truncated or corrupt), so it cannot be resumed; remove its files "
            f"(rm -r {os.path.join(folder, run_id)}_*) and train it again (its flags with --continue start it anew).")


def remove_checkpoints(folder, run_id):
    for path in checkpoint_files(folder, run_id):
        if os.path.exists(path):
            os.remove(path)


def restore_initial_weights(path, initial, warn=print):
    """A resumed run's initial weights file written again where it is missing or unreadable, else left alone (the
    run would have finished without it): `initial` are the kernels the run is built with, which its seed determines."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            if set(archive.files) == set(initial):
                return
    except atomic.NPZ_READ_ERRORS:
        pass
    warn(f"Warning: {path} is missing or unreadable; written again from the run's seed.")
    atomic.write_npz(path, initial)
