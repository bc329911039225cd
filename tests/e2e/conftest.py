"""The e2e fixtures: the real app served by werkzeug on a free port, on its own SQLite file with the demo
university and the in-process e-mail worker, and Debian's Chromium driven by Playwright (never downloaded)."""

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from werkzeug.serving import make_server

from core.db import db
from notifications.relay import start_embedded_worker
from registrar.app import create_app
from registrar.demo import seed_demo
from tests.conftest import copy_sqlite

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@dataclass
class LiveServer:
    app: Flask
    url: str
    folder: Path


def _e2e_config(database: Path, folder: Path) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
        "SECRET_KEY": "e2e",
        "BROKER_URL": "stub",
        "MAIL_TRANSPORT": "mailbox",
        "MAILBOX_DIR": str(folder / "mailbox"),
        "RELAY_INTERVAL": 2.0,
    }


@pytest.fixture(scope="package")
def demo_database(tmp_path_factory) -> Path:
    """The migrated demo university, seeded once for the e2e tests (its five years of history are the slow part);
    every module's server starts on its own copy, so no module sees another's changes."""
    folder = tmp_path_factory.mktemp("e2e-demo")
    database = folder / "demo.sqlite3"
    app = create_app(_e2e_config(database, folder))
    with app.app_context():
        upgrade()
        seed_demo(students=60)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return database


@pytest.fixture(scope="module")
def live_server(tmp_path_factory, demo_database):
    """Always a separate SQLite database: the session `app` fixture owns DATABASE_URL and resets it."""
    folder = tmp_path_factory.mktemp("e2e")
    database = folder / "e2e.sqlite3"
    copy_sqlite(demo_database, database)
    app = create_app(_e2e_config(database, folder))
    worker = start_embedded_worker(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}", folder)
    finally:
        server.shutdown()
        thread.join(10)
        worker.stop()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="package")
def browser():
    """One Chromium for the e2e tests; every test opens its own contexts in it, so no cookies or pages are shared."""
    if not os.path.exists(CHROMIUM):
        message = f"{CHROMIUM} is missing: install Debian's chromium package (make test does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
