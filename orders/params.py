"""A kind's parameters declared once, as a marshmallow schema: the web form is made from it, and a web form's posted
values and an API body are loaded through the same schema, so both get the same message for the same bad value.

Field metadata carries what the form needs: `title` (the label), `description` (the help text), `choices` (value and
label pairs, or a function giving them), `widget` ("textarea") and `form_default`; `scope` marks a filter of a bulk
draft, shown only on the bulk drafting page. Error messages are lazy strings (`lazy_gettext`, or `LazyString` of a
function for a message built from data), made into text in the user's language when the error is raised.
"""

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from functools import cache
from typing import Any, ClassVar

import marshmallow as ma
from flask_babel import LazyString, ngettext
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from marshmallow import fields, validate
from wtforms import Field as FormField
from wtforms import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.widgets import DateInput, NumberInput

from core.clock import today
from orders.models import OrderLine

EFFECTIVE_DATE_MESSAGE = _l("Give the effective date as YYYY-MM-DD.")
FUTURE_DOCUMENT_MESSAGE = _l("A document, certificate or application cannot be dated after today.")


def _blank(value: Any) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


class ParamsSchema(ma.Schema):
    """An order kind's parameters. Keys the schema does not name are left out (a web form posts its title, basis and
    CSRF token too); a blank value (an empty input of the form) counts as not given; text is stripped."""

    title_help: ClassVar[str] = _l("Leave empty for the standard title.")
    basis_help: ClassVar[str] = _l("Documents the order rests on, e.g. the students' applications.")

    class Meta:
        unknown = ma.EXCLUDE

    @ma.pre_load
    def _blank_is_not_given(self, data, **kwargs):
        if not isinstance(data, Mapping):
            return data
        return {
            key: value.strip() if isinstance(value, str) else value
            for key, value in self.given(data).items()
            if not _blank(value)
        }

    def given(self, data: Mapping) -> Mapping:
        """The values to load: the body's (a line schema may put the line's stored values under them)."""
        return data


class LineParamsSchema(ParamsSchema):
    """One line's own parameters, loaded for the line they change (`line`: its stored values, its student). A loaded
    `effective_date` is the line's effective date; everything else is the line's params as stored."""

    # True: what the body leaves out stays as it was (the line's stored values are loaded under the body's).
    keeps_stored: ClassVar[bool] = False

    def __init__(self, *, line: OrderLine | None = None, **kwargs):
        super().__init__(**kwargs)
        self.line = line

    def given(self, data: Mapping) -> Mapping:
        if not self.keeps_stored or self.line is None:
            return data
        return {**self.line.params, "effective_date": self.line.effective_date, **data}

    def unknown_error(self, original: Any, message: Callable[[list[str], list[str]], str]) -> None:
        """Refuse keys this schema does not name (under "line"), for kinds whose API callers patch a few details
        at a time and would otherwise never learn that a misspelt one was ignored. The web form's CSRF token and an
        effective date (a line may take it from another detail, e.g. the leave's start) are not refused. `message`
        gets the unknown keys and the known ones."""
        if not isinstance(original, Mapping):
            return
        unknown = sorted(set(original) - set(self.fields) - {"csrf_token", "effective_date"})
        if unknown:
            raise ma.ValidationError(message(unknown, list(self.fields)), "line")


# Fields ----------------------------------------------------------------------------------------------------------


class _Translated:
    """A field whose error messages may be lazy strings: made into text, in the user's language, when raised."""

    def make_error(self, key: str, **kwargs) -> ma.ValidationError:
        message = self.error_messages[key]
        if isinstance(message, LazyString):
            return ma.ValidationError(str(message))
        return super().make_error(key, **kwargs)


class Text(_Translated, fields.String):
    """Text, stripped; with `collapse`, inner runs of white space become one space; with `numbers`, a whole number
    is taken as its digits (a document number sent as 127)."""

    def __init__(self, *, collapse: bool = False, numbers: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.collapse = collapse
        self.numbers = numbers

    def _deserialize(self, value, attr, data, **kwargs):
        if self.numbers and isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        text = super()._deserialize(value, attr, data, **kwargs)
        return " ".join(text.split()) if self.collapse else text.strip()


class Date(_Translated, fields.Date):
    """A calendar date as YYYY-MM-DD (an API body, a date input of the web form) or a date object (code)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, date):
            return value
        return super()._deserialize(value, attr, data, **kwargs)


class Integer(_Translated, fields.Integer):
    pass


class OneOf(validate.OneOf):
    """`validate.OneOf` with its message as a lazy string (the choices for the OpenAPI enum stay as given)."""

    def __init__(self, choices: Iterable, message: str):
        super().__init__(choices)
        self.message = message

    def _format_error(self, value) -> str:
        return str(self.message)


class Length(validate.Length):
    """`validate.Length` with its message as a lazy string."""

    def __init__(self, message: str, longest: int):
        super().__init__(max=longest)
        self.message = message

    def _format_error(self, value, message: str) -> str:
        return str(self.message)


def lazy(message: Callable[[], str]) -> LazyString:
    """A message built from data (choices from the rules, a limit), made when shown."""
    return LazyString(message)


def choices_text(choices: Mapping[str, Any]) -> LazyString:
    """The choices of a message as the reader's words, each with the code the API takes: "own request
    (own_request), ...", made when shown so that the words are in the reader's language."""
    return lazy(lambda: ", ".join(f"{label} ({value})" for value, label in choices.items()))


def longer_than(longest: int) -> LazyString:
    """The message for text over `longest` characters, in the plural form the user's language gives the number."""
    return lazy(lambda: ngettext("Longer than %(num)s character.", "Longer than %(num)s characters.", longest))


def messages(message: str) -> dict[str, str]:
    """The same message for a value that is missing, null or of the wrong type."""
    return {"required": message, "null": message, "invalid": message}


def meta(title: str, description: str | None = None, **more) -> dict:
    return {"title": title, **({"description": description} if description is not None else {}), **more}


def text_field(
    title: str,
    *,
    missing: str | None = None,
    longest: int | None = None,
    too_long: str | None = None,
    invalid: str | None = None,
    check: Callable[[str], Any] | None = None,
    description: str | None = None,
    **kwargs,
) -> Text:
    """A text parameter: required when `missing` says what to write; at most `longest` characters (`too_long`, by
    default "Longer than N characters."); `invalid` for a value that is not text; `check` checks it further."""
    errors = {
        **(messages(missing) if missing is not None else {}),
        **({"invalid": invalid} if invalid is not None else {}),
    }
    return Text(
        required=missing is not None,
        error_messages=errors,
        validate=[
            *([Length(longer_than(longest) if too_long is None else too_long, longest)] if longest else []),
            *([check] if check else []),
        ],
        metadata=meta(title, description),
        **kwargs,
    )


def choice_field(
    title: str,
    choices: Mapping[str, Any],
    message: str,
    *,
    description: str | None = None,
    required: bool = True,
    also: Callable[[Any], Any] | None = None,
) -> Text:
    """One of `choices` ({value: label}); `message` names the choices; `also` narrows them further (e.g. by the
    rules), raising the same message."""
    return Text(
        required=required,
        validate=[OneOf(list(choices), message), *([also] if also else [])],
        error_messages=messages(message),
        metadata=meta(title, description, choices=[(value, label) for value, label in choices.items()]),
    )


def _not_after_today(value: date) -> None:
    if value > today():
        raise ma.ValidationError(str(FUTURE_DOCUMENT_MESSAGE))


def date_field(
    title: str,
    *,
    message: str,
    missing: str | None = None,
    required: bool = True,
    description=None,
    not_after_today: bool = False,
) -> Date:
    """A date parameter; `message` for a malformed one, `missing` (default: the same) for none. `not_after_today`:
    the date of a document, certificate or application, which cannot be dated in the future."""
    return Date(
        required=required,
        validate=[_not_after_today] if not_after_today else [],
        error_messages={**messages(message), "required": message if missing is None else missing},
        metadata=meta(title, description),
    )


def effective_date_field(
    description: str | None = None,
    *,
    title: str = _l("Effective date"),
    message: str = EFFECTIVE_DATE_MESSAGE,
    required: bool = True,
) -> Date:
    """The order's effective date: the parameter most kinds have."""
    return date_field(title, message=message, description=description, required=required)


# Loading ---------------------------------------------------------------------------------------------------------


def _texts(value: Any) -> list[str]:
    if isinstance(value, Mapping):
        return [text for inner in value.values() for text in _texts(inner)]
    if isinstance(value, list | tuple):
        return [text for inner in value for text in _texts(inner)]
    return [str(value)]


def load(schema: ma.Schema, raw: Mapping) -> tuple[dict, dict[str, str]]:
    """`raw` (a web form's data or an API body) through `schema`: (the parameters as stored, dates as ISO text;
    errors by field, one message each)."""
    try:
        values = schema.load(raw)
    except ma.ValidationError as error:
        problems = error.messages if isinstance(error.messages, dict) else {"params": error.messages}
        return {}, {str(key): " ".join(dict.fromkeys(_texts(value))) for key, value in problems.items()}
    return {key: value.isoformat() if isinstance(value, date) else value for key, value in values.items()}, {}


# Web forms -------------------------------------------------------------------------------------------------------


def _form_field(field: fields.Field) -> FormField:
    """The form input for a schema field. It converts and checks nothing: the schema does, as for the API."""
    info = field.metadata
    choices = info.get("choices")
    render = {}
    if field.required and choices is None:
        render["required"] = True
    for check in field.validators:
        if isinstance(check, validate.Length) and check.max:
            render["maxlength"] = check.max
        if isinstance(check, validate.Range):
            render.update({key: value for key, value in (("min", check.min), ("max", check.max)) if value is not None})
    default = info.get("form_default", None if field.load_default is ma.missing else field.load_default)
    common = {
        "label": info.get("title"),
        "description": info.get("description", ""),
        "default": default,
        "render_kw": render or None,
    }
    if isinstance(field, fields.List):
        return SelectMultipleField(choices=choices, validate_choice=False, **common)
    if choices is not None:
        return SelectField(choices=choices, validate_choice=False, **common)
    if isinstance(field, fields.Date):
        return StringField(widget=DateInput(), **common)
    if isinstance(field, fields.Integer):
        return StringField(widget=NumberInput(), **common)
    if info.get("widget") == "textarea":
        return TextAreaField(**common)
    return StringField(**common)


def _schema_fields(schema: type[ma.Schema], scope: bool) -> dict[str, FormField]:
    return {
        name: _form_field(field) for name, field in schema().fields.items() if scope or not field.metadata.get("scope")
    }


@cache
def order_form(schema: type[ParamsSchema], *, scope: bool = False) -> type[FlaskForm]:
    """The web form of a new order: its title, the schema's fields (with `scope`: also the bulk draft's filters),
    its basis. The form checks only its CSRF token; `operations.create_order` loads the rest through the schema."""
    attributes = {"title": StringField(_l("Title"), description=schema.title_help, render_kw={"maxlength": 300})}
    attributes.update(_schema_fields(schema, scope))
    attributes["basis"] = TextAreaField(
        _l("Basis"), description=schema.basis_help, render_kw={"required": True, "maxlength": 2000}
    )
    return type(f"{schema.__name__}Form", (FlaskForm,), attributes)


@cache
def line_form(schema: type[LineParamsSchema]) -> type[FlaskForm]:
    """The web form of one line's details; `operations.update_line` loads its data through the schema."""
    return type(f"{schema.__name__}Form", (FlaskForm,), _schema_fields(schema, scope=False))
