"""The language switcher and the kk / ru / en catalogs: pages translated, catalogs complete and compiled."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask_babel import force_locale

from core.db import db
from core.labels import LABELS, label
from tests.conftest import login
from workflow.engine import fire

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")

# language -> the words a page must show after switching to it
WORDS = {
    "kk": {
        "Sign in": "Кіру",
        "Inbox": "Кіріс",
        "Orders": "Бұйрықтар",
        "Students": "Білім алушылар",
        "Waiting for me": "Менің шешімімді күтуде",
        "Sign out": "Шығу",
        "review_dean": "декан бұрыштамасында",
    },
    "ru": {
        "Sign in": "Войти",
        "Inbox": "Входящие",
        "Orders": "Приказы",
        "Students": "Обучающиеся",
        "Waiting for me": "Ждут моего решения",
        "Sign out": "Выйти",
        "review_dean": "на визе декана",
    },
}


def catalog(language: str, kind: str = "po"):
    path = TRANSLATIONS / language / "LC_MESSAGES" / f"messages.{kind}"
    with path.open("rb") as f:
        return read_po(f, locale=language) if kind == "po" else read_mo(f)


def as_tuple(value):
    """A plural message's forms as a tuple: a .mo reads them back as a list."""
    return tuple(value) if isinstance(value, list) else value


def switch(client, language: str):
    response = client.post(f"/language/{language}", headers={"Referer": "http://localhost/login"})
    assert response.status_code == 302
    return response


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_login_page_in_the_chosen_language(client, language):
    switch(client, language)
    html = client.get("/login").get_data(as_text=True)
    assert f'<html lang="{language}">' in html
    words = WORDS[language]
    assert words["Sign in"] in html
    assert ">Sign in<" not in html


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_inbox_in_the_chosen_language(client, uni, make, language):
    order = make.order(uni.clerk, [make.student(uni.ga)])
    fire(order, "submit", uni.clerk)
    login(client, uni.dean_a)
    switch(client, language)
    html = client.get("/inbox").get_data(as_text=True)
    assert f'<html lang="{language}">' in html
    for english, translated in WORDS[language].items():
        if english != "Sign in":
            assert translated in html, f"{english!r} is not shown as {translated!r}"
    for english in ("Waiting for me", ">Orders<", ">Students<", "dean&#39;s visa", ">review_dean<"):
        assert english not in html
    db.session.refresh(uni.dean_a)
    assert uni.dean_a.language == language  # a signed-in user's choice is remembered


def test_english_is_the_source_language(client):
    switch(client, "kk")
    switch(client, "en")
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Sign in" in html
    assert "Кіру" not in html


def test_flash_with_placeholders_is_translated_and_filled_in(client, uni, make):
    order = make.order(uni.clerk, [])
    login(client, uni.clerk)
    switch(client, "kk")
    html = client.post(f"/orders/{order.id}/lines", data={"iins": "000000000000"}, follow_redirects=True).get_data(
        as_text=True
    )
    assert "ЖСН-і 000000000000 болатын білім алушы табылмады." in html
    switch(client, "ru")
    html = client.post(f"/orders/{order.id}/lines", data={"iins": "000000000000"}, follow_redirects=True).get_data(
        as_text=True
    )
    assert "Не найден обучающийся с ИИН 000000000000." in html


def test_eligibility_refusal_is_translated_with_the_student_name(client, uni, make):
    student = make.student(uni.ga, status="expelled", surname="Жақсыбеков", name="Әлібек")
    order = make.order(uni.clerk, [])
    login(client, uni.clerk)
    switch(client, "ru")
    html = client.post(f"/orders/{order.id}/lines", data={"iins": student.iin}, follow_redirects=True).get_data(
        as_text=True
    )
    assert "Жақсыбеков Әлібек" in html
    assert "отчислить можно только обучающихся или находящихся в академическом отпуске" in html
    assert "%(name)s" not in html and "only active students" not in html


def test_labels_of_stored_codes(app):
    with app.test_request_context(), force_locale("ru"):
        assert label("awaiting_signature") == "на подписи"
        assert label("academic_leave") == "в академическом отпуске"
        assert label("own_request") == "по собственному желанию"
        assert label("submit") == "Отправить на визирование"
    with app.test_request_context(), force_locale("kk"):
        assert label("signed") == "қол қойылды"
        assert label("expelled") == "оқудан шығарылды"
    with app.test_request_context(), force_locale("en"):
        assert label("review_dean") == "dean's visa"
        assert label("approve") == "Approve"
        assert label("some_new_code") == "some new code"
        assert label(None) == ""


def test_refusal_messages_keep_their_placeholders(app):
    with app.test_request_context(), force_locale("kk"):
        from flask_babel import gettext

        text = gettext("“%(t)s” is not possible for an order in state “%(s)s”.", t=label("sign"), s=label("draft"))
    assert text == "«жоба» күйіндегі бұйрық үшін «Қол қою» әрекеті қолжетімсіз."


@pytest.mark.parametrize("language", ["kk", "ru"])
def test_every_msgid_is_translated(language):
    po = catalog(language)
    assert not po.fuzzy
    untranslated, fuzzy, broken = [], [], []
    for message in po:
        if not message.id:
            continue
        if message.fuzzy:
            fuzzy.append(message.id)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(s and s.strip() for s in strings):
            untranslated.append(message.id)
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        if any(sorted(PLACEHOLDER.findall(s)) != sorted(PLACEHOLDER.findall(ids[-1])) for s in strings):
            broken.append(message.id)
    assert not untranslated, f"untranslated in {language}: {untranslated}"
    assert not fuzzy, f"fuzzy in {language}: {fuzzy}"
    assert not broken, f"placeholders differ in {language}: {broken}"


@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_compiled_catalog_matches_the_po(language):
    po, mo = catalog(language), catalog(language, "mo")
    expected = {as_tuple(m.id): as_tuple(m.string) for m in po if m.id and any(as_tuple(m.string))}
    # an untranslated plural (English, the source) is compiled with its msgid forms as the translation
    compiled = {
        as_tuple(m.id): as_tuple(m.string)
        for m in mo
        if m.id and m.string and not (isinstance(m.id, list) and m.string == m.id)
    }
    assert compiled == expected, "run: .venv/bin/pybabel compile -d translations"


def test_catalogs_hold_every_extracted_msgid():
    """Every string wrapped in the code and templates (and every label) is in the catalogs."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    extracted = {
        message
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT),
            method_map,
            options_map,
            keywords={"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None},
        )
    }
    extracted = {m[0] if isinstance(m, tuple) else m for m in extracted}
    assert {str(v._args[0]) for v in LABELS.values()} <= extracted
    for language in ("kk", "ru", "en"):
        missing = sorted(extracted - {m.id if isinstance(m.id, str) else m.id[0] for m in catalog(language)})
        assert not missing, f"not in the {language} catalog (see translations/README.md): {missing}"
