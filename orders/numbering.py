"""Gapless order numbers per calendar year and series, taken inside the signing transaction."""

from flask import current_app
from sqlalchemy import text

from core.db import db

_NEXT = text(
    "INSERT INTO order_sequences (year, series, last_number) VALUES (:year, :series, 1) "
    "ON CONFLICT (year, series) DO UPDATE SET last_number = order_sequences.last_number + 1 "
    "RETURNING last_number"
)


def next_number(year: int, series: str) -> int:
    """Take the next number. The row stays locked until the caller commits; a rollback gives it back."""
    return db.session.execute(_NEXT, {"year": year, "series": series}).scalar_one()


def format_number(number: int, series: str, year: int) -> str:
    return current_app.config["NUMBER_FORMAT"].format(seq=number, series=series, year=year)
