"""Turn the results folder into the figures and tables of the paper, headless, in one command.

    python Plotter.py [PATH ...] [--only merged,compare,sweep,layers,table] [--figures-dir DIR]
                      [--tables-dir DIR] [--formats png,pdf]

See `python Plotter.py --help`; the work is done by the reporting package.
"""

import sys


def main(argv=None):
    # Reading runs and drawing needs no Keras (the method registry loads the experiment classes only to train):
    # Plotter.py starts without TensorFlow or JAX.
    from reporting.cli import main as plot
    return plot(argv)


if __name__ == "__main__":
    sys.exit(main())
