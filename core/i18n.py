"""Language selection.

Pages: the signed-in user's choice, then the session, then the browser. The JSON API (paths under /api/): the
request's `Accept-Language` first (a client program says which language its person reads), then the token user's
choice, then the default.
"""

from flask import current_app, has_request_context, request, session
from flask_login import current_user

API_PATHS = "/api/"


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    default = current_app.config["BABEL_DEFAULT_LOCALE"]
    if not has_request_context():  # CLI, workers, tests: messages in the default language
        return default
    asked = request.accept_languages.best_match(languages)
    if request.path.startswith(API_PATHS) and asked:
        return asked
    if current_user and current_user.is_authenticated and current_user.language in languages:
        return current_user.language
    if session.get("language") in languages:
        return session["language"]
    return asked or default
