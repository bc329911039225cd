"""The audit log view for the registrar head and the admin: every audit event (state changes of orders, overrides,
user administration, recorded changes of student data), searched by person, order, action and dates, paged,
exported to XLSX, with a check that the hash chain (`workflow.audit`) holds."""

from dataclasses import dataclass
from datetime import date, timedelta

from flask import Blueprint, render_template, request
from flask_babel import gettext as _
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import aliased

from core.db import db
from core.formatting import local_time, start_of_day
from core.labels import label
from core.models import User
from core.paging import paginate
from core.permissions import roles_required
from core.xlsx import back_to_search, refused_if_too_many, sheet_download
from orders.models import Order, numbered
from reports.tables import period_option
from workflow.audit import verify_chain
from workflow.models import ORDER_ACTION, AuditEvent

bp = Blueprint("audit_log", __name__, url_prefix="/reports/audit")
READERS = ("registrar", "admin")
Actor = aliased(User, name="actor")
ActingFor = aliased(User, name="acting_for")


def action_of(event: AuditEvent) -> str:
    """What happened, as one code: an order's trigger (submit, approve, sign, ...), else the event's action."""
    return event.trigger or event.action if event.action == ORDER_ACTION else event.action


def action_choices() -> list[str]:
    """Every action the log holds, from one grouped query."""
    found = db.session.execute(select(AuditEvent.action, AuditEvent.trigger).distinct()).all()
    return sorted({trigger or action if action == ORDER_ACTION else action for action, trigger in found})


@dataclass
class Search:
    person: str = ""
    order: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None
    errors: dict[str, str] | None = None

    @classmethod
    def from_args(cls, args) -> "Search":
        found = cls(
            person=" ".join(args.get("person", "")[:100].split()),
            order=args.get("order", "")[:40].strip(),
            action=args.get("action", "")[:40].strip(),
        )
        errors = {}
        found.date_from, found.date_to = period_option(args, errors)
        found.errors = errors
        return found

    def query(self) -> Select:
        """The events that match, newest first, each with its order and the people named in it."""
        query = (
            select(AuditEvent, Order, ActingFor)
            .outerjoin(Order, Order.id == AuditEvent.order_id)
            .outerjoin(ActingFor, ActingFor.id == AuditEvent.acting_for_id)
        )
        if self.person:
            text = self.person.lower()
            people = select(User.id).where(
                or_(func.lower(User.full_name).like(f"%{text}%"), func.lower(User.username) == text)
            )
            query = query.where(or_(AuditEvent.actor_id.in_(people), AuditEvent.acting_for_id.in_(people)))
        if self.order:
            query = query.where(numbered(self.order, AuditEvent.order_id))
        if self.action:
            query = query.where(
                or_(
                    and_(AuditEvent.action == ORDER_ACTION, AuditEvent.trigger == self.action),
                    and_(AuditEvent.action != ORDER_ACTION, AuditEvent.action == self.action),
                )
            )
        if self.date_from:
            query = query.where(AuditEvent.created_at >= start_of_day(self.date_from))
        if self.date_to:
            query = query.where(AuditEvent.created_at < start_of_day(self.date_to + timedelta(days=1)))
        return query.order_by(AuditEvent.id.desc())


def cells(event: AuditEvent, order: Order | None, acting_for: User | None) -> list:
    """An event as the page and the spreadsheet show it."""
    states = f"{label(event.from_state)} → {label(event.to_state)}" if event.from_state or event.to_state else ""
    return [
        local_time(event.created_at).replace(tzinfo=None),
        event.actor.full_name if event.actor else _("command line"),
        acting_for.full_name if acting_for else "",
        label(action_of(event)),
        order.label if order else "",
        event.subject or "",
        states,
        event.comment or "",
        event.chain_seq,
    ]


def headers() -> list[str]:
    return [
        _("When"),
        _("Person"),
        _("Acting for"),
        _("Action"),
        _("Order"),
        _("Subject"),
        _("State"),
        _("Comment"),
        _("Chain position"),
    ]


@bp.route("/")
@roles_required(*READERS)
def index():
    search = Search.from_args(request.args)
    page = None
    if not search.errors:
        page = paginate(search.query(), request.args.get("page"), scalars=False)
    chain = verify_chain() if request.args.get("verify") else None
    return render_template(
        "reports/audit_log.html",
        search=search,
        page=page,
        actions=action_choices(),
        chain=chain,
        cells=cells,
    ), (400 if search.errors else 200)


@bp.route("/audit.xlsx")
@roles_required(*READERS)
def export():
    search = Search.from_args(request.args)
    if search.errors:
        return back_to_search(" ".join(search.errors.values()))
    query = search.query()
    if refused := refused_if_too_many(
        query, _("%(total)s events match; a spreadsheet holds at most %(limit)s. Narrow the search (dates, person).")
    ):
        return refused
    rows = (cells(*row) for row in db.session.execute(query.execution_options(yield_per=1000)))
    return sheet_download(_("Audit log"), headers(), rows, "audit", {"A": "yyyy-mm-dd hh:mm:ss"})
