"""Outbox rows that name what they report instead of copying it.

A row's context may say `"from": name` with the ids it needs (e.g. an order line); the worker then asks the expander
registered under that name for the rest of the message's words at send time, read from what was frozen when the
row's transaction committed (the signed order, the student's stored extract). The row keeps only what is its own
(the student's name as the order found it), so a 20,000-line order does not copy its header into 20,000 rows, and
the words that depend on the order's number need not exist yet when the row is written. Upper layers register
their expanders at app start; an unknown name fails the delivery like an unreachable SMTP server would (retried).
"""

from collections.abc import Callable

KEY = "from"
Expander = Callable[[dict], dict]

_EXPANDERS: dict[str, Expander] = {}


class UnknownExpander(LookupError):
    pass


def register_expander(name: str, expander: Expander) -> None:
    """Make `expander(context) -> dict` available to outbox rows as `"from": name`; registering again replaces it."""
    _EXPANDERS[name] = expander


def full_context(context: dict) -> dict:
    """The message's whole context: the row's own, over what its expander reads (a row naming none: itself)."""
    name = context.get(KEY)
    if not name:
        return context
    expander = _EXPANDERS.get(name)
    if expander is None:
        raise UnknownExpander(f"no outbox context expander registered as {name!r}")
    own = {key: value for key, value in context.items() if key != KEY}
    return {**expander(context), **own}
