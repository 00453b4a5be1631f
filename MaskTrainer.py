"""Trains the connectivity (or, for Baseline, the weights) of a network over fixed random weights.

    python MaskTrainer.py --nettype Conv6 --traintype MinPruning

See docs/METHODS.md and docs/FLAGS.md for every flag and docs/OUTPUTS.md for what a run writes.
"""

import sys

from cli import report_error
from cli.keras_backend import BackendError, backend_and_device, select_backend

PROGRAM = "MaskTrainer.py"


def build_full_parser():
    """RunConfig's flags (config/command_line.py) and this script's own."""
    from config import build_parser
    parser = build_parser(prog=PROGRAM, description=__doc__.split("\n\n")[0])
    parser.add_argument("--resume", metavar="RUN", help="continue an interrupted run: its _logs.json file, "
                        "or its run ID under --outputpath; the run's own settings are used (beside it only "
                        "--outputpath, --data-dir, --device and its own --backend)")
    parser.add_argument("--continue", dest="continue_", action="store_true",
                        help="carry on from an earlier attempt with the same settings and seed under --outputpath: "
                             "nothing to do if it finished, resume it if it was interrupted or killed, else start "
                             "(what Sweep.py's cluster backends run, so that a retried run resumes)")
    parser.add_argument("--pack-file", metavar="FILE",
                        help="carry on, as --continue does, with the runs that FILE lists (a JSON object {\"runs\": "
                             "[settings, ...]}, as Sweep.py --pack writes one per pack), trained together in one "
                             "pack; their own settings are used (beside it only --device and their own --backend)")
    return parser


def main(argv=None):
    from config import ConfigError, given_settings, parse_args
    from config.pack_file import read_pack_file
    from runner.resumable import ResumeError, refuse_ignored_flags, stored_settings
    try:
        config, namespace = parse_args(argv, build_full_parser())  # Keras-free: --help answers at once
        refuse_ignored_flags(namespace.resume, namespace.pack_file, namespace.continue_, given_settings(namespace))
        packed = read_pack_file(namespace.pack_file) if namespace.pack_file else None
        resumed = stored_settings(namespace.resume, config.outputpath) if namespace.resume else None
    except (ConfigError, ResumeError) as error:
        return report_error(PROGRAM, error, 2)
    except SystemExit as exit:  # --help, or a flag argparse refused (already reported in one line)
        return exit.code
    try:
        source = f"the run {namespace.resume}" if namespace.resume else f"the runs of {namespace.pack_file}"
        backend, device = backend_and_device(given_settings(namespace), config, resumed, packed and packed[0],
                                             source)
        select_backend(backend, device)
    except BackendError as error:
        return report_error(PROGRAM, error, 2)

    from datasets import DatasetError
    from devices import DeviceError
    from lottery.control import PairedRunMissing
    from results.claims import CLAIMED_CODE, RunClaimed
    from runner import continue_configs, continue_runs, resume_run, run_all
    from training.checkpoint import CheckpointError
    from training.loop import TrainingFailed, TrainingInterrupted
    try:
        if packed:
            continue_configs(packed)
        elif namespace.resume:
            resume_run(namespace.resume, config.outputpath, data_dir=config.data_dir, device=device)
        elif namespace.continue_:
            continue_runs(config)
        else:
            run_all(config)
    except (ConfigError, DatasetError, DeviceError, ResumeError, CheckpointError, PairedRunMissing) as error:
        return report_error(PROGRAM, error, 2)
    except RunClaimed as error:
        return report_error(PROGRAM, error, CLAIMED_CODE)
    except TrainingFailed as error:
        return report_error(PROGRAM, error, 1)
    except TrainingInterrupted as error:
        return report_error(PROGRAM, error, 130)
    except KeyboardInterrupt:
        return report_error(PROGRAM, "Interrupted at once (second Ctrl-C); resume from the last finished epoch "
                            "with --resume and the run's _logs.json file.", 130)
    except OSError as error:
        where = error.filename or f"under {config.outputpath}"
        return report_error(PROGRAM, f"Could not write the results ({error.strerror or error}: {where}); "
                            "check that --outputpath is a writable folder with free space.", 1)
    except Exception as error:  # the backends' own runtime errors; only running out of memory is explained
        if "RESOURCE_EXHAUSTED" not in str(error) and "out of memory" not in str(error).lower():
            raise
        return report_error(PROGRAM, "The device ran out of memory; resume from the last finished epoch with "
                            "--resume and the run's _logs.json on a larger device, or start again with a smaller "
                            "--batchsize.", 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
