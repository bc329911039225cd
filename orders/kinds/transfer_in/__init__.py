"""Transfer from another university: the kind, the incoming student with the transcript, its page and API."""

from orders.kinds.transfer_in import api, views  # noqa: F401 (their routes join the kind's blueprints)
