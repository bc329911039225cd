"""One rule for all text the system accepts, from forms, query strings and API bodies alike: no control characters.

A NUL byte cannot be stored in PostgreSQL text at all, and the other control characters (all but tab, line feed and
carriage return) have no place in names, titles, comments or searches. Refusing them once, before any view runs,
means no view can forget to, and nothing reaches the database half-checked.
"""

import re
from collections.abc import Iterator
from typing import Any

from werkzeug.datastructures import MultiDict

CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _texts(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """(field path, text) for every string in a JSON value, keys included."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            yield name, str(key)
            yield from _texts(item, name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _texts(item, f"{path}[{index}]")


def fields_with_control_characters(*sources: MultiDict, json: Any = None) -> list[str]:
    """The names of the fields whose text holds a control character, in the order met, each once."""
    found: dict[str, None] = {}
    for source in sources:
        for name, value in source.items(multi=True):
            if CONTROL.search(name) or (isinstance(value, str) and CONTROL.search(value)):
                found[CONTROL.sub("?", name)] = None
    for name, text in _texts(json, ""):
        if CONTROL.search(text):
            found[CONTROL.sub("?", name) or "body"] = None
    return list(found)
