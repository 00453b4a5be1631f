"""The package layers: no import runs from a lower layer to a higher one, and no product module grows
past the size one reads in a sitting. Read from the source with `ast`, so a lazy import inside a
function counts too."""

import ast

from conftest import REPOSITORY

# Lowest first. A package may import from its own layer and the layers below it, never above.
LAYERS = (
    ("masking", "networks", "initializers", "datasets", "results", "cli", "devices"),
    ("training",),
    ("lottery", "pruning_at_init"),
    ("methods",),
    ("config",),
    ("runner", "reporting", "sweeps", "export"),
)
LAYER_OF = {package: level for level, packages in enumerate(LAYERS) for package in packages}
MAXIMUM_LINES = 300


def product_modules():
    for package in LAYER_OF:
        yield from sorted((REPOSITORY / package).rglob("*.py"))  # subpackages too (pruning_at_init/criteria)


def imported_packages(path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def test_every_product_package_has_a_layer():
    packages = {path.parent.name for path in REPOSITORY.glob("*/__init__.py")} - {"tests", "bench"}
    assert packages == set(LAYER_OF)


def test_no_import_runs_upward():
    upward = []
    for path in product_modules():
        own = LAYER_OF[path.relative_to(REPOSITORY).parts[0]]
        for package in imported_packages(path):
            if package in LAYER_OF and LAYER_OF[package] > own:
                upward.append(f"{path.relative_to(REPOSITORY)} imports {package}")
    assert upward == []


def test_the_check_sees_an_upward_import(tmp_path):
    module = tmp_path / "example.py"
    module.write_text("import os\nfrom methods import METHODS\n\ndef later():\n    import reporting.cli\n")
    assert list(imported_packages(module)) == ["os", "methods", "reporting"]


def test_no_product_module_is_over_the_size_limit():
    long_modules = {str(path.relative_to(REPOSITORY)): lines for path in product_modules()
                    if (lines := len(path.read_text().splitlines())) > MAXIMUM_LINES}
    assert long_modules == {}
