"""Fixtures the order tests share."""

import pytest
from flask_babel import force_locale


@pytest.fixture
def english(session):
    """The messages and pages in English, for tests that compare their words (`pytestmark` asks for it)."""
    with force_locale("en"):
        yield
