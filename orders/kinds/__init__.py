"""The registry of order kinds: each maps a name to a class with the `OrderKind` interface."""

from orders.kinds.base import OrderKind
from orders.kinds.expulsion import Expulsion

KINDS: dict[str, OrderKind] = {kind.name: kind for kind in (Expulsion(),)}


def get_kind(name: str) -> OrderKind:
    return KINDS[name]
