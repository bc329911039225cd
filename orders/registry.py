"""The registry of order kinds: every kind's name mapped to its object with the `OrderKind` interface, and the
questions the rest of the system asks about the kinds as a whole.

`orders.kinds` registers each kind when it is imported (`registrar.create_app()` imports it first); the order core,
the generic pages and API, the register and the approvals ask the registry, never a kind's module.
"""

from flask import Blueprint
from flask_smorest import Blueprint as ApiBlueprint

from core.labels import register_labels
from orders.kind import OrderKind

KINDS: dict[str, OrderKind] = {}
# The names of the registered kinds, and of those that pay money, kept in step with KINDS. API schemas name these
# very lists as their enums: they are declared while the kinds' own API modules are imported, before every kind is
# registered, and the OpenAPI document is written from them after create_app() registered them all.
NAMES: list[str] = []
PAYING_NAMES: list[str] = []


def register(kind: OrderKind) -> OrderKind:
    """Add `kind` under its name, with the words of the codes it declares."""
    if kind.name in KINDS:
        raise ValueError(f"an order kind named {kind.name!r} is registered already")
    KINDS[kind.name] = kind
    NAMES.append(kind.name)
    if kind.pays:
        PAYING_NAMES.append(kind.name)
    register_labels(kind.labels)
    return kind


def unregister(name: str) -> None:
    """Take the kind named `name` out of the registry (a test's own kind, once the test is done); its labels stay."""
    del KINDS[name]
    NAMES.remove(name)
    if name in PAYING_NAMES:
        PAYING_NAMES.remove(name)


def get_kind(name: str) -> OrderKind:
    return KINDS[name]


def record_neutral_kinds() -> list[str]:
    """Kinds whose lines change nothing in the student record (`changes_record = False`)."""
    return [name for name, kind in KINDS.items() if not kind.changes_record]


def correction_kinds() -> list[str]:
    """Kinds that revoke or amend a signed order."""
    return [name for name, kind in KINDS.items() if kind.corrects]


def blueprints() -> list[Blueprint]:
    """Every kind's own pages, each blueprint once (kinds sharing a folder share them)."""
    return list(dict.fromkeys(bp for kind in KINDS.values() for bp in kind.blueprints))


def api_blueprints() -> list[ApiBlueprint]:
    """Every kind's own API endpoints, each blueprint once."""
    return list(dict.fromkeys(bp for kind in KINDS.values() for bp in kind.api_blueprints))


def every_order_panels() -> list[str]:
    """The templates the page of every order includes, whatever its kind, each once."""
    return list(dict.fromkeys(name for kind in KINDS.values() for name in kind.every_order_panels))


def import_conflicts_endpoint() -> str | None:
    """The endpoint the student import page posts the names it did not import to, to draft the order that changes
    them (the kind declaring `drafts_import_conflicts`); None when no kind does, and the page only lists them."""
    return next((kind.drafts_import_conflicts for kind in KINDS.values() if kind.drafts_import_conflicts), None)


def new_order_links() -> list[str]:
    """The templates the "New order" menu includes besides one entry per kind, each once."""
    return list(dict.fromkeys(name for kind in KINDS.values() for name in kind.new_order_links))
