"""Who sees what: the one rule that cuts every order, student and register row down to what a person may see.

A person sees the whole university when they, or someone they substitute today, hold a role that sees everything;
otherwise the faculties of the deans among them (their own and those of the deans they substitute today); nobody
else sees anything. The SQL filters built from a scope live next to the models they filter (students, orders).
"""

from core.clock import today
from core.models import User, principals_of

UNIVERSITY_ROLES = ("clerk", "registrar", "lawyer", "finance", "rector")  # see every order and student


def faculty_scope(
    actor: User, principals: list[User] | None = None, *, see_all: tuple[str, ...] = UNIVERSITY_ROLES
) -> set[int] | None:
    """The faculties `actor` sees: None for the whole university (a role of `see_all`), else the faculties of the
    deans among `actor` and the people they substitute today (empty: nothing). `principals`: those people, when
    the caller has already looked them up."""
    identities = [actor, *(principals_of(actor, today()) if principals is None else principals)]
    if any(who.has_role(*see_all) for who in identities):
        return None
    return {who.faculty_id for who in identities if who.has_role("dean") and who.faculty_id is not None}
