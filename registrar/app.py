"""`create_app()`: configuration, extensions, blueprints, the API, error pages, and the request's unit of work.

Importing this module imports every model module (so that the metadata, and Alembic, sees every table) and
`orders.kinds`, which registers every order kind: the registry is full before any app is created.
"""

from pathlib import Path

from flask import Flask, Response, jsonify, redirect, render_template, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.middleware.proxy_fix import ProxyFix

import core.models  # noqa: F401 (models)
import notifications.models  # noqa: F401 (models)
import orders.kinds  # noqa: F401 (registers the kinds)
import orders.models  # noqa: F401 (models)
import students.academic  # noqa: F401 (models)
import students.categories  # noqa: F401 (models)
import students.models  # noqa: F401 (models)
import workflow.models  # noqa: F401 (models)
from approvals.admin import bp as approvals_admin_bp
from approvals.inbox import inbox_count
from approvals.views import bp as approvals_bp
from core import auth, flashes
from core.account_views import bp as accounts_bp
from core.config import load_config
from core.db import configure_sqlite, db
from core.errors import ConcurrentChange, Refused, handle_refused
from core.extensions import babel, csrf, migrate
from core.formatting import format_day, format_moment, format_money
from core.i18n import select_locale
from core.inputs import fields_with_control_characters
from core.labels import label
from core.logs import configure_logging, init_request_ids
from core.permissions import public
from core.user_views import bp as users_bp
from notifications import relay
from notifications.attachments import register_renderer
from notifications.references import register_expander
from notifications.views import bp as mailbox_bp
from orders import jobs, pdf, registry
from orders.document_views import bp as signed_documents_bp
from orders.documents import EXTRACT_RENDERER, ORDER_RENDERER, render_extract_context, signed_order_content
from orders.file_views import files_bp, templates_bp
from orders.register.views import bp as register_bp
from orders.verification import (
    LINE_EMAIL,
    ORDER_EMAIL,
    STORED_EXTRACT_RENDERER,
    line_email_context,
    order_email_context,
    stored_extract_content,
)
from orders.verify_views import bp as verify_bp
from orders.views import bp as orders_bp
from orders.views import jobs_bp
from registrar import metrics
from registrar.api import init_api
from registrar.health import bp as health_bp
from reports.audit_log import bp as audit_log_bp
from reports.dashboard import READERS as DASHBOARD_READERS
from reports.dashboard import bp as dashboard_bp
from reports.journal import bp as journal_bp
from reports.views import bp as reports_bp
from students.calendar_views import bp as calendar_bp
from students.categories import bp as categories_bp
from students.import_views import bp as imports_bp
from students.imports import email_changed
from students.views import bp as students_bp
from workflow import audit

ROOT = Path(__file__).resolve().parent.parent


class Registrar(Flask):
    """Flask with the request's unit of work: views and API handlers never commit or roll back."""

    def dispatch_request(self) -> Response:
        """Run the view, then commit once. Any exception (a refusal or not) rolls back before the error handlers
        answer, and so does an answer with an error status (a form shown again with its errors): nothing is kept.
        A write that collides with a concurrent one (a version check or a unique constraint, on a flush in the view
        or at the commit) is the 409 refusal `ConcurrentChange`, not a 500.

        The commit is here, between the view and the finishing of its response, because the response is not sent
        yet: a failed commit still becomes the error answer, and the success message the view flashed is dropped
        with it. `after_request` would also run for error answers, and `teardown_request` after the response has
        left. A streamed body would run after the commit, so it may only read; the views here return whole bodies.
        """
        try:
            response = self.make_response(super().dispatch_request())
            if response.status_code < 400:
                _commit()
                return response
        except (StaleDataError, IntegrityError) as error:
            db.session.rollback()
            self.logger.warning("a write collided with a concurrent one, answered 409: %s", error)
            raise ConcurrentChange() from error
        except BaseException:
            db.session.rollback()
            raise
        db.session.rollback()
        return response


def _commit() -> None:
    """Commit the request; when that fails, the success message the view flashed is not true: drop it."""
    try:
        db.session.commit()
    except BaseException:
        session.pop("_flashes", None)
        raise


def create_app(test_config: dict | None = None) -> Flask:
    app = Registrar(
        "registrar",
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
        instance_relative_config=True,
    )
    app.config.update(load_config(app.instance_path))
    if test_config:
        app.config.update(test_config)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(ROOT / "translations")

    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    _protect_responses(app)
    babel.init_app(app, locale_selector=select_locale)
    auth.init_app(app)
    audit.init_app(app)
    email_changed.connect(_audit_email_change, weak=False)

    relay.init_app(app)
    jobs.init_app(app)
    pdf.init_app(app)
    _register_attachment_renderers()
    _register_blueprints(app)
    _register_error_pages(app)
    configure_logging(app)
    init_request_ids(app)
    flashes.init_app(app)
    metrics.init_app(app)
    _refuse_control_characters(app)
    _register_template_helpers(app)

    @app.route("/")
    @public
    def home():
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        if current_user.has_role("admin") and not current_user.has_role("clerk", "dean", "rector"):
            return redirect(url_for("mailbox.index"))
        if current_user.has_role("clerk"):
            return redirect(url_for("journal.index"))
        if current_user.has_role(*DASHBOARD_READERS):
            return redirect(url_for("dashboard.index"))
        return redirect(url_for("approvals.inbox_page"))

    @app.route("/health")
    @public
    def health():
        return {"status": "ok"}

    return app


# Everything the pages load comes from this site: no inline script or style, no frames, no plugins.
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def _protect_responses(app: Flask) -> None:
    """Security headers on every response (CSP, no framing, nosniff, referrer policy; HSTS and Secure cookies behind
    TLS) and, behind a reverse proxy, the client's address and scheme from its X-Forwarded-* headers."""
    https = app.config["HTTPS"]
    # One Talisman per app: it keeps its options on itself, so a shared instance would carry one app's to another.
    Talisman(
        app,
        force_https=https,
        strict_transport_security=https,
        session_cookie_secure=https,
        content_security_policy=CONTENT_SECURITY_POLICY,
        frame_options="DENY",
        referrer_policy="same-origin",
    )
    proxies = app.config["PROXIES"]
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies)


def _audit_email_change(student, *, old: str | None, new: str | None) -> None:
    """An import changed a student's e-mail: the audit log keeps who did it (None: the command line), old and new."""
    actor = current_user if current_user and current_user.is_authenticated else None
    audit.record_event(actor, "student.email_changed", f"student:{student.id}", {"old": old, "new": new})


def _register_attachment_renderers() -> None:
    """Teach the delivery service (which knows nothing about orders) how to render the files e-mails attach."""
    register_renderer(EXTRACT_RENDERER, render_extract_context)  # e-mails queued before extracts were stored
    register_renderer(ORDER_RENDERER, signed_order_content)
    register_renderer(STORED_EXTRACT_RENDERER, stored_extract_content)
    register_expander(LINE_EMAIL, line_email_context)  # e-mails about a signed order name it, not copy it
    register_expander(ORDER_EMAIL, order_email_context)


def _register_blueprints(app: Flask) -> None:
    """The generic pages, then every order kind's own pages (from the registry), then the API."""
    app.register_blueprint(auth.bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(users_bp)
    app.register_blueprint(students_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(categories_bp)
    app.register_blueprint(orders_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(signed_documents_bp)
    app.register_blueprint(verify_bp)
    app.register_blueprint(files_bp)
    app.register_blueprint(templates_bp)
    for blueprint in registry.blueprints():
        app.register_blueprint(blueprint)
    app.register_blueprint(register_bp)
    app.register_blueprint(approvals_bp)
    app.register_blueprint(approvals_admin_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(mailbox_bp)
    app.register_blueprint(journal_bp)
    app.register_blueprint(audit_log_bp)
    app.register_blueprint(reports_bp)
    init_api(app)


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _own_description(error: Exception) -> str | None:
    """The message a view gave to abort(), or None for Werkzeug's generic English text (we show our own)."""
    described = getattr(error, "description", None)
    return described if described and described != getattr(type(error), "description", None) else None


def _register_error_pages(app: Flask) -> None:
    messages = {
        400: _l("Bad request"),
        403: _l("You may not open this page."),
        404: _l("Not found"),
        405: _l("Method not allowed"),
        409: _l("Conflict"),
        413: _l("The request is too large."),
        429: _l("Too many attempts; wait a few minutes and try again."),
        422: _l("Unprocessable request"),
        500: _l("Something went wrong on our side; nothing was changed."),
    }

    def render_error(code: int, message: str | None = None):
        text = str(message or messages.get(code, _l("Error")))
        if _wants_json():
            return jsonify({"code": code, "message": text, "errors": {}}), code
        return render_template("error.html", code=code, message=text), code

    for code in messages:
        app.register_error_handler(code, lambda error, code=code: render_error(code, _own_description(error)))

    app.register_error_handler(Refused, handle_refused)

    @app.errorhandler(429)
    def too_many(error):  # the limiter describes the limit ("10 per 15 minute"); the user is told what to do
        return render_error(429)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(
            400, _l("The form has expired or was not sent from this site; reload the page and try again.")
        )


def _refuse_control_characters(app: Flask) -> None:
    """Before any view: text with a control character (a NUL byte, an escape...) in a query string, form or JSON body
    is refused whole, naming the fields, and nothing runs (core/inputs.py)."""

    @app.before_request
    def refuse():
        fields = fields_with_control_characters(request.args, request.form, json=request.get_json(silent=True))
        if not fields:
            return None
        message = _("Remove the control characters (such as a NUL byte) from: %(fields)s.", fields=", ".join(fields))
        if _wants_json():
            return jsonify({"code": 422, "message": message, "errors": dict.fromkeys(fields, message)}), 422
        return render_template("error.html", code=400, message=message), 400


def _register_template_helpers(app: Flask) -> None:
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.filters["local"] = format_moment  # a stored UTC moment as local dd.MM.yyyy HH:mm
    app.jinja_env.filters["day"] = format_day
    app.jinja_env.filters["money"] = format_money

    app.jinja_env.globals["label"] = label
    # The import page's one click on the names it did not import: the kind declaring it (students/ cannot ask the
    # order kinds' registry itself).
    app.jinja_env.globals["import_conflicts_endpoint"] = registry.import_conflicts_endpoint
    app.jinja_env.filters["label"] = label

    @app.context_processor
    def inject_inbox_count():
        if current_user.is_authenticated:
            return {"inbox_count": inbox_count(current_user)}
        return {"inbox_count": 0}
