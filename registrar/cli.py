"""The `registrar` command: Flask's CLI group with the project's commands added."""

import signal
import threading

import click
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import func, select
from werkzeug.serving import run_simple

from core.db import db
from core.models import ROLES, User, create_user, issue_token
from registrar.app import create_app


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
        from notifications.relay import start_embedded_worker

        start_embedded_worker(app)
        click.echo("E-mail worker: in-process (embedded mode).")
    click.echo(f"Registrar on http://{host}:{port}/")
    run_simple(host, port, app, threaded=True)


@main.command("worker")
@with_appcontext
def worker_command() -> None:
    """Run dramatiq worker threads and the outbox sweep until SIGINT or SIGTERM."""
    from notifications.relay import start_embedded_worker

    app = current_app._get_current_object()
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
    """Create a user with the given roles."""
    if db.session.scalar(select(User).where(User.username == username)):
        raise click.ClickException(f"user {username!r} exists already")
    try:
        create_user(username, password, full_name, roles, faculty_id=faculty_id, email=email)
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"created {username} ({', '.join(roles)})")


@main.command("create-token")
@click.argument("username")
@with_appcontext
def create_token_command(username: str) -> None:
    """Print a new API bearer token for USERNAME (only its hash is stored)."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    token = issue_token(user)
    db.session.commit()
    click.echo(token)


@main.command("seed-demo")
@click.option("--students", default=2000, show_default=True)
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has users.")
@with_appcontext
def seed_demo_command(students: int, if_empty: bool) -> None:
    """Fill the database with the demo university and one login per role (password `demo`)."""
    from registrar.demo import seed_demo

    if if_empty and db.session.scalar(select(func.count(User.id))):
        click.echo("database not empty; demo data not seeded")
        return
    summary = seed_demo(students=students)
    db.session.commit()
    click.echo(summary)
