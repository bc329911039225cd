"""dramatiq's own figures for `/metrics`: messages enqueued, processed (by outcome), in progress, and how long each
took, by actor. A broker middleware counts them in the process that does the work (the web process enqueues, the
worker processes); with `PROMETHEUS_MULTIPROC_DIR` shared by the web and the worker units, `/metrics` adds up every
process's samples."""

import time

import dramatiq
from dramatiq.middleware import Middleware
from prometheus_client import Counter, Gauge, Histogram

ENQUEUED = Counter(
    "registrar_dramatiq_messages_enqueued",
    "Messages handed to the broker, by actor.",
    ["actor"],
    registry=None,
)
PROCESSED = Counter(
    "registrar_dramatiq_messages_processed",
    "Messages a worker finished, by actor and outcome (done, failed, skipped).",
    ["actor", "outcome"],
    registry=None,
)
IN_PROGRESS = Gauge(
    "registrar_dramatiq_messages_in_progress",
    "Messages a worker is processing now, by actor.",
    ["actor"],
    registry=None,
    multiprocess_mode="livesum",
)
DURATION = Histogram(
    "registrar_dramatiq_message_duration_seconds",
    "Time a worker spent on a message, by actor.",
    ["actor"],
    registry=None,
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900),
)
METRICS = (ENQUEUED, PROCESSED, IN_PROGRESS, DURATION)


class WorkerMetrics(Middleware):
    """Counts every message through the broker it is added to (see `make_broker`)."""

    def __init__(self) -> None:
        self._started: dict[str, float] = {}

    def before_enqueue(self, broker: dramatiq.Broker, message: dramatiq.Message, delay: int | None) -> None:
        ENQUEUED.labels(message.actor_name).inc()

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        self._started[message.message_id] = time.perf_counter()
        IN_PROGRESS.labels(message.actor_name).inc()

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: dramatiq.Message,
        *,
        result: object = None,
        exception: BaseException | None = None,
    ) -> None:
        self._finish(message, "failed" if exception is not None else "done")

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.Message) -> None:
        self._finish(message, "skipped")

    def _finish(self, message: dramatiq.Message, outcome: str) -> None:
        started = self._started.pop(message.message_id, None)
        if started is None:  # skipped before processing began
            PROCESSED.labels(message.actor_name, outcome).inc()
            return
        IN_PROGRESS.labels(message.actor_name).dec()
        DURATION.labels(message.actor_name).observe(time.perf_counter() - started)
        PROCESSED.labels(message.actor_name, outcome).inc()
