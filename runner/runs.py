"""From a validated RunConfig to finished runs: seeds, data, one Experiment per seed; and resuming."""

import contextlib
import os
import secrets

from runner.claims import claim, claim_available
from runner.packs import pack_member_paths, resume_packed
from runner.process import prepare_process
from runner.resumable import ResumeError, find_logs, read_resumable


def run_seeds(config):
    """Seeds of the --nruns runs: seed, seed+1, ...; --seed 0 draws a fresh first seed."""
    first = config.seed or secrets.randbelow(2**31 - 1 - config.nruns) + 1
    return [first + offset for offset in range(config.nruns)]


def run_all(config, print_line=print):
    """Starts the runs of --seed and --nruns, --pack at a time; RunClaimed when another process is training one of
    them (a run with the same settings and seed)."""
    dataset, seeds, logs = None, run_seeds(config), []
    for first in range(0, len(seeds), config.pack):
        configs = [config.replace(seed=seed) for seed in seeds[first:first + config.pack]]
        with contextlib.ExitStack() as held:
            for each in configs:
                claim(held, each)
            dataset = dataset or prepare_process(config, print_line)
            logs += start_runs(configs, dataset, print_line)
    return logs


def start_runs(configs, dataset, print_line=print):
    """Starts new runs of `configs` (one each), together in one pack when there are several."""
    experiments = [config.family.experiment_class(config, dataset, print_line) for config in configs]
    if len(experiments) > 1:
        from training.pack_memory import PackTooLarge, check_pack_fits
        try:
            check_pack_fits(experiments)
        except PackTooLarge:
            for experiment in experiments:
                experiment.discard()
            raise
    for experiment in experiments:
        config = experiment.config
        print_line(f"Run {experiment.run_id}: {config.traintype} {config.nettype}, seed {config.seed}, "
                   f"masktype {config.resolved_masktype()}, writing to {experiment.folder}")
    if len(experiments) == 1:
        return [experiments[0].run()]
    from devices import describe_current
    from training.driver import EpochDriver
    print_line(f"Training the {len(experiments)} runs above together, in one pack")
    driver = EpochDriver(experiments, print_line)
    if describe_current(configs[0].backend).platform == "cpu":
        print_line(f"Note: on a CPU a pack ({driver.steps.form}: training/pack_forms.py) trains about as fast as its "
                   "runs one by one (1.07-1.12x, bench/results/pack_forms.md); packs pay on GPUs.")
    return driver.run()


def resume_run(target, outputpath, data_dir=None, print_line=print, device=None):
    """Continues an interrupted run with its own settings (a packed run: its whole pack, runner/packs.py);
    device: where it trains now (None: as it asked before)."""
    path = find_logs(target, outputpath)
    logs, config = read_resumable(path, data_dir, device)
    if config is not None and logs.get("pack") and config.pack > 1:
        return resume_packed(pack_member_paths(logs, config.outputpath, path), data_dir, device, print_line)
    with contextlib.ExitStack() as held:
        if config is not None:
            claim(held, config.replace(seed=logs["seed"]))
            logs, config = read_resumable(path, data_dir, device)  # as its last writer left it
        if config is None:
            print_line(f"Run {logs['runId']} already finished ({len(logs['testLoss']) - 1} epochs); nothing to do.")
            return logs
        dataset = prepare_process(config, print_line)
        experiment = config.family.experiment_class.resume(config, dataset, logs["runId"], print_line)
        print_line(f"Resuming run {logs['runId']} after epoch {experiment.completed_epochs()} of {config.maxepochs}"
                   + (f" (inside epoch {experiment.epoch_in_progress['epoch']})" if experiment.epoch_in_progress
                      else ""))
        return experiment.run()


def continue_runs(config, print_line=print):
    """Each seed's run, continued from where an earlier attempt with the same settings stopped: nothing to do
    when one finished, resumed when one was interrupted or killed (it has a checkpoint), started otherwise."""
    if config.seed == 0:
        raise ResumeError("--continue needs a fixed --seed (0 draws a new seed every time, so no earlier run can "
                          "match); pass --seed N.")
    logs, seeds = [], run_seeds(config)
    for first in range(0, len(seeds), config.pack):
        logs += continue_configs([config.replace(seed=seed, nruns=1) for seed in seeds[first:first + config.pack]],
                                 print_line)
    return logs


def continue_configs(configs, print_line=print):
    """Each run of `configs` continued as --continue does; the runs to resume are resumed together, and so are
    the runs to start, when there are several (a pack)."""
    with contextlib.ExitStack() as held:
        return continue_claimed(claim_available(held, configs, print_line), print_line)


def continue_claimed(configs, print_line=print):
    """continue_configs once `configs` are claimed: what is on disk now is all there will be."""
    from runner import existing_runs
    existing = {}
    for folder in sorted({config.folder() for config in configs}):  # a run's earlier attempts lie in its folder
        if os.path.isdir(folder):
            existing.update(existing_runs.scan(folder))
    to_resume, to_start = [], []
    for config in configs:
        previous = existing.get(config.identity_key(), [])
        action = existing_runs.decide(previous)
        if action.kind == "run":
            # Claimed, so no live process trains them: an attempt killed before its first checkpoint is removed.
            for stale in existing_runs.stale_attempts(previous):
                existing_runs.remove_attempt(stale.logs_path)
                print_line(f"An earlier attempt of the run with seed {config.seed} stopped before its first "
                           f"checkpoint; its files are removed ({stale.logs_path}) and the run starts anew.")
        if action.kind == "skip":
            print_line(f"The run with seed {config.seed} finished already ({action.logs_path}); nothing to do.")
        elif action.kind == "resume":
            to_resume.append(action.logs_path)
        else:
            to_start.append(config)
    first, logs = configs[0], []
    if len(to_resume) > 1:
        logs += resume_packed(to_resume, first.data_dir, first.device, print_line)
    else:
        logs += [resume_run(path, first.outputpath, data_dir=first.data_dir, print_line=print_line,
                            device=first.device) for path in to_resume]
    if to_start:
        logs += start_runs(to_start, prepare_process(to_start[0], print_line), print_line)
    return logs
