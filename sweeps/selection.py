"""--only KEY=VALUE: keeps the runs whose setting KEY equals VALUE. Several values of one key: any of
them; several keys: all of them."""

from sweeps.grid import FIELDS, SETTABLE, GridError

SELECTABLE = (*SETTABLE, "seed")


def parse_condition(text):
    key, separator, raw = text.partition("=")
    if not separator or key not in SELECTABLE:
        raise GridError(f"--only takes KEY=VALUE with KEY one of {', '.join(SELECTABLE)}, got '{text}'.")
    kind = FIELDS[key].metadata["type"]
    try:
        return key, kind(raw) if kind in (int, float) else raw
    except ValueError:
        raise GridError(f"--only {text}: '{raw}' is not a valid {kind.__name__} for {key}.") from None


def select_runs(runs, conditions):
    wanted = {}
    for key, value in map(parse_condition, conditions or ()):
        wanted.setdefault(key, []).append(value)
    selected = [config for config in runs
                if all(config.to_dict().get(key) in values for key, values in wanted.items())]
    if not selected:
        raise GridError(f"No run of the grid matches --only {' '.join(conditions)}.")
    return selected
