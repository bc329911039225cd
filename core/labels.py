"""Labels for values stored as codes (statuses, states, triggers, roles, reasons): `label("academic_leave")`.

Templates call `label(value)` instead of `_(value)`: declaring every code here with `lazy_gettext` lets
`pybabel extract` find the msgids, and gives each code its English wording ("review_dean" -> "dean's visa").
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
    # movement and order kinds
    "expulsion": _l("expulsion"),
    "funding_change": _l("change of funding"),
    "state_scholarship": _l("state scholarship"),
    "president_scholarship": _l("President's scholarship"),
    "personal_scholarship": _l("personal scholarship"),
    "vacant_grant": _l("vacant state grant"),
    "travel_compensation": _l("travel compensation"),
    "scholarship": _l("scholarship, KZT a month"),
    "personal_data": _l("change of personal data"),
    "revocation": _l("revocation of an order"),
    "amendment": _l("amendment of an order"),
    "to_grant": _l("paid to state grant (vacant grant)"),
    "to_paid": _l("state grant to paid"),
    "direction": _l("change"),
    "surname": _l("surname"),
    "name": _l("name"),
    "patronymic": _l("patronymic"),
    "document_type": _l("document"),
    "document_number": _l("document number"),
    "marriage": _l("marriage certificate"),
    "divorce": _l("divorce certificate"),
    "name_change": _l("certificate of change of name"),
    "identity": _l("identity card"),
    "court": _l("court decision"),
    "item": _l("item"),
    "target_line_id": _l("target line"),
    "status_since": _l("status since"),
    "expulsion_reason": _l("expulsion reason"),
    "restoration": _l("restoration"),
    "transfer_within": _l("transfer within the university"),
    "transfer_in": _l("transfer from another university"),
    "transfer_out": _l("transfer to another university"),
    "promotion": _l("course promotion"),
    "repeat_year": _l("repeat year"),
    "course": _l("course"),
    "group": _l("group"),
    "promotion_refused": _l("promotion refused"),
    "application": _l("student's application"),
    # expulsion reasons (the reporting buckets of orders/kinds/expulsion.py REASONS; same msgids)
    "own_request": _l("own request"),
    "academic_failure": _l("academic failure"),
    "attendance": _l("unexcused absences over the limit"),
    "discipline": _l("breach of internal rules or academic integrity"),
    "non_payment": _l("non-payment"),
    "transfer": _l("transfer to another university"),
    "repeat_contract": _l("did not sign the repeat-year contract"),
    "graduation": _l("completion of studies"),
    "death": _l("death"),
    "other": _l("other"),
    "non_return": _l("did not return from academic leave"),
    # academic leave and the return from it: kind, grounds, line details
    "leave_return": _l("return from academic leave"),
    "medical": _l("medical"),
    "tuberculosis": _l("tuberculosis"),
    "military": _l("military service"),
    "child_care": _l("child care"),
    "ground": _l("ground"),
    "leave_ground": _l("leave ground"),
    "leave_start": _l("leave start"),
    "leave_end": _l("leave end"),
    "document_no": _l("document no."),
    "document_date": _l("document date"),
    "child_birth_date": _l("child's birth date"),
    "application_date": _l("application date"),
    "early_ground": _l("ground for early return"),
    # outbox statuses
    "pending": _l("pending"),
    "sent": _l("sent"),
    "failed": _l("failed"),
}


def label(value: str | None) -> str:
    """The translated label of a stored code; an unknown code reads as itself with spaces for underscores."""
    if value is None:
        return ""
    value = str(value)
    if value in LABELS:
        return str(LABELS[value])
    return value.replace("_", " ")
