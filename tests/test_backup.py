"""`registrar backup` and `registrar restore`: a backup restored into a fresh database holds the same history, the
audit chain verifies, the signed documents match their hashes, and the history stays append-only there."""

from sqlalchemy import exc, func, select, text
from sqlalchemy.engine import make_url

from core.db import db
from registrar.app import create_app
from registrar.cli import main
from tests.conftest import Factory, sign
from workflow.audit import seal, verify_chain
from workflow.models import AuditEvent


def _fresh_database(tmp_path) -> str:
    """The URL of a new, empty database of the same kind as the test database."""
    if db.engine.dialect.name != "postgresql":
        return f"sqlite:///{tmp_path / 'restored.sqlite3'}"
    url = db.engine.url.set(database=f"{db.engine.url.database}_restore")
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}"')
        connection.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
    return url.render_as_string(hide_password=False)


def _drop_database(url: str) -> None:
    if make_url(url).get_backend_name() == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{make_url(url).database}"')


def test_a_backup_restores_into_a_fresh_database_that_verifies(app, committed, tmp_path):
    make = Factory()
    faculty = make.faculty()
    people = [make.user("clerk"), make.user("dean", faculty), make.user("registrar"), make.user("lawyer")]
    people.append(make.user("rector"))
    order = make.order(people[0], [make.student(make.group(faculty))])
    db.session.commit()
    sign(order, people)
    db.session.commit()
    seal()
    db.session.commit()
    original = verify_chain()
    assert original.broken is None and original.sealed > 0

    backup = tmp_path / "registrar.backup"
    result = app.test_cli_runner().invoke(main, ["backup", str(backup)])
    assert result.exit_code == 0, result.output
    assert backup.stat().st_size > 0

    url = _fresh_database(tmp_path)
    restored = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test", "MAILBOX_DIR": str(tmp_path / "m")}
    )
    runner = restored.test_cli_runner()
    try:
        with restored.app_context():
            result = runner.invoke(main, ["restore", str(backup)])
            assert result.exit_code == 0, result.output
            result = runner.invoke(main, ["audit", "verify"])
            assert result.exit_code == 0, result.output
            assert f"audit chain: {original.sealed} event(s) checked, 0 not sealed yet; head {original.head}" in (
                result.output
            )
            assert "signed documents: 1 checked, 0 altered" in result.output
            assert db.session.scalar(select(func.count(AuditEvent.id))) == original.sealed
            try:
                with db.session.begin_nested():
                    db.session.execute(text("DELETE FROM audit_events"))
                refused = False
            except exc.DBAPIError as error:
                refused = "append-only" in str(error)
            assert refused, "the restored database keeps the history append-only"
            db.session.rollback()

            again = runner.invoke(main, ["restore", str(backup)])
            assert again.exit_code != 0 and "not empty" in again.output
            db.session.remove()
            db.engine.dispose()
    finally:
        _drop_database(url)
