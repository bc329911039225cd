"""The production files in deploy/ hang together: gunicorn serves the app with its configuration and stops
gracefully; the systemd units run commands that exist; the environment template names only settings the code reads."""

import configparser
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import click
import pytest
from flask.cli import ScriptInfo

from registrar.app import create_app
from registrar.cli import main

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, dict, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def environment(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
        "REGISTRAR_SECRET_KEY": "deploy-test",
        "REGISTRAR_BROKER_URL": "stub",
        "REGISTRAR_MAILBOX_DIR": str(tmp_path / "mailbox"),
        "GUNICORN_WORKERS": "2",
    }
    subprocess.run([BIN / "registrar", "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120)
    return env


def test_gunicorn_serves_with_the_deploy_configuration_and_stops_gracefully(environment):
    port = free_port()
    environment["GUNICORN_BIND"] = f"127.0.0.1:{port}"
    server = subprocess.Popen(
        [BIN / "gunicorn", "-c", DEPLOY / "gunicorn.conf.py", "registrar.wsgi:app"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _headers, body = get(f"http://127.0.0.1:{port}/ready")
                break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
                time.sleep(0.3)
        assert status == 200 and b'"ready"' in body
        status, headers, _body = get(f"http://127.0.0.1:{port}/login")
        assert status == 200 and headers["X-Frame-Options"] == "DENY"
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=40)
    log = server.stdout.read().decode()
    assert code == 0, log
    assert "Booting worker" in log and "Shutting down" in log


def test_systemd_units_run_commands_that_exist():
    with click.Context(main, obj=ScriptInfo(create_app=create_app)) as context:
        commands = set(main.list_commands(context))
    assert {"db", "worker", "scheduler"} <= commands
    for path in (DEPLOY / "systemd").glob("*.service"):
        unit = configparser.ConfigParser(strict=False, interpolation=None)
        unit.read(path)
        service = unit["Service"]
        assert service["EnvironmentFile"] == "/etc/registrar/registrar.env", path.name
        for key in ("ExecStartPre", "ExecStart"):
            if key not in service:
                continue
            words = shlex.split(service[key])
            program = Path(words[0]).name
            if program == "registrar":
                assert words[1] in commands, f"{path.name}: registrar has no command {words[1]!r}"
            elif program == "gunicorn":
                assert (ROOT / words[words.index("-c") + 1]).is_file() and words[-1] == "registrar.wsgi:app"
            else:
                raise AssertionError(f"{path.name}: unexpected program {program}")


def test_the_environment_template_names_only_settings_the_code_reads():
    read = set(re.findall(r'_env\("([A-Z_]+)"', (ROOT / "core" / "config.py").read_text()))
    read |= {"REGISTRAR_SECRET_KEY", "GUNICORN_WORKERS", "GUNICORN_THREADS"}
    template = (DEPLOY / "registrar.env.example").read_text()
    named = set(re.findall(r"^#? ?([A-Z_]+)=", template, re.M))
    assert named - read == set(), "the template names settings nothing reads"
    assert {"DATABASE_URL", "REGISTRAR_SECRET_KEY", "REGISTRAR_BROKER_URL", "REGISTRAR_HTTPS"} <= named


def test_nginx_proxies_to_where_gunicorn_listens():
    site = (DEPLOY / "nginx" / "registrar.conf").read_text()
    gunicorn = (DEPLOY / "gunicorn.conf.py").read_text()
    listen = re.search(r'"GUNICORN_BIND", "([^"]+)"', gunicorn).group(1)
    assert f"server {listen}" in site
    assert "X-Forwarded-Proto" in site and "client_max_body_size" in site
