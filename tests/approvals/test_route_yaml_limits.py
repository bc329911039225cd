"""A route definition is refused before it is built when it uses anchors and aliases (a few hundred characters can
stand for millions of values) or is longer than any route needs; nothing is saved."""

import pytest
from sqlalchemy import func, select

from approvals.admin import parse_routes_file
from core.db import db
from tests.conftest import login
from workflow.models import RouteVersion
from workflow.routes import RouteError, latest_version

LAUGHS = "name: legal\na: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [*{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, "
    f"*{previous}, *{previous}, *{previous}]\n"
    for previous, name in zip("abcde", "bcdef", strict=True)
)


@pytest.mark.parametrize(
    "definition, message",
    [
        (LAUGHS, "Anchors and aliases (&amp; and *) are not accepted"),
        ("name: legal\n" + "# padding\n" * 2000, "A route definition is at most 20,000 characters."),
    ],
)
def test_aliases_and_oversized_text_are_refused_before_loading(client, uni, definition, message):
    assert len(LAUGHS) < 500  # expanded, it would hold 10 ** 6 leaves
    login(client, uni.admin)
    response = client.post("/admin/routes/legal", data={"definition": definition})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(RouteVersion.id))) == 0 and latest_version("legal") == 1


def test_a_routes_file_with_aliases_or_over_64_kb_is_refused_by_the_loader():
    with pytest.raises(RouteError, match="Anchors and aliases"):
        parse_routes_file(LAUGHS)
    with pytest.raises(RouteError, match="longer than 64 KB"):
        parse_routes_file("routes: []\n" + "# padding\n" * 7000)


def test_a_version_that_is_not_a_number_is_explained(client, uni):
    login(client, uni.admin)
    definition = "name: legal\nversion: abc\nsteps:\n  - {name: dean, roles: [dean], mode: per_faculty}\n"
    response = client.post("/admin/routes/legal", data={"definition": definition})
    assert response.status_code == 400
    assert "version must be a whole number" in response.text
    assert latest_version("legal") == 1
