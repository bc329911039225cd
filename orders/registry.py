"""The registry of order kinds: every kind's name mapped to its object with the `OrderKind` interface.

`orders.kinds` registers each kind when it is imported (`registrar.create_app()` imports it first); the order core,
the generic pages and API, the register and the approvals ask the registry, never a kind's module.
"""

from orders.kind import OrderKind

KINDS: dict[str, OrderKind] = {}


def register(kind: OrderKind) -> OrderKind:
    """Add `kind` to the registry under its name."""
    if kind.name in KINDS:
        raise ValueError(f"an order kind named {kind.name!r} is registered already")
    KINDS[kind.name] = kind
    return kind


def unregister(name: str) -> None:
    """Take the kind named `name` out of the registry (a test's own kind, once the test is done)."""
    del KINDS[name]


def get_kind(name: str) -> OrderKind:
    return KINDS[name]
