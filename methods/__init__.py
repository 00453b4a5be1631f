"""Training methods, one module per family (connectivity, supermask, lottery_tickets, pruning_at_initialisation),
and the registry that maps each --traintype name to its method and family."""

from methods.base import ConfigError, Method, MethodFamily, NoSettings, setting
from methods.registry import (
    FAMILIES,
    METHOD_NAMES,
    METHODS,
    family_of,
    get_family,
    get_method,
    method_order,
    reference_method,
)

__all__ = ["ConfigError", "FAMILIES", "METHODS", "METHOD_NAMES", "Method", "MethodFamily", "NoSettings",
           "family_of", "get_family", "get_method", "method_order", "reference_method", "setting"]
