"""Turn the results folder into the figures and tables of the paper, headless, in one command.

    python Plotter.py [PATH ...] [--only merged,compare,sweep,layers,table] [--figures-dir DIR]
                      [--tables-dir DIR] [--formats png,pdf]

See `python Plotter.py --help`; the work is done by the reporting package.
"""

import sys

from reporting.cli import main

if __name__ == "__main__":
    sys.exit(main())
