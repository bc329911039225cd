"""/metrics in Prometheus' format (request latency by endpoint, the outbox by status) for this machine or the
metrics token only; JSON logs carrying the request id, which the response echoes and the outbox row keeps."""

import json
import logging

from flask_migrate import upgrade

from core.db import db
from core.logs import JsonFormatter, RequestIdFilter
from core.permissions import public
from notifications.models import OutboxMessage
from notifications.outbox import enqueue_email
from registrar.app import create_app
from tests.conftest import login


def test_metrics_show_latency_by_endpoint_and_the_outbox(client, uni):
    login(client, uni.clerk)
    client.get("/orders/")
    enqueue_email("s@example.kz", "order_student", {"student_name": "A"})
    db.session.flush()
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.text
    assert 'registrar_request_duration_seconds_count{endpoint="journal.index",method="GET",status="200"}' in text
    pending = next(line for line in text.splitlines() if line.startswith('registrar_outbox_messages{status="pending"}'))
    assert float(pending.split()[-1]) >= 1


def test_metrics_are_for_this_machine_or_the_token(app, client, monkeypatch):
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "scrape-me")
    assert client.get("/metrics").status_code == 403  # the token is required once set, even from here
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    assert client.get("/metrics", headers={"Authorization": "Bearer scrape-me"}).status_code == 200


def test_a_request_id_runs_through_the_response_the_logs_and_the_outbox(tmp_path):
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'ids.sqlite3'}",
            "BROKER_URL": "stub",
            "MAILBOX_DIR": str(tmp_path),
        }
    )
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(JsonFormatter().format(record))
    handler.addFilter(RequestIdFilter())
    logging.getLogger("registrar.test").addHandler(handler)

    @app.route("/_log_and_mail")
    @public
    def log_and_mail():
        logging.getLogger("registrar.test").warning("drafting")
        outbox_id = enqueue_email("s@example.kz", "order_student", {"student_name": "A"})
        db.session.commit()
        return {"outbox": outbox_id}

    with app.app_context():
        upgrade()
        client = app.test_client()
        response = client.get("/_log_and_mail", headers={"X-Request-ID": "req-42"})
        assert response.headers["X-Request-ID"] == "req-42"
        assert response.status_code == 200, response.text
        (line,) = records
        entry = json.loads(line)
        assert entry["request_id"] == "req-42" and entry["message"] == "drafting" and entry["level"] == "WARNING"
        assert db.session.get(OutboxMessage, response.json["outbox"]).context["request_id"] == "req-42"
        made = client.get("/health").headers["X-Request-ID"]
        assert len(made) == 32 and made != "req-42"  # none given: one is made
        assert client.get("/health", headers={"X-Request-ID": "bad id"}).headers["X-Request-ID"] != "bad id"
