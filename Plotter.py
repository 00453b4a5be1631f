"""Turn the results folder into the figures and tables of the paper, headless, in one command.

    python Plotter.py [PATH ...] [--only merged,compare,sweep,layers,table] [--figures-dir DIR]
                      [--tables-dir DIR] [--formats png,pdf]

See `python Plotter.py --help`; the work is done by the reporting package.
"""

import sys

from quiet_tensorflow import import_tensorflow_quietly


def main(argv=None):
    import_tensorflow_quietly()  # the method registry imports the experiment classes, hence TensorFlow
    from reporting.cli import main as plot
    return plot(argv)


if __name__ == "__main__":
    sys.exit(main())
