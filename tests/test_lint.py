"""The tree is clean under ruff, with the settings in pyproject.toml (`make lint` runs the same check), so that a
finding fails the suite and CI rather than piling up."""

import subprocess
import sys
from importlib.util import find_spec

import pytest

from conftest import REPOSITORY


def test_ruff_finds_nothing():
    if find_spec("ruff") is None:
        pytest.skip("ruff is not installed (pip install -r requirements-dev.txt)")
    finished = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=REPOSITORY, capture_output=True,
                              text=True, timeout=120)
    assert finished.returncode == 0, finished.stdout + finished.stderr
