"""The generic approval engine: routes as data, one `transitions` machine per route version, `fire()`, audit,
locks, substitutes.

It knows nothing about students, orders or Flask requests: a subject is any row with the attributes of
`engine.Subject`, and callers register guards and what happens when a subject enters a state.
"""

from workflow.engine import Refused, acting_for_in, fire, legal_actions, legal_triggers, on_enter, pending_approvals
from workflow.routes import DEFAULT_ROUTES, Route, Step, get_route

__all__ = [
    "DEFAULT_ROUTES",
    "Refused",
    "Route",
    "Step",
    "acting_for_in",
    "fire",
    "get_route",
    "legal_actions",
    "legal_triggers",
    "on_enter",
    "pending_approvals",
]
