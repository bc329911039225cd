"""Attachments named as data in an outbox row and rendered by the worker at send time.

A caller that wants a file attached puts a list under the context key `attachments`, each entry
`{"renderer": name, "filename": "...", "context": {...}}` (optionally `"mimetype"`). The worker calls the renderer
registered under that name with the message's context overlaid by the entry's own `context` (plain JSON, frozen when
the row was written, so values the e-mail already carries are not stored twice) and attaches the bytes it returns.
Upper layers register their renderers at app start; this package knows none of them. An unknown renderer or one
that raises fails the delivery like an unreachable SMTP server would: the row stays in the outbox, the error is
recorded, and the attempt is retried on the outbox's schedule.
"""

import mimetypes
from collections.abc import Callable
from dataclasses import dataclass

KEY = "attachments"
Renderer = Callable[[dict], bytes]

_RENDERERS: dict[str, Renderer] = {}


class UnknownRenderer(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content: bytes
    maintype: str
    subtype: str


def register_renderer(name: str, renderer: Renderer) -> None:
    """Make `renderer(context) -> bytes` available to outbox rows as `name`; registering again replaces it."""
    _RENDERERS[name] = renderer


def specs(context: dict) -> list[dict]:
    """The attachment entries a row's context names (none for most rows)."""
    return list(context.get(KEY) or [])


def filenames(context: dict) -> list[str]:
    return [str(spec.get("filename") or "") for spec in specs(context)]


def render(spec: dict, message_context: dict | None = None) -> Attachment:
    name = spec.get("renderer")
    renderer = _RENDERERS.get(name)
    if renderer is None:
        raise UnknownRenderer(f"no attachment renderer registered as {name!r}")
    filename = spec.get("filename") or f"{name}.bin"
    context = {key: value for key, value in (message_context or {}).items() if key != KEY}
    content = renderer({**context, **(spec.get("context") or {})})
    mimetype = spec.get("mimetype") or mimetypes.guess_type(filename)[0] or "application/octet-stream"
    maintype, _, subtype = mimetype.partition("/")
    return Attachment(filename, content, maintype, subtype)
