"""Routes are data: ordered visa steps, each naming a role and whether it needs one visa per faculty."""

from dataclasses import dataclass

TERMINAL_STATES = ("signed", "rejected", "withdrawn")


@dataclass(frozen=True)
class Step:
    name: str
    role: str
    per_faculty: bool = False  # one visa from each faculty present in the subject's lines

    @property
    def state(self) -> str:
        return f"review_{self.name}"


@dataclass(frozen=True)
class Route:
    name: str
    version: int
    steps: tuple[Step, ...]
    signer_role: str = "rector"

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


ROUTES: dict[str, Route] = {
    "movement": Route(
        name="movement",
        version=1,
        steps=(Step("dean", "dean", per_faculty=True),),
    ),
}


def get_route(name: str) -> Route:
    return ROUTES[name]


# Every state any route can put a subject in, for the database check constraint.
ALL_STATES = ("draft", "review_dean", "review_registrar", "review_lawyer", "review_finance",
              "awaiting_signature", *TERMINAL_STATES)
