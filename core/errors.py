"""One family of refusals, and its one mapping to web and API answers.

An operation that refuses raises `Refused` (or `InvalidInput`, input to correct): each `Refusal` says which rule,
why (a message for the user), which field or line it is about, and the data it looked at; the request then changes
nothing. Views never catch a refusal to show it: `registrar.app` registers `handle_refused` once and the request's
unit of work has already rolled back. Under /api/ the answer is the JSON error `{code, message, errors}`; on a page,
the messages are flashed and the browser goes back to the page the form was on (`redirect_refusals_to`), or the error
page says why (always for a 403: who may not act gets no form to correct). A view that shows its form again wraps the
operation in `FormRefusals`, which puts each message under its field.
"""

import dataclasses
from collections.abc import Callable
from types import TracebackType

from flask import flash, g, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from wtforms import Form

from core.db import db

API_ERRORS = {403: "FORBIDDEN", 404: "NOT_FOUND", 409: "CONFLICT", 422: "UNPROCESSABLE_ENTITY"}
PARAMS = "params."  # a kind's parameter is the field `params.<name>` of an order or line
INPUT_RULE = "input.invalid"


@dataclasses.dataclass
class Refusal:
    """One rule that refused: its id (`expulsion.status`), the message for the user, the data it looked at, and the
    input it concerns: a field (`basis`), a kind's parameter (`params.reason`), a line (`lines.12`), or None.
    `absolute`: no override may pass it (a student expelled on death, a status precondition); its dict then says
    `"absolute": true`."""

    rule: str
    message: str
    data: dict = dataclasses.field(default_factory=dict)
    field: str | None = None
    absolute: bool = False

    def as_dict(self) -> dict:
        found = {"rule": self.rule, "message": self.message, "data": self.data}
        if self.absolute:
            found["absolute"] = True
        return found


def input_name(field: str) -> str:
    """A field as the operation's input (a form, a flat dict) names it: a kind's parameter without `params.`."""
    return field.removeprefix(PARAMS)


class Refused(Exception):
    """A request refused by rules; nothing it did is kept. `status` is the HTTP answer: 422 a rule failed, 403 not
    the asker's to do, 404 no such thing, 409 not in this state or changed meanwhile. The API lists each refusal as
    {rule, message, data} under the field or line it concerns (else under its rule's family: `state`, `permission`).
    """

    def __init__(self, refusals: list[Refusal], status: int = 422, message: str | None = None):
        self.refusals = refusals
        self.status = status
        self.message = message or "; ".join(refusal.message for refusal in refusals)
        super().__init__(self.message)

    def api_errors(self) -> dict:
        """The API's `errors`, keyed by field as the refusals name it (`handle_refused` names it as the body does)."""
        errors: dict[str, list[dict]] = {}
        for refusal in self.refusals:
            errors.setdefault(refusal.field or refusal.rule.split(".")[0], []).append(refusal.as_dict())
        return errors


class InvalidInput(Refused):
    """Input to correct, or a request the asker may not make: `errors` maps each field to its message. Given no
    field, `message` alone says why. The API answers {field: message}."""

    def __init__(self, errors: dict[str, str], status: int = 422, message: str | None = None):
        refusals = [Refusal(INPUT_RULE, text, field=name) for name, text in errors.items()]
        if not refusals and message:
            refusals = [Refusal(INPUT_RULE, message)]
        super().__init__(refusals, status, message or "; ".join(f"{input_name(k)}: {v}" for k, v in errors.items()))

    @property
    def errors(self) -> dict[str, str]:
        """{field: message}, each field named as the operation's input names it."""
        return {input_name(r.field): r.message for r in self.refusals if r.field}

    def api_errors(self) -> dict:
        return {refusal.field: refusal.message for refusal in self.refusals if refusal.field}


class ConcurrentChange(InvalidInput):
    """Someone changed the same rows at the same moment: a version check or a unique constraint failed on writing."""

    def __init__(self, message: str | None = None):
        super().__init__({}, 409, message or _("Someone changed this order at the same moment; try again."))


# Web pages --------------------------------------------------------------------------------------------------------


def redirect_refusals_to(url: str, code: int = 302, form: Form | None = None) -> None:
    """Where a refusal later in this request sends the browser, its messages flashed: the page the form was on. With
    `form`, a message about one of its fields is flashed after that field's label."""
    g.refusal_redirect = (url, code)
    g.refusal_form = form


def _flashed(refusal: Refusal, form: Form | None) -> str:
    name = input_name(refusal.field or "").split(".")[0]
    if form is not None and name in form:
        return f"{form[name].label.text}: {refusal.message}"
    return refusal.message


class FormRefusals:
    """For a view that shows its form again: a refusal raised inside `with` is undone (the session rolls back) and
    each message goes under its field (`params.reason` under `reason`, `transcript.3` under `transcript`), under
    `fallback` when the form has no such field, or else is flashed. `status` is then the answer's: 400 for input to
    correct, otherwise the refusal's own (403, 404, 409); None while nothing was refused."""

    def __init__(self, form: Form, fallback: str | None = None):
        self.form = form
        self.fallback = fallback
        self.status: int | None = None

    def __enter__(self) -> "FormRefusals":
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> bool:
        if not isinstance(error, Refused):
            return False
        db.session.rollback()
        for refusal in error.refusals:
            name = input_name(refusal.field or "").split(".")[0]
            name = name if name in self.form else self.fallback
            if name in self.form:
                self.form[name].errors = [*self.form[name].errors, refusal.message]
            else:
                flash(refusal.message, "error")
        self.status = 400 if error.status == 422 else error.status
        return True


# The one mapping --------------------------------------------------------------------------------------------------


def _body_name(field: str) -> str:
    """A field as the JSON body names it: a kind's parameter sits in `params` when the body has that object, and at
    the top level of a flat body (the bulk drafts of promotion and scholarships)."""
    body = request.get_json(silent=True)
    if field.startswith(PARAMS) and not (isinstance(body, dict) and isinstance(body.get("params"), dict)):
        return input_name(field)
    return field


def handle_refused(refused: Refused) -> ResponseReturnValue:
    """The answer to every refusal. The unit of work has rolled the request back already."""
    if request.path.startswith("/api/"):
        errors = {_body_name(key): value for key, value in refused.api_errors().items()}
        return jsonify({"code": refused.status, "message": refused.message, "errors": errors}), refused.status
    target = g.get("refusal_redirect")
    if target is None or refused.status == 403:
        message = " ".join(refusal.message for refusal in refused.refusals) or refused.message
        return render_template("error.html", code=refused.status, message=message), refused.status
    for refusal in refused.refusals:
        flash(_flashed(refusal, g.get("refusal_form")), "error")
    return redirect(*target)


def error_answers(bp, *statuses: int) -> Callable:
    """An API endpoint's error answers, documented on `bp` (a flask-smorest blueprint) in the order given: 403 not
    the asker's, 404 no such thing, 409 not in this state, 422 refused."""

    def document(view: Callable) -> Callable:
        for status in reversed(statuses):
            view = bp.alt_response(status, response=API_ERRORS[status])(view)
        return view

    return document
