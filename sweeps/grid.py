"""Grid files: read, check and expand into one validated RunConfig per configuration and seed.

The format is documented in experiments/README.md. Every problem is a GridError with one sentence.
"""

import dataclasses
import itertools
import json

from config import MAX_SEED, ConfigError, RunConfig, setting_fields

TOP_LEVEL_KEYS = ("description", "machine", "base", "grid", "rules", "seeds")
# Set by the sweep itself: seeds come from "seeds", the folder and data from Sweep.py's flags.
SWEEP_FIELDS = ("seed", "outputpath", "nruns", "data_dir")
FIELDS = setting_fields()
SETTABLE = tuple(name for name in FIELDS if name not in SWEEP_FIELDS)


class GridError(ValueError):
    """A grid file that cannot be run; the message is one sentence."""


@dataclasses.dataclass(frozen=True)
class Grid:
    path: str
    description: str
    machine: str
    runs: tuple  # RunConfig, one per configuration and seed, seeds outermost
    varying: tuple  # names of the settings that differ between runs (for labels)

    def label(self, config):
        settings = config.to_dict()
        return " ".join(f"{name}={settings[name]}" for name in (*self.varying, "seed") if name in settings)


def load_grid(path, outputpath="Outputs", data_dir=None, defaults=None):
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except OSError as error:
        raise GridError(f"Cannot read the grid file {path} ({error.strerror}).") from None
    except ValueError as error:
        where = f" at line {error.lineno}, column {error.colno}" if hasattr(error, "lineno") else ""
        raise GridError(f"{path} is not valid JSON ({getattr(error, 'msg', error)}{where}).") from None
    return expand_grid(document, path, outputpath, data_dir, defaults)


def expand_grid(document, path, outputpath="Outputs", data_dir=None, defaults=None):
    """defaults: settings for the runs whose grid file does not set them (Sweep.py --keras-backend)."""
    def fail(problem):
        raise GridError(f"{path}: {problem}.")

    if not isinstance(document, dict):
        fail("the file must hold one JSON object with the keys " + ", ".join(TOP_LEVEL_KEYS))
    for key in document:
        if key not in TOP_LEVEL_KEYS:
            fail(f"unknown key '{key}'; the keys of a grid file are {', '.join(TOP_LEVEL_KEYS)}")
    for key in ("description", "machine"):
        if not isinstance(document.get(key), str) or not document[key].strip():
            fail(f"'{key}' must be a non-empty string")
    base = check_settings(document.get("base", {}), "base", fail)
    grid = document.get("grid", {})
    if isinstance(grid, dict):
        grid = dict(grid)
    else:
        fail("'grid' must be an object mapping a setting to its list of values")
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            fail(f"grid value of '{name}' must be a non-empty list")
        grid[name] = [check_settings({name: value}, "grid", fail)[name] for value in values]
        if len(set(map(repr, grid[name]))) != len(values):
            fail(f"the grid lists a value of '{name}' twice")
    rules = check_rules(document.get("rules", []), fail)
    seeds = document.get("seeds")
    if (not isinstance(seeds, list) or not seeds or len(set(seeds)) != len(seeds)
            or not all(type(seed) is int and 1 <= seed <= MAX_SEED for seed in seeds)):
        fail(f"'seeds' must be a non-empty list of distinct integers from 1 to {MAX_SEED} (0 would draw an "
             "unrepeatable fresh seed; Keras' random generators take no larger one)")

    runs, seen, used = [], {}, set()
    for seed in seeds:
        for combination in itertools.product(*grid.values()):
            requested = {**base, **dict(zip(grid, combination))}
            settings = {**(defaults or {}), **requested}
            for when, assignments in rules:
                current = run_config(settings, fail).to_dict()
                if all(current.get(name) in values for name, values in when.items()):
                    settings.update(assignments)
            describe = " ".join(f"{name}={value}" for name, value in settings.items()) + f" seed={seed}"
            try:
                config = run_config({**settings, "seed": seed, "outputpath": outputpath, "data_dir": data_dir},
                                    fail).validate()
            except ConfigError as error:
                fail(f"the run {describe} is invalid: {str(error).rstrip('.')}")
            applying = config.to_dict()
            used.update(applying)
            key = config.identity_key()
            requested = {name: value for name, value in requested.items() if name in applying}
            if key in seen:
                if seen[key][1] == requested:
                    continue  # differs only in settings of other methods (e.g. sparsity for a Baseline): one run
                fail(f"the runs {seen[key][0]} and {describe} are the same run (a rule may set a setting that "
                     "the grid varies, or they differ only in settings that do not make another run: "
                     "xla, tensorboard or device)")
            seen[key] = (describe, requested)
            runs.append(config)
    unused = [name for name in (*base, *grid) if name not in used]
    if unused:
        fail(f"the setting '{unused[0]}' applies to no run of the grid (it belongs to other --traintype values)")
    varying = tuple(name for name in SETTABLE if len({repr(config.to_dict().get(name)) for config in runs}) > 1)
    return Grid(path, document["description"], document["machine"], tuple(runs), varying)


def run_config(settings, fail):
    """A RunConfig from grid settings; the settings of other methods' families are left out."""
    try:
        return RunConfig.from_settings(settings, strict=False)
    except ConfigError as error:
        fail(str(error).rstrip("."))


def check_settings(settings, where, fail):
    if not isinstance(settings, dict):
        fail(f"'{where}' must be an object mapping settings to values")
    for name in settings:
        if name in SWEEP_FIELDS:
            fail(f"'{name}' cannot be set in '{where}': "
                 + ("list the seeds under 'seeds'" if name == "seed" else "it is set by Sweep.py's own flags"))
        if name not in FIELDS:
            fail(f"unknown setting '{name}' in '{where}'; the settings are {', '.join(SETTABLE)}")
    return {name: check_value(name, value, where, fail) for name, value in settings.items()}


def check_value(name, value, where, fail):
    field = FIELDS[name]
    kind, choices = field.metadata["type"], field.metadata["choices"]
    if value is None and field.default is None:
        return value
    if choices:
        if value not in choices:
            fail(f"'{value}' is not a value of '{name}' (in '{where}'); choose from {', '.join(choices)}")
    elif kind is bool:
        if type(value) is not bool:
            fail(f"'{name}' (in '{where}') must be true or false, got {json.dumps(value)}")
    elif kind is int:
        if type(value) is not int:
            fail(f"'{name}' (in '{where}') must be an integer, got {json.dumps(value)}")
    elif kind is float:
        if type(value) not in (int, float):
            fail(f"'{name}' (in '{where}') must be a number, got {json.dumps(value)}")
        return float(value)
    elif not isinstance(value, str):
        fail(f"'{name}' (in '{where}') must be a string, got {json.dumps(value)}")
    return value


def check_rules(rules, fail):
    if not isinstance(rules, list):
        fail("'rules' must be a list of {\"when\": {...}, \"set\": {...}} objects")
    checked = []
    for number, rule in enumerate(rules, 1):
        if not isinstance(rule, dict) or set(rule) != {"when", "set"}:
            fail(f"rule {number} must be an object with exactly the keys 'when' and 'set'")
        if not isinstance(rule["when"], dict):
            fail(f"'when' of rule {number} must be an object mapping settings to a value or a list of values")
        when = {name: values if isinstance(values, list) else [values] for name, values in rule["when"].items()}
        when = {name: [check_settings({name: value}, f"rule {number} when", fail)[name] for value in values]
                for name, values in when.items()}
        checked.append((when, check_settings(rule["set"], f"rule {number} set", fail)))
    return checked
