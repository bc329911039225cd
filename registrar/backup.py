"""Backup and restore of the whole database.

PostgreSQL: `pg_dump --format=custom` (a consistent snapshot, taken while the application runs) and `pg_restore` into
an empty database; the history triggers are restored after the data, so restoring does not trip them. SQLite: the
online backup API, which copies a consistent snapshot page by page. Restoring only ever goes into an empty database,
so that a backup never mixes with live data.
"""

import os
import shutil
import sqlite3

# Runs only pg_dump and pg_restore, with an argument list and no shell (see _run).
import subprocess  # nosec B404
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import URL

from core.db import db


class BackupError(Exception):
    """A backup or restore that could not be done, said in words for the operator."""


def _pg_program(name: str) -> str:
    program = shutil.which(name)
    if program is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return program


def _pg_connection(url: URL) -> tuple[list[str], dict[str, str]]:
    """libpq options for `url`, and an environment carrying the password (never on the command line)."""
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    options = ["--dbname", url.database or ""]
    if url.host:
        options += ["--host", url.host]
    if url.port:
        options += ["--port", str(url.port)]
    if url.username:
        options += ["--username", url.username]
    return options, environment


def _run(arguments: list[str], environment: dict[str, str]) -> None:
    # pg_dump and pg_restore by their full path, with an argument list (no shell): nothing to inject into.
    result = subprocess.run(arguments, env=environment, capture_output=True, text=True)  # nosec B603
    if result.returncode != 0:
        raise BackupError(f"{Path(arguments[0]).name} failed: {result.stderr.strip()}")


def backup_database(target: Path) -> None:
    """Write a consistent copy of the application's database to `target`."""
    if db.engine.dialect.name == "postgresql":
        options, environment = _pg_connection(db.engine.url)
        _run([_pg_program("pg_dump"), "--format=custom", "--file", str(target), *options], environment)
        return
    connection, copy = db.engine.raw_connection(), sqlite3.connect(target)
    try:
        connection.driver_connection.backup(copy)
    finally:
        copy.close()
        connection.close()


def restore_database(source: Path) -> None:
    """Restore the backup `source` into the application's database, which must have no tables."""
    tables = inspect(db.engine).get_table_names()
    if tables:
        raise BackupError(
            f"the database is not empty ({len(tables)} tables); restore into a new, empty database and point "
            f"DATABASE_URL at it"
        )
    if db.engine.dialect.name == "postgresql":
        options, environment = _pg_connection(db.engine.url)
        arguments = [_pg_program("pg_restore"), "--exit-on-error", "--single-transaction", "--no-owner", *options]
        _run([*arguments, str(source)], environment)
    else:
        backup, connection = sqlite3.connect(source), db.engine.raw_connection()
        try:
            backup.backup(connection.driver_connection)
        finally:
            backup.close()
            connection.close()
    db.engine.dispose()
