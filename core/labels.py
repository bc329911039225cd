"""Labels for values stored as codes (statuses, states, triggers, roles, funding): `label("academic_leave")`.

Templates call `label(value)` instead of `_(value)`: declaring every code with `lazy_gettext` lets `pybabel extract`
find the msgids, and gives each code its English wording ("review_dean" -> "dean's visa"). The generic codes are
here; each order kind declares its own (its name, its parameters' values, its line fields) in `OrderKind.labels`,
and the registry adds them with `register_labels`.
"""

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

LABELS: dict[str, LazyString] = {
    # student status
    "active": _l("active"),
    "academic_leave": _l("on academic leave"),
    "expelled": _l("expelled"),
    "graduated": _l("graduated"),
    "incoming": _l("transferring in"),
    # a history entry written by an import (an e-mail changed), not by an order
    "import": _l("import"),
    # a signed order corrected by a later one
    "revoked": _l("revoked by order"),
    "amended": _l("amended by order"),
    # funding
    "grant": _l("state grant"),
    "paid": _l("paid"),
    "none": _l("no funding"),
    # level, study form, language of instruction
    "bachelor": _l("bachelor"),
    "master": _l("master"),
    "doctoral": _l("doctoral"),
    "full_time": _l("full-time"),
    "part_time": _l("part-time"),
    "kk": _l("Kazakh"),
    "ru": _l("Russian"),
    "en": _l("English"),
    # order states
    "draft": _l("draft"),
    "review_dean": _l("dean's visa"),
    "review_registrar": _l("registrar's visa"),
    "review_lawyer": _l("lawyer's visa"),
    "review_finance": _l("finance visa"),
    "awaiting_signature": _l("awaiting signature"),
    "signed": _l("signed"),
    "rejected": _l("rejected"),
    "withdrawn": _l("withdrawn"),
    # triggers (the wording of the action buttons)
    "submit": _l("Submit"),
    "approve": _l("Approve"),
    "return": _l("Return"),
    "reject": _l("Reject"),
    "sign": _l("Sign"),
    "withdraw": _l("Withdraw"),
    "override": _l("accepted a line despite a rule"),
    "remove_lines": _l("removed lines"),
    "take_effect": _l("the effects reached the records on their effective date"),
    # visa decisions ("signed" and "rejected" are above)
    "approved": _l("approved"),
    "returned": _l("returned"),
    # roles and visa steps
    "clerk": _l("clerk"),
    "dean": _l("dean"),
    "registrar": _l("registrar"),
    "lawyer": _l("lawyer"),
    "finance": _l("finance officer"),
    "rector": _l("rector"),
    "admin": _l("administrator"),
    "signature": _l("signature"),
    # fields a movement or a line changes
    "status": _l("status"),
    "funding": _l("funding"),
    "reason": _l("reason"),
    "effective_date": _l("effective date"),
    "surname": _l("surname"),
    "name": _l("name"),
    "patronymic": _l("patronymic"),
    "course": _l("course"),
    "group": _l("group"),
    "status_since": _l("status since"),
    "expulsion_reason": _l("expulsion reason"),
    "leave_ground": _l("leave ground"),
    "leave_start": _l("leave start"),
    "leave_end": _l("leave end"),
    # line fields several kinds share
    "ground": _l("ground"),
    "document_date": _l("document date"),
    "scholarship": _l("scholarship, KZT a month"),
    # the built-in approval routes (workflow/routes.yaml)
    "movement": _l("deans and registrar office"),
    "legal": _l("with the lawyer's visa"),
    "money": _l("with the finance visa"),
    # outbox statuses
    "pending": _l("pending"),
    "sent": _l("sent"),
    "failed": _l("failed"),
}


def register_labels(labels: dict[str, LazyString]) -> None:
    """Add the words of codes declared elsewhere (an order kind's)."""
    LABELS.update(labels)


def label(value: str | None) -> str:
    """The translated label of a stored code; an unknown code reads as itself with spaces for underscores."""
    if value is None:
        return ""
    value = str(value)
    if value in LABELS:
        return str(LABELS[value])
    return value.replace("_", " ")
