"""What the entry scripts share and must load before TensorFlow: one-line errors and their exit codes."""

import argparse
import sys


class OneLineParser(argparse.ArgumentParser):
    """Reports a bad flag in one line (no usage block) and exits with code 2."""

    def error(self, message):
        sys.exit(report_error(self.prog, f"{message}; see --help.", 2))


def report_error(program, message, code):
    """Prints 'PROGRAM: error: MESSAGE' to stderr and returns the exit code to end with."""
    sys.stderr.write(f"{program}: error: {message}\n")
    return code
