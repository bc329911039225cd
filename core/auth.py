"""Sign in, sign out, language switch, and how a request finds its user (session or bearer token)."""

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from core.db import db
from core.errors import FormRefusals
from core.extensions import limiter, login_manager
from core.models import LANGUAGES, User, end_sessions, start_session, user_for_session, user_for_token
from core.permissions import any_user, public
from core.users import change_own_password

bp = Blueprint("auth", __name__)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class EmptyForm(FlaskForm):
    """A form with only the CSRF token, for POST buttons."""


class ChangePasswordForm(FlaskForm):
    current = PasswordField(
        _l("Current password"),
        validators=[DataRequired(), Length(max=200)],
        description=_l("The password you signed in with."),
    )
    new = PasswordField(
        _l("New password"),
        validators=[DataRequired(), Length(max=200)],
        description=_l(
            "At least 10 characters, not only digits, not containing your username, not a common password. A short "
            "sentence is easy to remember and hard to guess."
        ),
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("new", message=_l("The two new passwords differ."))],
    )


SESSION_KEY = "session_key"


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The user of this browser session while it is open (see `UserSession`) and the user is active."""
    return user_for_session(int(user_id), session.get(SESSION_KEY)) if user_id.isdigit() else None


@login_manager.request_loader
def load_user_from_token(req) -> User | None:
    header = req.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return user_for_token(header.removeprefix("Bearer ").strip())
    return None


def _safe_next(target: str | None) -> str:
    if target and not urlsplit(target).netloc and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("home")


def _account() -> str:
    return "login:" + request.form.get("username", "").strip().lower()[:64]


def _failed(response) -> bool:
    """Only a refused sign-in counts against the limits: a successful one redirects."""
    return response.status_code != 302


def _password_matches(user: User | None, password: str) -> bool:
    """Whether `password` is `user`'s. An unknown user costs the same hashing as a known one, so the time of the
    answer does not tell which usernames exist."""
    if user is None:
        check_password_hash(current_app.extensions["dummy_password_hash"], password)
        return False
    return user.check_password(password)


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_ACCOUNT"],
    key_func=_account,
    methods=["POST"],
    deduct_when=_failed,
    scope="login-account",
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_ADDRESS"], methods=["POST"], deduct_when=_failed, scope="login-address"
)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.username == form.username.data.strip()))
        if _password_matches(user, form.password.data) and user.is_active:
            session[SESSION_KEY] = start_session(user)
            login_user(user)
            if session.get("language") in LANGUAGES and session["language"] != user.language:
                user.language = session["language"]  # the choice made on the login page wins
            if user.must_change_password:
                return redirect(url_for("auth.change_password"))
            return redirect(_safe_next(request.args.get("next")))
        flash(_l("Wrong username or password."), "error")
    return render_template("auth/login.html", form=form), (200 if request.method == "GET" else 400)


@bp.route("/logout", methods=["POST"])
@any_user
def logout():
    if EmptyForm().validate_on_submit():
        end_sessions(current_user, session.pop(SESSION_KEY, None) or "")
        logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@any_user
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        with FormRefusals(form) as refused:
            change_own_password(current_user, form.current.data, form.new.data)
            flash(_l("Your password is changed."), "success")
            return redirect(url_for("home"))
        return render_template("auth/change_password.html", form=form), refused.status
    return render_template("auth/change_password.html", form=form), (200 if not form.errors else 400)


# Pages a user who must change their password may still open; the API (tokens of programs) is not concerned.
OPEN_BEFORE_PASSWORD_CHANGE = {"auth.change_password", "auth.logout", "auth.set_language", "static"}


@bp.before_app_request
def password_change_first():
    """A user whose password an admin set sees only the change-password page until they choose their own."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or getattr(view, "is_public", False) or request.endpoint in OPEN_BEFORE_PASSWORD_CHANGE:
        return None
    if request.path.startswith("/api/"):
        return None
    if current_user.is_authenticated and current_user.must_change_password:
        return redirect(url_for("auth.change_password"))
    return None


@bp.route("/language/<code>", methods=["POST"])
@public
def set_language(code: str):
    if code not in LANGUAGES or not EmptyForm().validate_on_submit():
        flash(_l("Unknown language."), "error")
        return redirect(url_for("home"))
    session["language"] = code
    if current_user.is_authenticated:
        current_user.language = code
    return redirect(_safe_next(request.referrer and urlsplit(request.referrer).path))


def init_app(app) -> None:
    login_manager.init_app(app)
    limiter.init_app(app)
    method = app.config.get("PASSWORD_HASH_METHOD", "scrypt")
    app.extensions["dummy_password_hash"] = generate_password_hash("not a password", method=method)
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to open this page.")
    app.config.setdefault("LANGUAGES", list(LANGUAGES))
