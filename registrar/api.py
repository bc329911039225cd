"""The JSON API under /api/v1, with its OpenAPI document at /api/v1/openapi.json.

Every endpoint takes only a bearer token (`Authorization: Bearer <token>`, see `registrar create-token`); a
session cookie is ignored, so a browser session cannot be used to write through the API without CSRF protection.
Every error is JSON of one shape: `{"code": <http status>, "message": "...", "errors": {field or line: ...}}`.
"""

import functools

import marshmallow as ma
from flask import Flask, jsonify, request
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_smorest import Api, abort
from werkzeug.exceptions import HTTPException, MethodNotAllowed, default_exceptions

from approvals.admin_api import bp as approvals_admin_bp
from approvals.api import bp as approvals_bp
from core.extensions import csrf, login_manager
from core.models import user_for_token
from core.permissions import public
from orders.api import bp as orders_bp
from orders.api import document_kinds
from orders.api import jobs_bp as jobs_api_bp
from orders.register.api import bp as register_bp
from orders.registry import api_blueprints
from reports.api import bp as reports_bp
from students.api import bp as students_bp

PREFIX = "/api/v1"
LOCATIONS = {
    "json": "body",
    "form": "body",
    "query": "query",
    "querystring": "query",
    "view_args": "path",
    "path": "path",
    "headers": "headers",
    "cookies": "cookies",
    "files": "files",
}
MESSAGES = {  # in the language of the request's Accept-Language (core/i18n.py)
    400: _l("Bad request."),
    401: _l("Authentication required: send Authorization: Bearer <token>."),
    403: _l("You may not do this."),
    404: _l("Not found."),
    405: _l("This method is not allowed here."),
    409: _l("Conflict with the current state."),
    413: _l("The request is too large."),
    415: _l("Send the body as JSON (Content-Type: application/json)."),
    422: _l("The request is not valid; see errors."),
    500: _l("Internal error."),
}


class ApiErrorSchema(ma.Schema):
    """The body of every error response."""

    code = ma.fields.Int(metadata={"description": "The HTTP status"})
    message = ma.fields.Str(metadata={"description": "What went wrong, for a person"})
    errors = ma.fields.Dict(
        metadata={
            "description": "Details by field (`params.reason`, `iins.0`) or line (`lines.12`): a message, or for "
            "workflow refusals a list of {rule, message, data}"
        }
    )


def flatten(messages: dict) -> dict[str, str]:
    """webargs/marshmallow messages ({location: {field: [msg]}}) as {dotted.field: "msg"}."""
    out: dict[str, str] = {}

    def walk(value, name: str, whole: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                key = str(key)
                walk(inner, name if key == "_schema" else (f"{name}.{key}" if name else key), whole)
        elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            out[name or whole] = " ".join(value)
        elif isinstance(value, list | tuple):  # a validator's messages: strings and {field: messages}
            texts = [v for v in value if isinstance(v, str)]
            if texts:
                out[name or whole] = " ".join(texts)
            for inner in value:
                if not isinstance(inner, str):
                    walk(inner, name, whole)
        else:
            out[name or whole] = str(value)

    for location, value in messages.items():
        whole = LOCATIONS.get(str(location), str(location))
        walk(value, "", whole)
    return out


def error_body(error: HTTPException) -> tuple[dict, dict]:
    """The JSON body and extra headers for an HTTP error raised while serving the API."""
    data = getattr(error, "data", None) or {}
    errors = data.get("errors")
    if errors is None:
        errors = flatten(data["messages"]) if isinstance(data.get("messages"), dict) else {}
    message = data.get("message")
    if not message:
        if error.code == 400 and errors.get("body") == "Invalid JSON body.":
            message = _("The request body is not valid JSON.")
        elif error.description and error.description != type(error).description:
            message = error.description
        else:
            message = str(MESSAGES.get(error.code, error.name))
    headers = dict(data.get("headers") or {})
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    if error.code == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return {"code": error.code, "message": message, "errors": errors}, headers


def handle_api_error(error: HTTPException):
    """Every error inside the API, in the JSON error shape (the request's unit of work has rolled back)."""
    body, headers = error_body(error)
    response = jsonify(body)
    response.status_code = error.code or 500
    response.headers.update(headers)
    return response


class RegistrarApi(Api):
    ERROR_SCHEMA = ApiErrorSchema

    def handle_http_exception(self, error):
        """flask-smorest's app-wide handler: the JSON error shape under /api/, Werkzeug's page elsewhere."""
        if request.path.startswith(PREFIX + "/"):
            return handle_api_error(error)
        return error.get_response()


def authenticate() -> None:
    """Before every API request: the user is the bearer token's, never the session cookie's."""
    scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        abort(
            401,
            message=_(
                "Authentication required: send Authorization: Bearer <token> "
                "(a token comes from `registrar create-token USER`)."
            ),
            errors={"authorization": "missing bearer token"},
        )
    user = user_for_token(token)
    if user is None:
        abort(
            401,
            message=_("The bearer token is unknown, or its user is deactivated."),
            errors={"authorization": "invalid token"},
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    login_manager._update_request_context_with_user(user)  # current_user for this request, no session written
    if request.method in ("POST", "PUT", "PATCH") and not request.is_json:
        abort(415, errors={"body": "expected application/json"})


def init_api(app: Flask) -> Api:
    app.config.update(
        {
            "API_TITLE": "Registrar API",
            "API_VERSION": "v1",
            "OPENAPI_VERSION": "3.0.3",
            "OPENAPI_URL_PREFIX": PREFIX,
            "OPENAPI_JSON_PATH": "openapi.json",
            "API_SPEC_OPTIONS": {
                "info": {
                    "description": "Contingent orders of the Registrar Office: students, orders from draft to "
                    "signed, decisions and the inbox. Every endpoint needs a bearer token "
                    "(`registrar create-token USER`). Errors: {code, message, errors}."
                },
                "components": {
                    "securitySchemes": {
                        "bearerAuth": {
                            "type": "http",
                            "scheme": "bearer",
                            "description": "A token from `registrar create-token USER`",
                        }
                    }
                },
                "security": [{"bearerAuth": []}],
            },
        }
    )
    api = RegistrarApi(app)
    document_kinds(api.spec, api.ma_plugin.converter)  # before the bodies naming the kinds' schemas are documented
    # The generic endpoints, then every order kind's own (from the registry), the register and the approvals.
    for blueprint in (
        students_bp,
        orders_bp,
        *api_blueprints(),
        register_bp,
        approvals_bp,
        approvals_admin_bp,
        reports_bp,
        jobs_api_bp,
    ):
        csrf.exempt(blueprint)  # bearer tokens only: a cross-site page cannot send the Authorization header
        api.register_blueprint(blueprint)
        # Per app rather than on the (module-level) blueprint, so that every create_app() gets them once.
        # Blueprint-scoped handlers by code take precedence over the app's HTML error pages.
        app.before_request_funcs.setdefault(blueprint.name, []).append(authenticate)
        for code, exception in default_exceptions.items():
            app.error_handler_spec[blueprint.name][code][exception] = handle_api_error
    _make_openapi_public(app)
    return api


def _make_openapi_public(app: Flask) -> None:
    """The OpenAPI document needs no token; mark it so, for the check that every view names who may use it. It is
    in English, whatever the reader's language: the kinds' labels and help texts in it are lazy translations."""
    endpoint = "api-docs.openapi_json"
    view = app.view_functions[endpoint]

    @functools.wraps(view)
    def openapi_json():
        with force_locale("en"):
            return view()

    app.view_functions[endpoint] = public(openapi_json)
