"""Admin of approval routes (versioned, never edited in place) and substitutes (who acts for whom, and when).

Plain operations first (used by these pages, the API and the CLI), then the views.
"""

from datetime import date

import yaml
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from core.auth import EmptyForm
from core.clock import today
from core.db import db
from core.errors import FormRefusals, InvalidInput
from core.formatting import format_day
from core.models import ROLES, Substitution, User, UserRole
from core.permissions import roles_required
from orders.models import Order
from orders.registry import KINDS
from workflow.models import RouteVersion
from workflow.routes import DEFAULT_ROUTES, TERMINAL_STATES, Route, RouteError, get_route, route_from_dict, route_names
from workflow.routes import save_route_version as _save

bp = Blueprint("approvals_admin", __name__)
APPROVER_ROLES = ("dean", "registrar", "lawyer", "finance", "rector")
EDITABLE_KEYS = ("name", "description", "signer_role", "sign_due_days", "steps")


# --- routes ---------------------------------------------------------------------------------------------------------


def route_definition(route: Route) -> dict:
    """The editable part of a route, in the order a person reads it."""
    data = route.as_dict()
    return {key: data[key] for key in EDITABLE_KEYS}


def route_yaml(definitions: list[dict] | dict) -> str:
    return yaml.safe_dump(definitions, allow_unicode=True, sort_keys=False, width=110, default_flow_style=None)


MAX_YAML_CHARACTERS = 64 * 1024  # every route of a university fits in a few kilobytes


def load_yaml(text: str):
    """YAML text as data; RouteError saying where the text stops being YAML.

    Route definitions never need anchors and aliases, and an alias can expand a few hundred characters into millions
    of values (a "billion laughs" document) before any length check sees them: they are refused while parsing, before
    anything is built.
    """
    if len(text) > MAX_YAML_CHARACTERS:
        raise RouteError(
            f"The text is longer than {MAX_YAML_CHARACTERS // 1024} KB; a route definition is much shorter."
        )
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise RouteError(
                    "Anchors and aliases (& and *) are not accepted in route definitions; write each value out."
                )
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise RouteError(f"This is not valid YAML{where}: {problem}.") from error


def parse_route_yaml(text: str) -> dict:
    """One route mapping from YAML text; RouteError with a readable message when the text is not YAML."""
    data = load_yaml(text)
    if not isinstance(data, dict):
        raise RouteError("The definition must be a YAML mapping with name, steps and the other fields shown.")
    return data


def parse_routes_file(text: str) -> list[dict]:
    """Every route of a YAML file: `routes: [...]`, a list of routes, or a single route."""
    data = load_yaml(text)
    if isinstance(data, dict) and "routes" in data:
        data = data["routes"]
    elif isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data or not all(isinstance(d, dict) for d in data):
        raise RouteError("The file must hold `routes:` with a list of route mappings.")
    return data


def unchanged(data: dict) -> bool:
    """Whether `data` (validated) says exactly what the latest version of its route says."""
    new = route_definition(route_from_dict(data))
    try:
        return route_definition(get_route(new["name"])) == new
    except RouteError:
        return False


def save_route_version(name: str | None, data: dict, author: User | None) -> Route:
    """Validate and store `data` as the next version of route `name` (the name in `data` must match, if given)."""
    if name is not None:
        if data.get("name") not in (None, name):
            raise RouteError(f"The name in the definition must stay {name}; a new route is loaded from a file.")
        data = {**data, "name": name}
    return _save(data, author.id if author else None)


def route_overview() -> list[dict]:
    """Every route with its versions, the kinds that use it and how many open orders travel on each version."""
    stored = db.session.scalars(select(RouteVersion).order_by(RouteVersion.name, RouteVersion.version)).all()
    authors = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(User.id.in_({r.created_by_id for r in stored if r.created_by_id}))
        )
    }
    in_flight = dict(
        ((n, v), c)
        for n, v, c in db.session.execute(
            select(Order.route_name, Order.route_version, func.count(Order.id))
            .where(Order.state.not_in(TERMINAL_STATES))
            .group_by(Order.route_name, Order.route_version)
        )
    )
    kinds: dict[str, list[str]] = {}
    for kind in KINDS.values():
        kinds.setdefault(kind.route, []).append(kind.name)
    overview = []
    for name in route_names():
        versions = []
        if name in DEFAULT_ROUTES:
            versions.append(
                {
                    "version": 1,
                    "builtin": True,
                    "created_at": None,
                    "author": None,
                    "open_orders": in_flight.get((name, 1), 0),
                }
            )
        for row in (r for r in stored if r.name == name):
            author = authors.get(row.created_by_id)
            versions.append(
                {
                    "version": row.version,
                    "builtin": False,
                    "created_at": row.created_at,
                    "author": author.full_name if author else None,
                    "open_orders": in_flight.get((name, row.version), 0),
                }
            )
        latest = get_route(name)
        overview.append(
            {
                "name": name,
                "description": latest.description,
                "latest": latest.version,
                "versions": versions,
                "kinds": kinds.get(name, []),
            }
        )
    return overview


# --- substitutes ----------------------------------------------------------------------------------------------------


class SubstitutionError(InvalidInput):
    """A substitution that cannot be saved; `field` names the form field it is about."""

    def __init__(self, field: str, message: str, status: int = 422):
        super().__init__({field: message}, status, message)


def is_approver(user: User) -> bool:
    return user.has_role(*APPROVER_ROLES)


def may_substitute(user: User) -> bool:
    """Any active user except admin-only accounts (a dean's substitute is usually a vice-dean with no role yet)."""
    return user.is_active_user and bool(user.roles - {"admin"})


def approvers() -> list[User]:
    return list(
        db.session.scalars(
            select(User)
            .join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role.in_(APPROVER_ROLES), User.is_active_user.is_(True))
            .distinct()
            .order_by(User.full_name)
        )
    )


def substitute_candidates() -> list[User]:
    users = db.session.scalars(select(User).where(User.is_active_user.is_(True)).order_by(User.full_name))
    return [u for u in users if may_substitute(u)]


def create_substitution(
    actor: User,
    principal: User | None,
    substitute: User | None,
    starts_on: date | None,
    ends_on: date | None,
    reason: str = "",
) -> Substitution:
    """`substitute` will act for `principal` from `starts_on` to `ends_on` inclusive. An approver names a substitute
    for themselves; an admin for anyone, also backdated."""
    admin = actor.has_role("admin")
    if principal is None:
        raise SubstitutionError("principal_id", _("Choose whom the substitute acts for."))
    if principal.id != actor.id and not admin:
        raise SubstitutionError("principal_id", _("You may name a substitute only for yourself."), 403)
    if not is_approver(principal):
        raise SubstitutionError(
            "principal_id", _("%(name)s gives no visas, so needs no substitute.", name=principal.full_name)
        )
    if substitute is None:
        raise SubstitutionError("substitute_id", _("Choose the substitute."))
    if substitute.id == principal.id:
        raise SubstitutionError("substitute_id", _("Nobody can be their own substitute."))
    if not may_substitute(substitute):
        raise SubstitutionError(
            "substitute_id",
            _("%(name)s cannot be a substitute (inactive or an admin account).", name=substitute.full_name),
        )
    if starts_on is None or ends_on is None:
        raise SubstitutionError("starts_on", _("Give the first and the last day."))
    if starts_on > ends_on:
        raise SubstitutionError("ends_on", _("The last day must not be before the first day."))
    if starts_on < today() and not admin:
        raise SubstitutionError("starts_on", _("A substitution cannot start in the past."))
    if (ends_on - starts_on).days > 366:
        raise SubstitutionError("ends_on", _("A substitution lasts at most a year; name it again after that."))
    overlap = db.session.scalar(
        select(Substitution.id).where(
            Substitution.principal_id == principal.id,
            Substitution.substitute_id == substitute.id,
            Substitution.starts_on <= ends_on,
            Substitution.ends_on >= starts_on,
        )
    )
    if overlap:
        raise SubstitutionError(
            "starts_on",
            _(
                "%(sub)s already substitutes for %(who)s on some of these days.",
                sub=substitute.full_name,
                who=principal.full_name,
            ),
        )
    row = Substitution(
        principal_id=principal.id,
        substitute_id=substitute.id,
        starts_on=starts_on,
        ends_on=ends_on,
        reason=(reason or "").strip()[:200],
        created_by_id=actor.id,
    )
    db.session.add(row)
    db.session.flush()
    return row


def may_cancel(actor: User, row: Substitution) -> bool:
    return row.ends_on >= today() and (actor.has_role("admin") or row.principal_id == actor.id)


def cancel_substitution(actor: User, row: Substitution) -> None:
    """A future substitution is deleted; one under way ends yesterday, so the substitute loses access at once."""
    if not may_cancel(actor, row):
        raise SubstitutionError("id", _("Only a current or future substitution of your own can be cancelled."), 403)
    if row.starts_on >= today():
        db.session.delete(row)
    else:
        row.ends_on = date.fromordinal(today().toordinal() - 1)
    db.session.flush()


def visible_substitutions(actor: User, *, include_past: bool = False) -> list[Substitution]:
    """Current and future substitutions: an admin sees all, anyone else those they are part of."""
    query = select(Substitution).order_by(Substitution.starts_on, Substitution.id)
    if not include_past:
        query = query.where(Substitution.ends_on >= today())
    if not actor.has_role("admin"):
        query = query.where((Substitution.principal_id == actor.id) | (Substitution.substitute_id == actor.id))
    return list(db.session.scalars(query))


def acting_for_now(user: User) -> list[Substitution]:
    return list(
        db.session.scalars(
            select(Substitution)
            .where(
                Substitution.substitute_id == user.id,
                Substitution.starts_on <= today(),
                Substitution.ends_on >= today(),
            )
            .order_by(Substitution.ends_on)
        )
    )


# --- views ----------------------------------------------------------------------------------------------------------


class RouteForm(FlaskForm):
    definition = TextAreaField(
        validators=[
            InputRequired(_l("Paste the definition of the route.")),
            Length(max=20000, message=_l("A route definition is at most 20,000 characters.")),
        ]
    )


@bp.route("/admin/routes")
@roles_required("admin")
def routes_index():
    return render_template("admin/routes.html", routes=route_overview())


@bp.route("/admin/routes/<name>", methods=["GET", "POST"])
@roles_required("admin")
def route_page(name: str):
    if name not in route_names():
        abort(404)
    shown = get_route(name, request.args.get("version", type=int))
    latest = get_route(name)
    form = RouteForm()
    error = None
    if form.validate_on_submit():
        with FormRefusals(form, fallback="definition"):
            data = parse_route_yaml(form.definition.data)
            if unchanged({**data, "name": name}):
                flash(_("Nothing changed: version %(v)s already says this.", v=latest.version), "success")
                return redirect(url_for(".route_page", name=name))
            saved = save_route_version(name, data, current_user)
            flash(
                _(
                    "Version %(v)s of route %(name)s saved; orders already submitted keep their version.",
                    v=saved.version,
                    name=name,
                ),
                "success",
            )
            return redirect(url_for(".route_page", name=name))
        error = " ".join(form.definition.errors)  # the block returns unless the definition was refused
    elif request.method == "POST":
        error = form.definition.errors[0] if form.definition.errors else _("Paste the definition of the route.")
    if not form.definition.data:
        form.definition.data = route_yaml(route_definition(latest))
    kinds = [k.name for k in KINDS.values() if k.route == name]
    return render_template(
        "admin/route.html",
        name=name,
        route=shown,
        latest=latest,
        form=form,
        error=error,
        kinds=kinds,
        roles=[r for r in ROLES if r != "admin"],
        overview=next((r for r in route_overview() if r["name"] == name), None),
    ), (400 if error else 200)


class SubstitutionForm(FlaskForm):
    principal_id = SelectField(coerce=int, validators=[Optional()], validate_choice=False)  # checked by the operation
    substitute_id = SelectField(coerce=int, validators=[InputRequired()], validate_choice=False)
    starts_on = DateField(validators=[InputRequired()])
    ends_on = DateField(validators=[InputRequired()])
    reason = StringField(validators=[Optional(), Length(max=200)])


@bp.route("/substitutes", methods=["GET", "POST"])
@roles_required(*APPROVER_ROLES, "admin")
def substitutes():
    admin = current_user.has_role("admin")
    principals = approvers() if admin else [current_user]
    candidates = substitute_candidates()
    form = SubstitutionForm()
    placeholder = [(0, _("— choose —"))]
    form.principal_id.choices = [*placeholder, *((u.id, u.full_name) for u in principals)]
    form.substitute_id.choices = [*placeholder, *((u.id, f"{u.full_name} ({u.username})") for u in candidates)]
    errors: dict[str, str] = {}
    if request.method == "POST":
        if form.validate_on_submit():
            if admin:
                principal = db.session.get(User, form.principal_id.data) if form.principal_id.data else None
            else:
                principal = current_user._get_current_object()
            with FormRefusals(form):
                substitute = db.session.get(User, form.substitute_id.data) if form.substitute_id.data else None
                row = create_substitution(
                    current_user, principal, substitute, form.starts_on.data, form.ends_on.data, form.reason.data or ""
                )
                flash(
                    _(
                        "%(sub)s acts for %(who)s from %(a)s to %(b)s.",
                        sub=row.substitute.full_name,
                        who=row.principal.full_name,
                        a=format_day(row.starts_on),
                        b=format_day(row.ends_on),
                    ),
                    "success",
                )
                return redirect(url_for(".substitutes"))
            errors = {field: " ".join(messages) for field, messages in form.errors.items()}
        else:
            for field, messages in form.errors.items():
                errors[field] = (
                    _("Give a valid value.")
                    if field in ("starts_on", "ends_on", "substitute_id", "principal_id")
                    else " ".join(messages)
                )
    elif not form.starts_on.data:
        form.starts_on.data = today()
    rows = visible_substitutions(current_user)
    return render_template(
        "admin/substitutes.html",
        form=form,
        errors=errors,
        rows=rows,
        admin=admin,
        may_cancel={r.id for r in rows if may_cancel(current_user, r)},
        today=today(),
        cancel_form=EmptyForm(),
    ), (400 if errors else 200)


@bp.route("/substitutes/<int:substitution_id>/cancel", methods=["POST"])
@roles_required(*APPROVER_ROLES, "admin")
def cancel(substitution_id: int):
    row = db.session.get(Substitution, substitution_id)
    if row is None:
        abort(404)
    if not EmptyForm().validate_on_submit():
        abort(400)
    cancel_substitution(current_user, row)
    flash(_("The substitution is cancelled."), "success")
    return redirect(url_for(".substitutes"))


@bp.app_context_processor
def inject_acting_for():
    """For the banner in base.html: whom the signed-in user acts for today, and until when."""
    if current_user.is_authenticated:
        return {"acting_for_now": acting_for_now(current_user)}
    return {"acting_for_now": []}
