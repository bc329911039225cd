"""gunicorn settings for the web processes: `gunicorn -c deploy/gunicorn.conf.py registrar.wsgi:app`.

Every value can be overridden from the environment (GUNICORN_WORKERS=8) or on the command line (`--bind`).
"""

import multiprocessing
import os

from prometheus_client import multiprocess

# nginx in front on the same machine; listen on loopback only.
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Requests are short (long work runs in the workers): processes for the cores, threads for waiting on PostgreSQL.
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A request still running after 60 s is stuck: the worker is replaced (nginx gives up at 65 s).
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# On `systemctl reload` (SIGHUP) or stop, running requests get this long to finish.
graceful_timeout = 30
keepalive = 5
# No `max_requests`: with the gthread worker, a worker replaced after N requests resets the connections it has
# accepted but not answered yet (gunicorn issue #3038; the load test in bench/load.py saw three resets a minute).
# Memory is watched instead (README "What to watch"); `systemctl reload registrar-web` renews the workers.
max_requests = 0
# nginx's X-Forwarded-* headers are trusted from loopback only (REGISTRAR_PROXIES=1 makes Flask read them).
forwarded_allow_ips = "127.0.0.1"
# Logs to standard output and error, which systemd's journal keeps.
accesslog = "-"
errorlog = "-"
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%({x-request-id}o)s"'
# Each worker builds its own app (and database pool) after the fork.
preload_app = False


def child_exit(server, worker):
    """A worker's metric samples stay counted after it exits (PROMETHEUS_MULTIPROC_DIR, set by the systemd unit)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
