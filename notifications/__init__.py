"""Delivery service: outbox rows written in the caller's transaction, a relay to dramatiq, e-mail transports.

It knows nothing about orders: callers hand it a recipient, a template from templates/emails/ and a context.
"""

from notifications.outbox import enqueue_email, enqueue_emails

__all__ = ["enqueue_email", "enqueue_emails"]
