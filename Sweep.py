"""Runs a grid of MaskTrainer.py configurations x seeds, skipping finished runs and resuming interrupted ones.

    python Sweep.py experiments/lenet_mnist.json --workers 2 --data-dir ../shared/data/mnist
    python Sweep.py experiments/conv6_cifar10.json --keras-backend jax --device gpu --pack 16 --data-dir DATA
    python Sweep.py experiments/lenet_mnist.json --executor ray [--address HEAD:6379]
    python Sweep.py experiments/lenet_mnist.json --executor slurm [--partition P] [--time-min 60] [--no-wait]

The grid format is in experiments/README.md. Exit codes: 0 all runs finished (or, with --no-wait,
submitted), 1 a run failed, 2 a bad grid, flag or data set, or a backend that cannot be used, 130 interrupted
(the same command resumes).
"""

import argparse
import dataclasses
import sys

from cli import OneLineParser, report_error
from cli.keras_backend import BACKENDS, environment_backend
from devices import DEFAULT_DEVICE, DEVICES
from sweeps import backends

PROGRAM = "Sweep.py"
OLD_EXECUTOR_NOTICE = (f"{PROGRAM}: --backend still works, but use --executor, which says what it chooses "
                       "(--keras-backend chooses Keras' backend).")


def fail(message, code):
    return report_error(PROGRAM, message, code)


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows the defaults that are values (a flag whose default is None or False says in its help what it means)."""

    def _get_help_string(self, action):
        return action.help if action.default in (None, False) else super()._get_help_string(action)


def build_parser():
    parser = OneLineParser(prog=PROGRAM, description=__doc__.split("\n\n")[0], formatter_class=HelpFormatter)
    parser.add_argument("grid", help="grid file, e.g. experiments/lenet_mnist.json")
    # --executor was --backend, which read as the Keras backend (--keras-backend); the old spelling still works.
    parser.add_argument("--executor", "--backend", dest="backend", choices=("local", "ray", "slurm"), default="local",
                        help="where the runs execute: this machine (--workers at a time), a Ray cluster, or a Slurm "
                             "cluster (one job array, submitted from its login node); --backend is its older name")
    parser.add_argument("--workers", type=int, default=1,
                        help="local backend: runs at a time, each a MaskTrainer.py process")
    parser.add_argument("--address", default=None,
                        help="ray backend: the cluster to join (HEAD_IP:PORT, or auto); without it a local Ray "
                             "instance is started")
    parser.add_argument("--cpus-per-run", type=float, default=None,
                        help="ray and slurm backends: CPUs reserved per run (default 1)")
    parser.add_argument("--gpus-per-run", type=float, default=None,
                        help="ray and slurm backends: GPUs reserved per run (default 0)")
    slurm = parser.add_argument_group("slurm backend (from the cluster's login node; paths on a shared filesystem)")
    slurm.add_argument("--partition", default=None, help="Slurm partition (default: the cluster's default)")
    slurm.add_argument("--time-min", type=int, default=None, metavar="M",
                       help="time limit of each run's task in minutes (default 60); 90 s before it the run saves its "
                            "state and the task is requeued, then resumes")
    slurm.add_argument("--array-parallelism", type=int, default=None, metavar="N",
                       help="at most N runs of the array at a time (default: as many as Slurm starts)")
    slurm.add_argument("--slurm-folder", default=None, metavar="DIR",
                       help="submitit's files, the tasks' Slurm logs and the record of the runs in Slurm (default: "
                            "OUTPUTPATH/slurm)")
    slurm.add_argument("--no-wait", action="store_true",
                       help="submit, print the job id and return; the same command later reports, follows the runs "
                            "still in Slurm and submits only the missing ones")
    parser.add_argument("--keras-backend", choices=BACKENDS,
                        default=environment_backend() if environment_backend() in BACKENDS else "tensorflow",
                        help="Keras backend of the runs whose grid file sets no 'backend' (MaskTrainer.py --backend; "
                             "default: KERAS_BACKEND, else tensorflow)")
    parser.add_argument("--device", choices=DEVICES, default=DEFAULT_DEVICE,
                        help="device of the runs whose grid file sets no 'device' (MaskTrainer.py --device): auto = "
                             "a GPU when one is visible, cpu, or gpu (refused without one); runs on the GPUs of this "
                             "machine share them (see experiments/README.md)")
    parser.add_argument("--pack", type=int, default=1, metavar="N",
                        help="train up to N runs of the grid together, in one process and one compiled program (JAX "
                             "only; runs that share everything but seed, p1, initializer, lr, lr_drops and "
                             "lr_schedule; see docs/GPUS.md, 'Packed runs'); a pack is one task on every backend")
    parser.add_argument("--dry-run", action="store_true", help="list the runs and what would happen to each")
    parser.add_argument("--outputpath", default="Outputs", help="folder for the results (as MaskTrainer.py)")
    parser.add_argument("--data-dir", default=None, help="folder holding the official data files")
    parser.add_argument("--only", nargs="+", action="extend", metavar="KEY=VALUE",
                        help="keep only the runs with these settings (e.g. traintype=Baseline seed=1)")
    return parser


def uses_old_executor_spelling(argv):
    """Whether the command line spells --executor as --backend (`--backend X` or `--backend=X`).

    Whole tokens only, so that --keras-backend and values never count; after `--` every token is a value.
    """
    for token in argv:
        if token == "--":
            return False
        if token == "--backend" or token.startswith("--backend="):
            return True
    return False


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if uses_old_executor_spelling(argv):
        print(OLD_EXECUTOR_NOTICE, file=sys.stderr, flush=True)
    arguments = build_parser().parse_args(argv)
    problem = backends.check_flags(arguments)
    if problem:
        return fail(problem, 2)
    from runner import existing_runs
    from sweeps.grid import GridError, load_grid
    from sweeps.selection import select_runs
    try:
        grid = load_grid(arguments.grid, arguments.outputpath, arguments.data_dir,
                         defaults={"backend": arguments.keras_backend, "device": arguments.device})
        runs = select_runs(grid.runs, arguments.only)
    except GridError as error:
        return fail(error, 2)
    from sweeps.execution import Job
    existing = existing_runs.scan(arguments.outputpath)
    jobs = [Job(number, config, existing_runs.decide(existing.get(config.identity_key(), [])),
                grid.label(config)) for number, config in enumerate(runs, 1)]
    if arguments.backend != "slurm":  # Slurm's tasks check at their start, since this sweep's own may hold claims
        jobs = [leave_to_owner(job) for job in jobs]
    problem = backends.check_gpu_reservation(arguments, jobs)
    if problem:
        return fail(problem, 2)
    from sweeps.packing import PackingError, pack_jobs
    if arguments.pack < 1:
        return fail(f"--pack must be at least 1, got {arguments.pack}.", 2)
    try:
        units = pack_jobs(jobs, arguments.pack, arguments.outputpath, write=not arguments.dry_run)
    except PackingError as error:
        return fail(error, 2)
    packs = sum(bool(unit.members) for unit in units)
    counts = {kind: sum(job.action.kind == kind for job in jobs) for kind in ("run", "resume", "skip", "busy")}
    print(f"Grid {arguments.grid}: {grid.description}")
    print(f"Machine: {grid.machine}")
    print(f"{len(jobs)} runs: {counts['run']} to run, {counts['resume']} to resume, {counts['skip']} finished "
          f"already (skipped)" + (f", {counts['busy']} being trained by other processes (left to them)"
                                  if counts["busy"] else "") + f"; results under {arguments.outputpath}"
          + (f"; {packs} pack(s) of up to {arguments.pack} runs" if packs else "")
          + ("" if arguments.dry_run else f", {backends.describe(arguments, units)}") + ".")
    if arguments.dry_run:
        dry_run(units, arguments)
        return 0
    return run_jobs(units, arguments, arguments.outputpath, len(jobs))


def leave_to_owner(job):
    """The job, or, when another live process is training its run, a "busy" job naming that process."""
    from runner import existing_runs
    from runner.claims import holder
    owner = holder(job.config) if job.action.executes else None
    if owner is None:
        return job
    return dataclasses.replace(job, action=existing_runs.Action("busy", job.action.logs_path,
                                                                 f"being trained by {owner.describe()}"))


def dry_run(jobs, arguments):
    backend_notes, closing = backends.dry_run_notes(arguments, jobs)
    for job in jobs:
        where = f": {job.action.logs_path}" if job.action.logs_path else ""
        notes = [f"{job.action.note}{where}"] if job.action.note else []
        notes += [backend_notes[job.number]] if job.number in backend_notes else []
        print(f"  #{job.number:<3} {job.action.kind:<6} {job.label}" + (f" ({'; '.join(notes)})" if notes else ""))
    if closing:
        print(closing)


def run_jobs(jobs, arguments, outputpath, total):
    """Runs the jobs (a pack is one job for several runs) of a grid of `total` runs."""
    from results.claims import CLAIMED_CODE
    from runner import existing_runs
    from runner.claims import holder
    from sweeps.execution import INTERRUPTED_CODES, ExecutorError
    from sweeps.progress import Progress
    progress = Progress(total, sum(job.action.kind == "skip" for job in jobs),
                        [(job.label, job.action.note) for job in jobs if job.action.kind == "busy"])

    def on_start(job):
        what = f"resume ({job.action.note})" if job.action.kind == "resume" else "start"
        print(f"#{job.number}/{total} {what}: {job.label}", flush=True)

    def on_end(job, code, seconds, last_lines):
        if job.members:
            for member in job.members:
                on_member_end(member, code, seconds, last_lines)
        else:
            on_run_end(job, code, seconds, last_lines)

    def on_member_end(member, code, seconds, last_lines):
        """A run of a pack: its own logs say how it ended (a pack may end with one run failed, the rest done)."""
        logs_path = existing_runs.find_latest(outputpath, member.config)
        status, reason = existing_runs.status_of(logs_path)
        owner = holder(member.config) if status not in ("finished", "failed") else None
        if owner is not None:
            on_run_end(member, CLAIMED_CODE, seconds, [f"being trained by {owner.describe()}"])
        elif status == "finished":
            on_run_end(member, 0, seconds, last_lines)
        elif status == "failed":
            on_run_end(member, 1, seconds, [reason] if reason else last_lines)
        else:
            on_run_end(member, code if code else 1, seconds, last_lines)

    def on_run_end(job, code, seconds, last_lines):
        logs_path = job.action.logs_path
        if code == 0:
            outcome = "resumed" if job.action.kind == "resume" else "finished"
        elif code == CLAIMED_CODE:
            outcome = "busy"
        else:
            outcome = ("interrupted" if code in INTERRUPTED_CODES or (executor.stop_requests and code < 0)
                       else "failed")
            logs_path = logs_path or existing_runs.find_latest(outputpath, job.config)
        detail = "" if outcome in ("finished", "resumed", "interrupted") else (
            last_lines[-1] if last_lines else f"exit code {code}")
        detail = detail.removeprefix("MaskTrainer.py: error: ")
        print(progress.record(outcome, job.label, logs_path, seconds, detail), flush=True)

    try:
        executor = backends.make_executor(arguments, on_start, on_end)
        executor.run([job for job in jobs if job.action.executes])
    except ExecutorError as error:
        return fail(error, 2)
    if getattr(executor, "detached", False):
        return 0  # --no-wait: submitted; a later call reports
    for line in progress.summary():
        print(line)
    if executor.stop_requests or progress.outcomes["interrupted"]:
        return fail("Interrupted; the runs in progress saved their state: run the same command again to "
                    "resume them.", 130)
    if executor.bad_input:
        return fail(f"A run refused its input, so the sweep stopped: {executor.bad_input}", 2)
    if progress.outcomes["failed"]:
        return fail(f"{len(progress.outcomes['failed'])} run(s) failed; see the list above.", 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
