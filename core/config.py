"""Configuration from the environment. Every setting has a default that runs the embedded mode."""

import os
import secrets
from datetime import date
from pathlib import Path

from core.formatting import parse_date
from core.rules import load_rules


def _env(name: str, default: str) -> str:
    return os.environ.get(name, default)


def _secret_key(instance_path: Path) -> str:
    key = os.environ.get("REGISTRAR_SECRET_KEY")
    if key:
        return key
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def _days_off() -> frozenset[date]:
    """`REGISTRAR_EXTRA_DAYS_OFF`, or its deprecated old name `REGISTRAR_HOLIDAYS` when only that one is set."""
    name = "REGISTRAR_EXTRA_DAYS_OFF" if "REGISTRAR_EXTRA_DAYS_OFF" in os.environ else "REGISTRAR_HOLIDAYS"
    days = set()
    for part in _env(name, "").replace(";", ",").split(","):
        if part.strip():
            day = parse_date(part)
            if day is None:
                raise ValueError(f"{name}: {part.strip()!r} is not a YYYY-MM-DD date")
            days.add(day)
    return frozenset(days)


def load_config(instance_path: str) -> dict:
    """Settings for `app.config`, read from the environment with embedded-mode defaults."""
    instance = Path(instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    basis_max = int(float(_env("REGISTRAR_BASIS_FILE_MAX_MB", "10")) * 1024 * 1024)
    return {
        "SQLALCHEMY_DATABASE_URI": _env("DATABASE_URL", f"sqlite:///{instance / 'registrar.sqlite3'}"),
        "SECRET_KEY": _secret_key(instance),
        "BROKER_URL": _env("REGISTRAR_BROKER_URL", "stub"),
        "MAIL_TRANSPORT": _env("REGISTRAR_MAIL_TRANSPORT", "mailbox"),
        "MAILBOX_DIR": _env("REGISTRAR_MAILBOX_DIR", str(instance / "mailbox")),
        "SMTP_HOST": _env("REGISTRAR_SMTP_HOST", "localhost"),
        "SMTP_PORT": int(_env("REGISTRAR_SMTP_PORT", "25")),
        "SMTP_USER": _env("REGISTRAR_SMTP_USER", ""),
        "SMTP_PASSWORD": _env("REGISTRAR_SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _env("REGISTRAR_SMTP_STARTTLS", "0") == "1",
        "MAIL_FROM": _env("REGISTRAR_MAIL_FROM", "registrar@university.kz"),
        "REGISTRAR_OFFICE_EMAIL": _env("REGISTRAR_OFFICE_EMAIL", "registrar-office@university.kz"),
        "UNIVERSITY_KK": _env("REGISTRAR_UNIVERSITY_KK", "Әл-Фараби атындағы Демо университеті"),
        "UNIVERSITY_RU": _env("REGISTRAR_UNIVERSITY_RU", "Демо университет имени аль-Фараби"),
        "CITY": _env("REGISTRAR_CITY", "Алматы"),
        # More lines than this with the same wording (same programme, course, group) become one item with a table.
        "DOCUMENT_TABLE_AFTER": int(_env("REGISTRAR_DOCUMENT_TABLE_AFTER", "5")),
        "ORDER_SERIES": _env("REGISTRAR_ORDER_SERIES", "С"),
        "NUMBER_FORMAT": _env("REGISTRAR_NUMBER_FORMAT", "{seq}-{series}"),
        "TIMEZONE": _env("REGISTRAR_TIMEZONE", "Asia/Almaty"),
        "BABEL_DEFAULT_LOCALE": _env("REGISTRAR_DEFAULT_LANGUAGE", "ru"),
        "RELAY_INTERVAL": float(_env("REGISTRAR_RELAY_INTERVAL", "30")),
        "JOB_THRESHOLD_LINES": int(_env("REGISTRAR_JOB_THRESHOLD_LINES", "300")),
        "JOB_LEASE": float(_env("REGISTRAR_JOB_LEASE", "300")),
        "SCHEDULER_INTERVAL": float(_env("REGISTRAR_SCHEDULER_INTERVAL", "300")),
        "EXTRA_DAYS_OFF": _days_off(),
        "RULES": load_rules(_env("REGISTRAR_RULES_FILE", "")),
        "LANGUAGES": ["kk", "ru", "en"],
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "HTTPS": _env("REGISTRAR_HTTPS", "0") == "1",
        "PROXIES": int(_env("REGISTRAR_PROXIES", "0")),
        "METRICS_TOKEN": _env("REGISTRAR_METRICS_TOKEN", ""),
        "LOG_FORMAT": _env("REGISTRAR_LOG_FORMAT", "text"),
        "LOG_LEVEL": _env("REGISTRAR_LOG_LEVEL", "INFO"),
        "RATELIMIT_STORAGE_URI": _env("REGISTRAR_RATELIMIT_STORAGE", "memory://"),
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_HEADERS_ENABLED": True,
        "LOGIN_LIMIT_ACCOUNT": _env("REGISTRAR_LOGIN_LIMIT_ACCOUNT", "10 per 15 minutes"),
        "LOGIN_LIMIT_ADDRESS": _env("REGISTRAR_LOGIN_LIMIT_ADDRESS", "30 per 15 minutes"),
        # the largest basis document (a scanned application, certificate...) a clerk may upload on an order line;
        # a request may carry it and its form
        "BASIS_FILE_MAX_BYTES": basis_max,
        "MAX_CONTENT_LENGTH": max(16 * 1024 * 1024, basis_max + 1024 * 1024),
        # Verification: the address printed in the QR code (else the signing request's host), the public page's limits
        "PUBLIC_BASE_URL": _env("REGISTRAR_PUBLIC_BASE_URL", ""),
        "VERIFY_LIMIT": _env("REGISTRAR_VERIFY_LIMIT", "60 per minute"),
        "VERIFY_UPLOAD_LIMIT": _env("REGISTRAR_VERIFY_UPLOAD_LIMIT", "20 per 10 minutes"),
        # PDFs: the LibreOffice program and how long one conversion may take (seconds)
        "SOFFICE": _env("REGISTRAR_SOFFICE", "soffice"),
        "PDF_TIMEOUT": float(_env("REGISTRAR_PDF_TIMEOUT", "120")),
    }
