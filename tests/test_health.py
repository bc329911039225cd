"""`/health` answers while the process lives; `/ready` answers 200 only when the database, the broker and the schema
are ready, and 503 naming what is missing."""

from flask_migrate import upgrade

from registrar.app import create_app

NOWHERE = {"WTF_CSRF_ENABLED": False, "SECRET_KEY": "test", "TESTING": True}


def test_ready_when_database_broker_and_migrations_are(client):
    assert client.get("/health").json == {"status": "ok"}
    response = client.get("/ready")
    assert response.status_code == 200 and response.json == {"status": "ready"}


def test_not_ready_names_an_unreachable_database_and_broker(tmp_path):
    app = create_app(
        {
            **NOWHERE,
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://postgres@127.0.0.1:1/nothing?connect_timeout=2",
            "BROKER_URL": "redis://127.0.0.1:1/0",
            "MAILBOX_DIR": str(tmp_path),
        }
    )
    client = app.test_client()
    assert client.get("/health").status_code == 200  # alive, though it cannot serve
    response = client.get("/ready")
    assert response.status_code == 503
    assert response.json["status"] == "not ready"
    assert set(response.json["problems"]) == {"database", "broker"}
    assert "Connection refused" in response.json["problems"]["broker"]


def test_not_ready_while_the_schema_is_behind_the_code(tmp_path):
    app = create_app(
        {
            **NOWHERE,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.sqlite3'}",
            "BROKER_URL": "stub",
            "MAILBOX_DIR": str(tmp_path),
        }
    )
    with app.app_context():
        upgrade(revision="0006")
    response = app.test_client().get("/ready")
    assert response.status_code == 503
    assert "the database is at 0006" in response.json["problems"]["migrations"]
    assert "registrar db upgrade" in response.json["problems"]["migrations"]
