"""Routes are data: ordered visa steps, each naming who may give the visa and how many visas it needs.

A route has versions. Version 1 of each route is the built-in default below; an admin adds later versions (web UI
or `registrar routes load FILE.yaml`), stored in the `routes` table. Versions never change once saved, so an order
keeps the version it was submitted on and a route change never breaks orders in flight.
"""

from dataclasses import asdict, dataclass, field

from sqlalchemy import func, select

from core.db import db
from core.errors import InvalidInput
from core.models import ROLES
from workflow.models import RouteVersion

TERMINAL_STATES = ("signed", "rejected", "withdrawn")
FIXED_STATES = ("draft", "awaiting_signature", *TERMINAL_STATES)
MODES = ("one", "per_faculty", "n_of_m")
SIGNER_STEP = "signature"


class RouteError(InvalidInput):
    """A route definition that cannot be used, or a version that does not exist (404); the message says what is
    wrong, about the field `definition` unless `field` names another (or None)."""

    def __init__(self, message: str, status: int = 422, field: str | None = "definition"):
        super().__init__({field: message} if field else {}, status, message)


@dataclass(frozen=True)
class Step:
    """One visa step. `mode`: `one` visa from anyone holding one of `roles`; `per_faculty`: one visa per faculty
    present in the order's lines, from a holder of the role scoped to that faculty; `n_of_m`: `n` visas from
    different holders of the roles. `due_days` working days to act, then a reminder; `escalate_after_days` more
    and the order is escalated to `escalate_to` (a role)."""

    name: str
    roles: tuple[str, ...]
    mode: str = "one"
    n: int = 1
    due_days: int = 3
    escalate_after_days: int = 2
    escalate_to: str = "registrar"

    @property
    def state(self) -> str:
        return f"review_{self.name}"


@dataclass(frozen=True)
class Route:
    name: str
    version: int
    steps: tuple[Step, ...]
    signer_role: str = "rector"
    sign_due_days: int = 3
    description: str = ""
    kinds: tuple[str, ...] = field(default=())

    @property
    def states(self) -> list[str]:
        return ["draft", *(s.state for s in self.steps), "awaiting_signature", *TERMINAL_STATES]

    def step_for_state(self, state: str) -> Step | None:
        return next((s for s in self.steps if s.state == state), None)

    def state_after(self, state: str) -> str:
        states = [s.state for s in self.steps] + ["awaiting_signature"]
        return states[states.index(state) + 1]

    @property
    def first_state(self) -> str:
        return self.steps[0].state if self.steps else "awaiting_signature"

    def signature_step(self) -> Step:
        """The rector's signature, as a step for deadlines and the diagram."""
        return Step(SIGNER_STEP, (self.signer_role,), due_days=self.sign_due_days)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["steps"] = [{**asdict(s), "roles": list(s.roles)} for s in self.steps]
        data["kinds"] = list(self.kinds)
        return data


def _dean_step() -> Step:
    return Step("dean", ("dean",), mode="per_faculty", due_days=3)


DEFAULT_ROUTES: dict[str, Route] = {
    "movement": Route(
        "movement",
        1,
        (_dean_step(), Step("registrar", ("registrar",), due_days=2)),
        description="Movement orders: dean of each faculty, registrar office, rector.",
    ),
    "legal": Route(
        "legal",
        1,
        (_dean_step(), Step("registrar", ("registrar",), due_days=2), Step("lawyer", ("lawyer",), due_days=2)),
        description="Expulsions and revocations: deans, registrar office, lawyer, rector.",
    ),
    "money": Route(
        "money",
        1,
        (_dean_step(), Step("registrar", ("registrar",), due_days=2), Step("finance", ("finance",), due_days=2)),
        description="Scholarships, grants and payments: deans, registrar office, finance, rector.",
    ),
}


def _step_from_dict(position: int, raw: object, taken: set[str]) -> Step:
    """One step of a route from plain data; `taken`: the names of the steps before it."""
    if not isinstance(raw, dict):
        raise RouteError(f"Step {position} is not a mapping.")
    step_name = raw.get("name")
    if not isinstance(step_name, str) or not step_name.isidentifier() or step_name in taken:
        raise RouteError(f"Step {position} needs a unique name of letters, digits and underscores.")
    roles = raw.get("roles") or ([raw["role"]] if raw.get("role") else [])
    if isinstance(roles, str):
        roles = [roles]
    if not roles or any(r not in ROLES or r == "admin" for r in roles):
        raise RouteError(f"Step {step_name}: roles must be some of {', '.join(r for r in ROLES if r != 'admin')}.")
    mode = raw.get("mode", "one")
    if mode not in MODES:
        raise RouteError(f"Step {step_name}: mode must be one of {', '.join(MODES)}.")
    if mode == "per_faculty" and roles != ["dean"]:
        raise RouteError(f"Step {step_name}: a per-faculty step is for the role dean only.")
    numbers = {}
    for key, low in (("n", 1), ("due_days", 1), ("escalate_after_days", 0)):
        value = raw.get(key, {"n": 1, "due_days": 3, "escalate_after_days": 2}[key])
        if not isinstance(value, int) or isinstance(value, bool) or value < low or value > 60:
            raise RouteError(f"Step {step_name}: {key} must be a whole number from {low} to 60.")
        numbers[key] = value
    escalate_to = raw.get("escalate_to", "registrar")
    if escalate_to not in ROLES:
        raise RouteError(f"Step {step_name}: escalate_to must be a role.")
    return Step(
        step_name,
        tuple(roles),
        mode,
        numbers["n"],
        numbers["due_days"],
        numbers["escalate_after_days"],
        escalate_to,
    )


def route_from_dict(data: dict) -> Route:
    """Build and validate a route from plain data (YAML, a form, the API); raises RouteError saying why."""
    if not isinstance(data, dict):
        raise RouteError("A route is a mapping with name and steps.")
    name = data.get("name")
    if not isinstance(name, str) or not name.isidentifier():
        raise RouteError("The route needs a name of letters, digits and underscores.")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list):
        raise RouteError("The route needs a list of steps (it may be empty: straight to the signature).")
    steps: list[Step] = []
    for position, raw in enumerate(raw_steps, 1):
        steps.append(_step_from_dict(position, raw, {step.name for step in steps}))
    signer = data.get("signer_role", "rector")
    if signer not in ROLES or signer == "admin":
        raise RouteError("signer_role must be a role that may sign (usually rector).")
    version = data.get("version") or 0
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise RouteError("version must be a whole number; leave it out: saving assigns the next one.")
    sign_due = data.get("sign_due_days", 3)
    if not isinstance(sign_due, int) or isinstance(sign_due, bool) or not 1 <= sign_due <= 60:
        raise RouteError("sign_due_days must be a whole number from 1 to 60.")
    return Route(
        name=name,
        version=version,
        steps=tuple(steps),
        signer_role=signer,
        sign_due_days=sign_due,
        description=str(data.get("description") or "")[:500],
    )


def _stored(name: str, version: int) -> Route | None:
    row = db.session.scalar(select(RouteVersion).where(RouteVersion.name == name, RouteVersion.version == version))
    return None if row is None else route_from_dict({**row.definition, "name": name, "version": version})


def get_route(name: str, version: int | None = None) -> Route:
    """A route version (the latest when `version` is None)."""
    if version is None:
        version = latest_version(name)
    if version == 1 and name in DEFAULT_ROUTES:  # version 1 is the built-in default, never stored
        return DEFAULT_ROUTES[name]
    route = _stored(name, version)
    if route is None:
        raise RouteError(f"There is no version {version} of route {name}.", status=404, field=None)
    return route


def latest_version(name: str) -> int:
    stored = db.session.scalar(select(func.max(RouteVersion.version)).where(RouteVersion.name == name))
    return stored or 1


def route_names() -> list[str]:
    return sorted(set(DEFAULT_ROUTES) | set(db.session.scalars(select(RouteVersion.name).distinct())))


def save_route_version(data: dict, author_id: int | None) -> Route:
    """Validate `data` and store it as the next version of its route; returns the saved route."""
    route = route_from_dict(data)
    version = latest_version(route.name) + 1
    definition = {k: v for k, v in route.as_dict().items() if k not in ("name", "version", "kinds")}
    db.session.add(RouteVersion(name=route.name, version=version, definition=definition, created_by_id=author_id))
    db.session.flush()
    return get_route(route.name, version)
