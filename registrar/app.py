"""`create_app()`: configuration, extensions, blueprints, the API, error pages."""

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask, jsonify, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_talisman import Talisman
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

from core import auth
from core.config import load_config
from core.db import configure_sqlite, db
from core.extensions import babel, csrf, migrate
from core.i18n import select_locale
from core.permissions import public
from workflow import audit

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
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

    _import_models()
    from notifications import relay

    relay.init_app(app)
    _register_attachment_renderers()
    _register_blueprints(app)
    _register_error_pages(app)
    _register_template_helpers(app)

    @app.route("/")
    @public
    def home():
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login"))
        if current_user.has_role("admin") and not current_user.has_role("clerk", "dean", "rector"):
            return redirect(url_for("mailbox.index"))
        if current_user.has_role("clerk"):
            return redirect(url_for("orders.index"))
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
    # One Talisman per app: it keeps its settings on itself, so a shared one would carry one app's HTTPS to another.
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


def _register_attachment_renderers() -> None:
    """Teach the delivery service (which knows nothing about orders) how to render the files e-mails attach."""
    from notifications.attachments import register_renderer
    from orders.documents import EXTRACT_RENDERER, render_extract_context

    register_renderer(EXTRACT_RENDERER, render_extract_context)


def _import_models() -> None:
    """Import every model module so that the metadata (and Alembic) sees every table."""
    import core.models  # noqa: F401
    import notifications.models  # noqa: F401
    import orders.models  # noqa: F401
    import students.academic  # noqa: F401
    import students.categories  # noqa: F401
    import students.models  # noqa: F401
    import workflow.models  # noqa: F401


def _register_blueprints(app: Flask) -> None:
    from approvals.admin import bp as approvals_admin_bp
    from approvals.views import bp as approvals_bp
    from core.account_views import bp as accounts_bp
    from core.user_views import bp as users_bp
    from notifications.views import bp as mailbox_bp
    from orders.promotion_views import bp as promotion_bp
    from orders.ranking_views import bp as ranking_bp
    from orders.register_views import bp as register_bp
    from orders.scholarship_views import bp as scholarship_bp
    from orders.transfer_in_views import bp as transfer_in_bp
    from orders.views import bp as orders_bp
    from registrar.api import init_api
    from registrar.health import bp as health_bp
    from students.calendar_views import bp as calendar_bp
    from students.categories import bp as categories_bp
    from students.import_views import bp as imports_bp
    from students.views import bp as students_bp

    app.register_blueprint(auth.bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(users_bp)
    app.register_blueprint(students_bp)
    app.register_blueprint(imports_bp)
    app.register_blueprint(calendar_bp)
    app.register_blueprint(categories_bp)
    app.register_blueprint(orders_bp)
    app.register_blueprint(promotion_bp)
    app.register_blueprint(scholarship_bp)
    app.register_blueprint(register_bp)
    app.register_blueprint(ranking_bp)
    app.register_blueprint(transfer_in_bp)
    app.register_blueprint(approvals_bp)
    app.register_blueprint(approvals_admin_bp)
    app.register_blueprint(mailbox_bp)
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

    @app.errorhandler(429)
    def too_many(error):  # the limiter describes the limit ("10 per 15 minute"); the user is told what to do
        return render_error(429)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(
            400, _l("The form has expired or was not sent from this site; reload the page and try again.")
        )


def _register_template_helpers(app: Flask) -> None:
    from approvals.inbox import inbox_count
    from core.labels import label

    app.jinja_env.globals["get_locale"] = get_locale
    zone = ZoneInfo(app.config["TIMEZONE"])

    @app.template_filter("local")
    def local_time(moment: datetime | None) -> str:
        """A stored UTC moment as local wall-clock time (Asia/Almaty by default)."""
        if moment is None:
            return ""
        if moment.tzinfo is None:  # SQLite hands back naive UTC
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(zone).strftime("%d.%m.%Y %H:%M")

    app.jinja_env.globals["label"] = label
    app.jinja_env.filters["label"] = label

    @app.context_processor
    def inject_inbox_count():
        if current_user.is_authenticated:
            return {"inbox_count": inbox_count(current_user)}
        return {"inbox_count": 0}
