"""The generic approval engine: routes as data, one `transitions` machine per route, `fire()`, audit, locks.

It knows nothing about students, orders or Flask requests: a subject is any row with the attributes of
`engine.Subject`, and callers register what happens when a subject enters a state.
"""

from workflow.engine import Refused, fire, legal_triggers, on_enter, pending_approvals
from workflow.routes import ROUTES, Route, Step, get_route

__all__ = ["ROUTES", "Refused", "Route", "Step", "fire", "get_route", "legal_triggers", "on_enter",
           "pending_approvals"]
