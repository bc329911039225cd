"""The SQLAlchemy handle and model base shared by every package."""

import random
import time
from datetime import UTC, datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Engine, MetaData, event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION), type_annotation_map={datetime: DateTime(timezone=True)}
    )


db = SQLAlchemy(model_class=Base)


def utcnow() -> datetime:
    """A timezone-aware UTC timestamp: every stored moment is UTC."""
    return datetime.now(UTC)


def is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"


def _lower(value: str | None) -> str | None:
    return value.lower() if isinstance(value, str) else value


def configure_sqlite(engine: Engine) -> None:
    """SQLite as a real database: foreign keys enforced, WAL for the worker thread, and transactions that
    SQLAlchemy controls (so SAVEPOINTs work) instead of the driver's implicit ones."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA busy_timeout = 10000")
        cursor.close()
        # SQLite's own lower() folds ASCII only; names here are Cyrillic (Kazakh and Russian).
        dbapi_connection.create_function("lower", 1, _lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN")


SQLITE_WRITE_ATTEMPTS = 20


def write_after_reads(statement) -> int:
    """Execute a write that follows only reads in this session (a worker freezing what it rendered) and return its
    row count. On PostgreSQL simply that. On SQLite (the embedded mode, whose worker threads share one file) a
    transaction that has read cannot write once another connection wrote since, and fails at once with "database is
    locked": so the reads are ended first (committed: they wrote nothing), and the write is tried again, a little
    later, when another thread still got in between."""
    if is_postgres():
        return db.session.execute(statement).rowcount
    for attempt in range(SQLITE_WRITE_ATTEMPTS):
        db.session.commit()
        try:
            return db.session.execute(statement).rowcount
        except OperationalError:
            db.session.rollback()
            if attempt == SQLITE_WRITE_ATTEMPTS - 1:
                raise
            # The jitter only spreads the retries; nothing secret depends on it.
            time.sleep(0.05 * (attempt + 1) + random.random() * 0.05)  # nosec B311
    return 0
