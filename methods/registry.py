"""The method families, and every --traintype name mapped to its method and family.

Adding a family: one module in this package, plus one entry in FAMILIES.
"""

from methods import connectivity, lottery_tickets, pruning_at_initialisation, supermask
from methods.base import ConfigError

FAMILIES = (connectivity.FAMILY, supermask.FAMILY, lottery_tickets.FAMILY, pruning_at_initialisation.FAMILY)

METHODS = {method.name: method for family in FAMILIES for method in family.methods}
FAMILY_OF = {method.name: family for family in FAMILIES for method in family.methods}
METHOD_NAMES = tuple(METHODS)


def get_method(name):
    if name not in METHODS:
        raise ConfigError(f"Unknown training type '{name}'; choose one of {', '.join(METHODS)}.")
    return METHODS[name]


def family_of(name):
    get_method(name)
    return FAMILY_OF[name]


def get_family(family_name):
    for family in FAMILIES:
        if family.name == family_name:
            return family
    raise ConfigError(f"Unknown method family '{family_name}'; choose one of "
                      f"{', '.join(family.name for family in FAMILIES)}.")


def reference_method():
    """The method every other is compared with in reports: it trains all the weights of the dense network."""
    (name,) = (method.name for method in METHODS.values() if method.changes == "weights")
    return name


def method_order(name):
    """Position of a method in report order (unknown names last)."""
    return METHOD_NAMES.index(name) if name in METHODS else len(METHODS)
