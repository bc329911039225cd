"""`/metrics` in Prometheus' text format: request latency by endpoint, the outbox by status, the background jobs
queued and running, and dramatiq's messages by actor (`notifications.worker_metrics`).

Who may read it: with `REGISTRAR_METRICS_TOKEN` set, whoever sends it as a bearer token; without, the machine
itself only (a Prometheus agent beside it, or nginx, which passes `/metrics` from loopback only). Under gunicorn each
worker process keeps its own counters unless `PROMETHEUS_MULTIPROC_DIR` names a shared folder (deploy/ sets it), in
which case every process's samples are added up.
"""

import hmac
import os
import time

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from core.db import db
from core.permissions import public
from notifications.models import OUTBOX_STATUSES, OutboxMessage
from notifications.worker_metrics import METRICS as WORKER_METRICS
from orders.jobs import Job

bp = Blueprint("metrics", __name__)
REGISTRY = CollectorRegistry(auto_describe=True)
REQUEST_SECONDS = Histogram(
    "registrar_request_duration_seconds",
    "Time to answer a request, by endpoint, method and status.",
    ["endpoint", "method", "status"],
    registry=REGISTRY,
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)


class OutboxCollector:
    """The outbox by status, counted when Prometheus asks (one GROUP BY)."""

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily("registrar_outbox_messages", "E-mails in the outbox by status.", labels=["status"])

    def describe(self):  # what registering asks, answered without a query
        yield self._family()

    def collect(self):
        family = self._family()
        counts = dict.fromkeys(OUTBOX_STATUSES, 0)
        counts |= dict(
            db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
        )
        for status, count in counts.items():
            family.add_metric([status], count)
        yield family


class JobsCollector:
    """Background jobs queued and running, counted when Prometheus asks (one GROUP BY)."""

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily("registrar_jobs_running", "Background jobs running in a worker now."),
            GaugeMetricFamily("registrar_jobs_queued", "Background jobs waiting for a worker."),
        )

    def describe(self):
        yield from self._families()

    def collect(self):
        running, queued = self._families()
        counts = dict(
            db.session.execute(
                select(Job.state, func.count()).where(Job.state.in_(("queued", "running"))).group_by(Job.state)
            ).all()
        )
        running.add_metric([], counts.get("running", 0))
        queued.add_metric([], counts.get("queued", 0))
        yield running
        yield queued


REGISTRY.register(OutboxCollector())
REGISTRY.register(JobsCollector())
for metric in WORKER_METRICS:
    REGISTRY.register(metric)


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)

    @app.before_request
    def start_clock() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def observe(response):
        started = g.pop("request_started", None)
        if started is not None and request.endpoint != "metrics.metrics":
            REQUEST_SECONDS.labels(request.endpoint or "none", request.method, str(response.status_code)).observe(
                time.perf_counter() - started
            )
        return response


def _allowed() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(given.encode(), token.encode())
    return request.remote_addr in ("127.0.0.1", "::1")


@bp.route("/metrics")
@public  # not a person's page: guarded by the metrics token or by coming from this machine
def metrics():
    if not _allowed():
        abort(403)
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(OutboxCollector())
        registry.register(JobsCollector())
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
