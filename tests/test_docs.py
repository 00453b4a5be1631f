"""The documents say what the code does: the flags reference is generated from the parsers and current, and every
flag that README.md and docs/ name exists."""

import re
import subprocess
import sys

import pytest

from conftest import REPOSITORY

# Flags of other programs that the documents show in their commands.
OTHER_PROGRAMS = {"--head": "ray start", "--port": "ray start", "--logdir": "tensorboard", "--stat": "git show",
                  "--signal": "sbatch", "--gpus-per-node": "sbatch"}


def documents():
    return [REPOSITORY / "README.md", *sorted((REPOSITORY / "docs").glob("*.md")),
            REPOSITORY / "experiments" / "README.md"]


def known_flags():
    """Every flag of the entry scripts (from docs/FLAGS.md, which is checked against the parsers below) and of the
    benchmarks (their add_argument calls)."""
    known = set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", (REPOSITORY / "docs" / "FLAGS.md").read_text()))
    for script in (REPOSITORY / "bench").rglob("*.py"):
        known.update(re.findall(r"add_argument\(\s*\"(--[a-z][a-z0-9-]*)\"", script.read_text()))
    return known


def test_the_flags_reference_is_generated_from_the_parsers_and_current():
    if sys.version_info[:2] != (3, 11):
        pytest.skip("docs/FLAGS.md is written by Python 3.11's argparse, whose help layout other versions change")
    finished = subprocess.run([sys.executable, "scripts/flags_reference.py", "--check"], cwd=REPOSITORY,
                              capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stdout + finished.stderr


def test_every_flag_the_documents_name_exists():
    known = known_flags() | set(OTHER_PROGRAMS)
    unknown = {}
    for document in documents():
        for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", document.read_text()):
            if flag not in known:
                unknown.setdefault(flag, document.name)
    assert not unknown, f"flags named in the documents that nothing defines: {unknown}"


def test_the_reference_covers_every_setting_of_a_run():
    from config import setting_fields
    from methods.base import flag_of
    text = (REPOSITORY / "docs" / "FLAGS.md").read_text()
    assert all(flag_of(field) in text for field in setting_fields().values())


def test_every_variable_of_the_tools_own_is_in_the_environment_reference():
    """A MASKTRAINER_* variable the code reads or sets is listed in config/environment.py (docs/FLAGS.md), beside the
    document that explains it, which names it."""
    from config.environment import VARIABLES, named
    folders = [path for path in REPOSITORY.iterdir() if path.is_dir() and not path.name.startswith(".")
               and path.name not in ("tests", "Outputs")]
    sources = [*REPOSITORY.glob("*.py"), *(path for folder in folders for path in folder.rglob("*.py"))]
    used = {name for path in sources for name in re.findall(r"MASKTRAINER_[A-Z_]+", path.read_text())}
    assert used and not {name for name in used if not named(name)}
    for variable in VARIABLES:
        for name in variable.name.split(", "):
            assert name.rstrip("*") in (REPOSITORY / variable.explained).read_text(), (name, variable.explained)
