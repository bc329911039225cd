"""The state scholarship: the kind, its bulk drafting for chosen faculties and courses, its pages and API."""

from orders.kinds.state_scholarship import api, views  # noqa: F401 (their routes join the kind's blueprints)
