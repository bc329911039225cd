"""Logs a machine can read: one JSON object a line, each carrying the id of the request (or the job, or the e-mail's
request) it belongs to, so one search follows a click from the web process through the broker to the worker.

The id comes from the proxy's `X-Request-ID` (nginx sets it) or is made here, is echoed in the response header, and
is stored with each outbox row so that the worker delivering the e-mail logs under the same id.
"""

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime

from flask import Flask, request

REQUEST_ID = ContextVar("request_id", default=None)
_VALID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def current_request_id() -> str | None:
    return REQUEST_ID.get()


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or REQUEST_ID.get() or "-",
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(app: Flask) -> None:
    """`LOG_FORMAT=json`: every log line of this process (the app's, SQLAlchemy's, dramatiq's) as JSON on stderr."""
    if app.config.get("LOG_FORMAT") != "json":
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))


def init_request_ids(app: Flask) -> None:
    @app.before_request
    def take_request_id() -> None:
        given = request.headers.get("X-Request-ID", "")
        REQUEST_ID.set(given if _VALID.match(given) else uuid.uuid4().hex)

    @app.after_request
    def echo_request_id(response):
        response.headers["X-Request-ID"] = REQUEST_ID.get() or ""
        return response
