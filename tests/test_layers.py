"""The package layers: no import runs from a lower layer to a higher one, no module imports itself through a chain
of imports, and no product module grows past the size one reads in a sitting. Read from the source with `ast`, so a
lazy import inside a function counts too."""

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


def module_name(path):
    parts = path.relative_to(REPOSITORY).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path, modules):
    """The modules of `modules` that the module at `path` imports: `from package import name` imports the module
    package.name where there is one, else the package itself."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.update([submodule] if submodule in modules else [node.module] if node.module in modules else [])
    return found - {module_name(path)}


def import_cycles(graph):
    """The groups of modules (strongly connected components of more than one) that import each other in a chain."""
    index, lowest, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(module):
        index[module] = lowest[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for imported in sorted(graph[module]):
            if imported not in index:
                visit(imported)
                lowest[module] = min(lowest[module], lowest[imported])
            elif imported in on_stack:
                lowest[module] = min(lowest[module], index[imported])
        if lowest[module] == index[module]:
            group = []
            while not group or group[-1] != module:
                group.append(stack.pop())
                on_stack.discard(group[-1])
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return cycles


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


def test_no_module_imports_itself_through_a_chain_of_imports():
    paths = {module_name(path): path for path in product_modules()}
    assert import_cycles({module: imported_modules(path, paths) for module, path in paths.items()}) == []


def test_the_cycle_check_sees_a_cycle_through_a_lazy_import(tmp_path, monkeypatch):
    package = tmp_path / "package"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "first.py").write_text("from package.second import helper\n")
    (package / "second.py").write_text("def helper():\n    from package import first\n")
    (package / "third.py").write_text("from package import second\n")
    monkeypatch.setattr(__import__(__name__), "REPOSITORY", tmp_path)
    paths = {module_name(path): path for path in sorted(package.glob("*.py"))}
    graph = {module: imported_modules(path, paths) for module, path in paths.items()}
    assert graph["package.third"] == {"package.second"}
    assert import_cycles(graph) == [["package.first", "package.second"]]


def test_no_product_module_is_over_the_size_limit():
    long_modules = {str(path.relative_to(REPOSITORY)): lines for path in product_modules()
                    if (lines := len(path.read_text().splitlines())) > MAXIMUM_LINES}
    assert long_modules == {}
