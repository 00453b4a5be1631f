"""Turn the results folder into the figures and tables of the paper, headless, in one command.

    python Plotter.py [PATH ...] [--only merged,compare,sweep,layers,table] [--figures-dir DIR]
                      [--tables-dir DIR] [--formats png,pdf]

See `python Plotter.py --help`; the work is done by the reporting package.
"""

import sys

from cli import report_error
from cli.keras_backend import BackendError, select_installed_backend


def main(argv=None):
    try:
        select_installed_backend()  # the method registry imports the experiment classes, hence Keras
    except BackendError as error:
        return report_error("Plotter.py", error, 2)
    from reporting.cli import main as plot
    return plot(argv)


if __name__ == "__main__":
    sys.exit(main())
