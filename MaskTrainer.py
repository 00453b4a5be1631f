"""Trains the connectivity (or, for Baseline, the weights) of a network over fixed random weights.

    python MaskTrainer.py --nettype Conv6 --traintype MinPruning

See README.md for every flag and docs/OUTPUTS.md for what a run writes.
"""

import sys

from quiet_tensorflow import import_tensorflow_quietly


def main(argv=None):
    import_tensorflow_quietly()
    from config import ConfigError, parse_args
    try:
        config, _ = parse_args(argv)
    except ConfigError as error:
        return fail(error, 2)

    from datasets import DatasetError
    from training.experiment_runner import run_all
    from training.loop import TrainingFailed
    try:
        run_all(config)
    except DatasetError as error:
        return fail(error, 2)
    except TrainingFailed as error:
        return fail(error, 1)
    except KeyboardInterrupt:
        return fail("Interrupted; the logs written so far are kept and marked interrupted.", 130)
    except OSError as error:
        return fail(f"Could not write the results ({error.strerror or error}: {error.filename}); "
                    "check that --outputpath is a writable folder with free space.", 1)
    return 0


def fail(message, code):
    sys.stderr.write(f"MaskTrainer.py: error: {message}\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
