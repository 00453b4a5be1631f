"""Resuming packed runs (training/pack.py) together, so that a killed pack ends as if never stopped.

Every member saves its own checkpoint after every epoch (and on Ctrl-C), keeping the one before. A pack
killed between two members' saves leaves some members one save ahead: they go back to their previous
checkpoint, the position every member has, and the pack trains on from there; the epoch they redo gives the
same numbers again (the pack is deterministic). Members that cannot join that position (no checkpoint there)
resume alone afterwards, which is exact for them up to float32 rounding.
"""

import contextlib

from results import paths
from runner.claims import claim_available
from runner.process import prepare_process
from runner.resumable import read_resumable
from training import checkpoint


def pack_member_paths(logs, outputpath, own_path):
    """The logs files of the runs of the pack that the run with `logs` trained in (itself included)."""
    found = []
    for run_id in logs["pack"]["runIds"]:
        matches = [own_path] if run_id == logs["runId"] else paths.find_run(run_id, outputpath)
        if len(matches) == 1:
            found.append(matches[0])
    return found


def position(state):
    """Where a checkpoint stands: (epochs recorded, steps into the epoch in progress)."""
    in_progress = state.get("epochInProgress") or {}
    return state["log"].get("recordedEpochs", 0), in_progress.get("step", 0)


def resume_packed(logs_paths, data_dir=None, device=None, print_line=print):
    """Resumes the unfinished runs among `logs_paths` as one pack where their checkpoints allow; returns the
    logs of the runs it trained. Runs that another process is training are left to it (RunClaimed when that is
    every unfinished one)."""
    with contextlib.ExitStack() as held:
        unfinished = []
        for path in logs_paths:
            logs, config = read_resumable(path, data_dir, device)
            if config is not None:
                unfinished.append((path, config.replace(seed=logs["seed"])))
        claimed = claim_available(held, [config for _, config in unfinished], print_line) if unfinished else []
        return resume_claimed([path for path, config in unfinished if config in claimed] if unfinished
                              else logs_paths, data_dir, device, print_line)


def resume_claimed(logs_paths, data_dir, device, print_line):
    from training.driver import EpochDriver
    members = []
    for path in logs_paths:
        logs, config = read_resumable(path, data_dir, device)
        if config is None:
            print_line(f"Run {logs['runId']} of the pack finished already; nothing to do for it.")
            continue
        saved = {}
        for state in checkpoint.saved_states(config.folder(), logs["runId"], print_line):
            saved.setdefault(position(state[2]), state)
        if not saved:
            raise checkpoint.CheckpointError(checkpoint.unresumable(config.folder(), logs["runId"]))
        members.append((logs["runId"], config, saved))
    if not members:
        return []
    config = members[0][1]
    dataset = prepare_process(config, print_line)
    shared = set.intersection(*(set(saved) for _, _, saved in members))
    common = max(shared) if shared else None
    together = [member for member in members if common in member[2]]
    alone = [member for member in members if member not in together] if len(together) > 1 else members

    def resume(member, at):
        run_id, member_config, saved = member
        return member_config.family.experiment_class.resume(member_config, dataset, run_id, print_line,
                                                            saved=saved[at])

    logs = []
    if len(together) > 1:
        experiments = [resume(member, common) for member in together]
        print_line(f"Resuming the {len(experiments)} runs of the pack ({', '.join(e.run_id for e in experiments)}) "
                   f"after epoch {experiments[0].completed_epochs()} of {config.maxepochs}")
        logs += EpochDriver(experiments, print_line).run()
    for member in alone:
        experiment = resume(member, max(member[2]))
        print_line(f"Resuming run {experiment.run_id} alone after epoch {experiment.completed_epochs()} of "
                   f"{member[1].maxepochs} (its checkpoints do not meet the rest of its pack)")
        logs.append(experiment.run())
    return logs
