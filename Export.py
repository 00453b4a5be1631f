"""Exports a finished run: a compressed supermask (connectivity methods) and/or a plain Keras model.

    python Export.py RUN [--format supermask|keras|all] [--output-dir DIR] [--check]

RUN is a run's _logs.json file, or its run ID under --outputpath. See docs/RUNS.md, "Export".
"""

import os
import sys

from cli import OneLineParser, report_error
from cli.keras_backend import BackendError, select_backend

PROGRAM = "Export.py"


def build_parser():
    parser = OneLineParser(prog=PROGRAM, description=__doc__.split("\n\n")[0])
    parser.add_argument("run", metavar="RUN", help="the run's _logs.json file, or its run ID under --outputpath")
    parser.add_argument("--format", choices=("supermask", "keras", "all"), default="all",
                        help="all: the supermask where the method has one, and the .keras model (default: all)")
    parser.add_argument("--output-dir", default=None, help="folder for the exported files (default: the run's own)")
    parser.add_argument("--outputpath", default="Outputs", help="where to look up a run ID (as MaskTrainer.py)")
    parser.add_argument("--check", action="store_true",
                        help="recompute the test accuracy from the exported files and compare it with the run's")
    parser.add_argument("--data-dir", default=None, help="folder holding the official data files (for --check)")
    return parser


def size_line(path, float_bytes):
    size = os.path.getsize(path)
    return (f"wrote {path}: {size:,} bytes ({size / float_bytes:.1%} of the {float_bytes:,} bytes of its float32 "
            "weights)")


def main(argv=None):
    arguments = build_parser().parse_args(argv)
    from runner.resumable import ResumeError, stored_settings
    try:
        backend = stored_settings(arguments.run, arguments.outputpath).get("backend", "tensorflow")
    except ResumeError:
        backend = "tensorflow"  # find_finished_run below says what is wrong with the run
    try:
        select_backend(backend)
    except BackendError as error:
        return report_error(PROGRAM, error, 2)
    from datasets import DatasetError
    from export import ExportError, check_exports, find_finished_run, write_keras_model, write_supermask
    from results import paths
    try:
        run = find_finished_run(arguments.run, arguments.outputpath)
        folder = arguments.output_dir or os.path.dirname(run.logs_path)
        os.makedirs(folder, exist_ok=True)
        has_supermask = not run.config.method.kernel_trainable
        kinds = {"all": ["supermask", "keras_model"] if has_supermask else ["keras_model"],
                 "supermask": ["supermask"], "keras": ["keras_model"]}[arguments.format]
        exported = {kind: paths.run_file(folder, run.run_id, kind) for kind in kinds}
        float_bytes = 4 * int(run.logs["totalWeights"])
        for kind, path in exported.items():
            (write_supermask if kind == "supermask" else write_keras_model)(run, path)
            print(size_line(path, float_bytes))
        if arguments.check:
            results = check_exports(run, exported, arguments.data_dir)
            for _, _, _, sentence in results:
                print(sentence)
            if any(accuracy != logged for _, accuracy, logged, _ in results):
                return 1
    except (ExportError, DatasetError) as error:
        return report_error(PROGRAM, error, 2)
    except OSError as error:
        return report_error(PROGRAM, f"Could not write the export ({error.strerror or error}: {error.filename}); "
                            "check that --output-dir is a writable folder.", 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
