"""How far a long operation has got, for whoever runs it in the background (a job shows it as a progress bar).

An operation calls `report(fraction)` at its milestones; outside a job nobody listens and the call costs nothing.
The job runner (`orders.jobs`) sets the listener for the duration of the operation.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_LISTENER: ContextVar[Callable[[float], None] | None] = ContextVar("progress_listener", default=None)


def report(fraction: float) -> None:
    """The running operation has done `fraction` (0 to 1) of its work."""
    listener = _LISTENER.get()
    if listener is not None:
        listener(min(max(fraction, 0.0), 1.0))


@contextmanager
def listening(listener: Callable[[float], None] | None) -> Iterator[None]:
    token = _LISTENER.set(listener)
    try:
        yield
    finally:
        _LISTENER.reset(token)
