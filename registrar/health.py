"""Liveness and readiness for load balancers and process managers.

`/health` says the process answers (it touches nothing else). `/ready` says this process can serve now: the
database answers, the broker answers, and the schema is at the newest migration; otherwise 503 with what is missing.
"""

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Blueprint, current_app
from sqlalchemy import text

from core.db import db
from core.permissions import public
from notifications.relay import broker_problem, delivery

bp = Blueprint("health", __name__)


@bp.route("/ready")
@public
def ready():
    problems = {}
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(connection).get_current_heads())
        newest = set(ScriptDirectory(current_app.extensions["migrate"].directory).get_heads())
        if current != newest:
            problems["migrations"] = (
                f"the database is at {', '.join(sorted(current)) or 'no revision'}, the code needs "
                f"{', '.join(sorted(newest))}: run `registrar db upgrade`"
            )
    except Exception as error:  # any driver error means the database cannot serve now
        problems["database"] = f"{type(error).__name__}: {error}"
    problem = broker_problem(delivery().broker)
    if problem:
        problems["broker"] = problem
    if problems:
        return {"status": "not ready", "problems": problems}, 503
    return {"status": "ready"}
