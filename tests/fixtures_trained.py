"""The session's runs of the real trainer (tests/trained_runs.py), as the fixture `trained_runs`.

Test modules load it with `pytest_plugins = ["tests.fixtures_trained"]`; the runs are written once per
session, in a temporary folder, and must be copied (trained_runs.copy_runs) before anything is written
beside them.
"""

import time

import pytest

from tests.trained_runs import train_runs


@pytest.fixture(scope="session")
def trained_runs(tmp_path_factory):
    """The folder holding the trained runs (read only)."""
    started = time.perf_counter()
    root = train_runs(tmp_path_factory.mktemp("trained_runs"))
    print(f"trained_runs: {time.perf_counter() - started:.1f} s")
    return root
