"""The `registrar` command: Flask's CLI group with the project's commands added."""

import signal
import sys
import threading
import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from flask_babel import force_locale
from sqlalchemy import func, select
from werkzeug.serving import run_simple

from approvals.admin import parse_routes_file, route_definition, route_yaml, save_route_version, unchanged
from approvals.deadlines import run_deadlines
from core.db import db
from core.models import ROLES, TOKEN_DAYS, ApiToken, User, issue_token, revoke_token
from core.users import PolicyError, add_user, deactivate_user
from notifications.relay import start_embedded_worker
from orders.documents import altered_documents
from orders.jobs import sweep_jobs
from orders.operations import apply_due_effects
from registrar.app import create_app
from registrar.backup import BackupError, backup_database, restore_database
from registrar.demo import seed_demo
from students.imports import run_import
from workflow.audit import seal, verify_chain
from workflow.routes import RouteError, get_route, route_from_dict, route_names


@click.group(cls=FlaskGroup, create_app=create_app, add_version_option=False)
def main() -> None:
    """Registrar: contingent orders of the Registrar Office."""


@main.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@with_appcontext
def run_command(host: str, port: int) -> None:
    """Serve the web UI and API; in embedded mode (stub broker) the e-mail worker runs in this process."""
    app = current_app._get_current_object()
    if app.config["BROKER_URL"] == "stub":
        start_embedded_worker(app)
        click.echo("E-mail worker: in-process (embedded mode).")
        interval = float(app.config.get("SCHEDULER_INTERVAL", 300))
        if interval > 0:
            start_scheduler_thread(app, interval)
            click.echo(f"Scheduler (effects due, deadlines): in-process, every {interval:g} s.")
    click.echo(f"Registrar on http://{host}:{port}/")
    run_simple(host, port, app, threaded=True)


@main.command("worker")
@with_appcontext
def worker_command() -> None:
    """Run dramatiq worker threads and the outbox sweep until SIGINT or SIGTERM."""
    app = current_app._get_current_object()
    sweep_jobs()  # jobs a worker killed earlier left running past their lease go back to the queue
    worker = start_embedded_worker(app)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    click.echo(f"Worker consuming from {app.config['BROKER_URL'].split('@')[-1]}; Ctrl+C to stop.")
    stop.wait()
    worker.stop()


@main.command("create-user")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--full-name", required=True)
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(ROLES))
@click.option("--faculty-id", type=int, default=None, help="Faculty scope (required for a dean).")
@click.option("--email", default=None)
@with_appcontext
def create_user_command(username, password, full_name, roles, faculty_id, email) -> None:
    """Create a user with the given roles; the password follows the policy of the admin's user pages."""
    if db.session.scalar(select(User).where(User.username == username)):
        raise click.ClickException(f"user {username!r} exists already")
    try:
        with force_locale("en"):
            add_user(
                None,
                username,
                password,
                full_name,
                list(roles),
                faculty_id=faculty_id,
                email=email,
                must_change_password=False,
            )
    except PolicyError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"created {username} ({', '.join(roles)})")


def _user(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    return user


@main.command("create-token")
@click.argument("username")
@click.option("--name", default="", help="What the token is for, e.g. the integration using it.")
@click.option("--days", default=TOKEN_DAYS, show_default=True, type=click.IntRange(1, 3650), help="Days it works.")
@with_appcontext
def create_token_command(username: str, name: str, days: int) -> None:
    """Print a new API bearer token for USERNAME (only its hash is stored)."""
    token = issue_token(_user(username), name=name, days=days)
    db.session.commit()
    click.echo(token)


@main.command("tokens")
@click.argument("username", required=False)
@with_appcontext
def tokens_command(username: str | None) -> None:
    """List API tokens (of USERNAME, or everyone's): id, user, name, created, expires, last used, state."""
    query = select(ApiToken).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id)
    if username:
        query = query.where(User.id == _user(username).id)
    for token in db.session.scalars(query):
        moments = [token.created_at, token.expires_at, token.last_used_at]
        shown = [f"{moment:%Y-%m-%d %H:%M}" if moment else "-" for moment in moments]
        click.echo("\t".join([str(token.id), token.user.username, token.name or "-", *shown, token.state]))


@main.command("revoke-token")
@click.argument("token_id", type=int)
@with_appcontext
def revoke_token_command(token_id: int) -> None:
    """Revoke the API token with id TOKEN_ID (see `registrar tokens`); it stops working at once."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise click.ClickException(f"no token {token_id}")
    revoke_token(token)
    db.session.commit()
    click.echo(f"token {token_id} of {token.user.username} revoked")


@main.command("deactivate-user")
@click.argument("username")
@with_appcontext
def deactivate_user_command(username: str) -> None:
    """USERNAME can no longer sign in: open sessions end and API tokens are revoked at once."""
    deactivate_user(None, _user(username))
    db.session.commit()
    click.echo(f"{username} deactivated; sessions ended, tokens revoked")


@main.command("seed-demo")
@click.option("--students", default=2000, show_default=True)
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
@with_appcontext
def seed_demo_command(students: int, if_empty: bool) -> None:
    """Fill the database with the demo university and one login per role (password `demo`)."""
    if if_empty and db.session.scalar(select(func.count(User.id))):
        click.echo("database not empty; demo data not seeded")
        return
    summary = seed_demo(students=students)
    db.session.commit()
    click.echo(summary)


def run_scheduler_once(app) -> dict | None:
    """One pass of the scheduler in its own app context: the effects of signed orders due today, the deadline
    reminders and escalations, then the audit chain is sealed and background jobs left past their lease are handed
    over again, each in its own transaction. Errors are logged, not
    raised; None when a pass failed (the next one retries)."""
    result, failed = {}, False
    with app.app_context():
        try:
            for name, run in (
                ("effects", apply_due_effects),
                ("deadlines", run_deadlines),
                ("audit_sealed", seal),
                ("jobs_handed_over", sweep_jobs),
            ):
                try:
                    result[name] = run()
                    db.session.commit()
                except Exception:  # a bad pass must not stop the scheduler nor the other passes
                    db.session.rollback()
                    app.logger.exception("scheduler pass %s failed", name)
                    failed = True
            return None if failed else result
        finally:
            db.session.remove()


def start_scheduler_thread(app, interval: float) -> threading.Thread:
    """The embedded mode's scheduler: a daemon thread inside the web process."""

    def loop() -> None:
        while True:
            run_scheduler_once(app)
            time.sleep(interval)

    thread = threading.Thread(target=loop, name="scheduler", daemon=True)
    thread.start()
    return thread


@main.command("scheduler")
@click.option(
    "--interval",
    type=float,
    default=None,
    help="Seconds between passes [default: the SCHEDULER_INTERVAL setting, 300].",
)
@click.option("--once", is_flag=True, help="Run one pass and exit.")
@with_appcontext
def scheduler_command(interval: float | None, once: bool) -> None:
    """Apply the effects of signed orders on their effective day, and send deadline reminders and escalations (e-mails
    go through the outbox), periodically until stopped."""
    app = current_app._get_current_object()
    interval = interval if interval is not None else float(app.config.get("SCHEDULER_INTERVAL", 300))
    if interval <= 0 and not once:
        raise click.ClickException("--interval must be positive")
    stop = threading.Event()
    if not once:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        click.echo(f"Scheduler (effects due, deadlines) every {interval:g} s; Ctrl+C to stop.")
    while True:
        result = run_scheduler_once(app)
        if result is None:
            click.echo("scheduler: pass failed (see the log)")
        else:
            click.echo(f"effects: {result['effects']}; deadlines: {result['deadlines']}")
        if once:
            if result is None:
                sys.exit(1)
            return
        if stop.wait(interval):
            return


@main.group("audit")
def audit_group() -> None:
    """The audit chain: link new events, verify the chain and the signed documents."""


@audit_group.command("seal")
@with_appcontext
def audit_seal_command() -> None:
    """Link every committed audit event not yet in the chain (the scheduler does this on each pass)."""
    sealed = seal()
    db.session.commit()
    click.echo(f"{sealed} event(s) sealed")


@audit_group.command("verify")
@with_appcontext
def audit_verify_command() -> None:
    """Recompute every link of the audit chain and every signed document's SHA-256; exit 1 at the first break."""
    report = verify_chain()
    checked, altered = altered_documents()
    click.echo(f"audit chain: {report.sealed} event(s) checked, {report.unsealed} not sealed yet; head {report.head}")
    click.echo(f"signed documents: {checked} checked, {len(altered)} altered")
    if report.broken:
        click.echo(f"BROKEN audit chain at {report.broken}", err=True)
    for document in altered:
        click.echo(
            f"ALTERED document {document.id} ({document.filename}) of order {document.order_id}: its content does "
            f"not match its SHA-256",
            err=True,
        )
    if report.broken or altered:
        sys.exit(1)


@main.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def backup_command(file: str) -> None:
    """Write a consistent copy of the whole database to FILE (PostgreSQL: pg_dump custom format; SQLite: a copy made
    with SQLite's online backup API). The application may keep running."""
    try:
        backup_database(Path(file))
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"backup written to {file}")


@main.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def restore_command(file: str) -> None:
    """Restore a backup FILE into this database, which must be empty (a new database); then run `audit verify`."""
    try:
        restore_database(Path(file))
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"restored {file}; check it with: registrar audit verify")


@main.group("routes")
def routes_group() -> None:
    """Approval routes: export as YAML, load new versions from YAML."""


@routes_group.command("dump")
@click.argument("name", required=False)
@with_appcontext
def routes_dump_command(name: str | None) -> None:
    """Print the latest version of every route (or of NAME) as YAML, in the format `routes load` reads."""
    names = route_names()
    if name is not None and name not in names:
        raise click.ClickException(f"no route {name!r}; routes: {', '.join(names)}")
    routes = [get_route(n) for n in ([name] if name else names)]
    header = "".join(f"# {r.name}: version {r.version}\n" for r in routes)
    click.echo(header + route_yaml({"routes": [route_definition(r) for r in routes]}), nl=False)


@routes_group.command("load")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@with_appcontext
def routes_load_command(file) -> None:
    """Validate every route in FILE and save each changed one as a new version: all or nothing."""
    known = route_names()
    try:
        definitions = parse_routes_file(file.read())
        names = []
        for position, data in enumerate(definitions, 1):
            try:
                route = route_from_dict(data)
            except RouteError as error:
                raise RouteError(f"route {position} ({data.get('name', 'no name')}): {error}") from error
            if route.name in names:
                raise RouteError(f"route {route.name} appears twice in the file.")
            if route.name not in known:
                raise RouteError(
                    f"there is no route {route.name} (routes: {', '.join(known)}); order kinds name "
                    f"their route in code, so a new name would not be used."
                )
            names.append(route.name)
        saved, same = [], []
        for data in definitions:
            if unchanged(data):
                same.append(data["name"])
            else:
                saved.append(save_route_version(None, data, None))
    except RouteError as error:
        db.session.rollback()
        click.echo(f"Error: {file.name}: {error} Nothing was saved.", err=True)
        sys.exit(1)
    db.session.commit()
    for route in saved:
        click.echo(f"saved {route.name} version {route.version}")
    for name in same:
        click.echo(f"unchanged {name}")


@main.group("import")
def import_group() -> None:
    """Import students, curricula or grades from a CSV or XLSX file: all rows or none."""


def _import_command(kind: str):
    @import_group.command(
        kind,
        help=f"Import {kind} from FILE (.csv or .xlsx); every bad row is listed and nothing "
        f"is written unless the whole file is clean.",
    )
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--dry-run", is_flag=True, help="Check the file and print the counts without writing.")
    @with_appcontext
    def command(file: str, dry_run: bool) -> None:
        path = Path(file)
        plan = run_import(kind, path.name, path.read_bytes(), dry_run=dry_run)
        if not plan.ok:
            db.session.rollback()
            for error in plan.errors:
                click.echo(f"{path.name}: {error}")
            click.echo(f"{len(plan.errors)} bad row(s); nothing was imported.")
            sys.exit(1)
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
        counts = plan.counts
        prefix = "dry run, would be: " if dry_run else ""
        click.echo(f"{prefix}{counts['created']} created, {counts['updated']} updated, {counts['unchanged']} unchanged")

    return command


for _kind in ("students", "curriculum", "grades"):
    _import_command(_kind)
