"""Every message in the reader's language: the words a user of the Russian or Kazakh interface (or an API client
asking with Accept-Language) reads, not codes or English."""

from datetime import date

import pytest
from flask_babel import force_locale

from core.db import db
from core.labels import label
from core.models import issue_token
from orders import operations
from orders.operations import InvalidInput
from orders.register.payments import status_label
from students.iin import iin_error, make_iin
from tests.conftest import login
from tests.orders.test_academic_leave import leave_order, with_document
from tests.students.test_imports import STUDENT_HEADER, csv_bytes, iins, student_rows, upload
from workflow.engine import fire


def bad_check_digit() -> str:
    good = make_iin(date(2005, 6, 1), True, 7001) or make_iin(date(2005, 6, 1), True, 7003)
    return good[:11] + str((int(good[11]) + 1) % 10)


# The IIN check ----------------------------------------------------------------------------------------------------


def test_the_iin_check_speaks_russian_and_kazakh(app):
    iin = bad_check_digit()
    expected = iin_error(iin)  # English outside a request: the default of the tests
    assert expected.startswith("IIN check digit is wrong")
    with app.test_request_context(), force_locale("ru"):
        assert iin_error(iin).startswith("Неверная контрольная цифра ИИН: ожидалась ")
        assert iin_error("123") == "ИИН должен состоять ровно из 12 цифр."
    with app.test_request_context(), force_locale("kk"):
        assert iin_error("").startswith("ЖСН көрсетіңіз")


def test_a_russian_clerk_sees_the_import_s_row_messages_in_russian(client, uni, app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORTS_DIR", str(tmp_path))
    uni.clerk.language = "ru"
    db.session.commit()
    login(client, uni.clerk)
    rows = student_rows(uni.ga.name, [bad_check_digit(), *iins(1, 7100)])
    rows[1][5] = "НЕТ-ТАКОЙ"
    html = upload(client, "students", "s.csv", csv_bytes(STUDENT_HEADER, rows)).get_data(as_text=True)
    assert "Неверная контрольная цифра ИИН" in html
    assert "неизвестная группа «НЕТ-ТАКОЙ»" in html
    assert "check digit" not in html and "unknown group" not in html


# The API's language -----------------------------------------------------------------------------------------------


def test_the_api_answers_in_the_language_the_request_asks(client, uni, make):
    student = make.student(uni.ga)
    tokens = {user.username: issue_token(user) for user in (uni.dean_b, uni.clerk)}  # both read English pages
    db.session.commit()

    def get(url, user, language=None):
        headers = {"Authorization": f"Bearer {tokens[user.username]}"}
        if language:
            headers["Accept-Language"] = language
        return client.get(url, headers=headers)

    other_faculty = get(f"/api/v1/students/{student.id}", uni.dean_b, "kk")
    assert other_faculty.status_code == 403
    assert other_faculty.get_json()["message"] == "Бұл білім алушы сіздің факультетіңізде оқымайды."
    not_admin = get("/api/v1/routes", uni.clerk, "kk,ru;q=0.8")
    assert (not_admin.status_code, not_admin.get_json()["message"]) == (403, "Сізге бұған рұқсат жоқ.")
    assert get("/api/v1/routes", uni.clerk, "ru").get_json()["message"] == "Вам это не разрешено."
    # No Accept-Language: the token user's own language.
    assert get("/api/v1/routes", uni.clerk).get_json()["message"] == "You may not do this."
    unknown = get("/api/v1/students/987654", uni.clerk, "ru")
    assert (unknown.status_code, unknown.get_json()["message"]) == (404, "Обучающегося с id 987654 нет.")


def test_the_api_without_a_token_answers_in_the_language_asked(client, session):
    response = client.get("/api/v1/students", headers={"Accept-Language": "ru"})
    assert response.status_code == 401
    assert response.get_json()["message"].startswith("Требуется аутентификация")


# Codes and units in messages --------------------------------------------------------------------------------------


def test_the_override_of_a_closed_order_names_its_state_in_russian(uni, make):
    student = make.student(uni.ga, status="academic_leave")
    student.leave_start, student.leave_end = date(2025, 9, 1), date(2026, 12, 1)
    order = make.order(uni.clerk, [student], reason="non_return", effective_date="2026-12-01")
    fire(order, "withdraw", uni.clerk)
    with force_locale("ru"), pytest.raises(InvalidInput) as error:
        operations.override_line(order, order.lines[0].id, "Решение суда, выписка приложена", uni.registrar)
    assert error.value.errors == {"order": "Этот приказ: отозван; допустить строку можно, только пока приказ открыт."}


def test_a_status_in_a_refusal_is_a_word_in_russian(uni, make):
    student = make.student(uni.ga, status="academic_leave")
    with force_locale("ru"):
        order = operations.create_order(
            "transfer_out", uni.clerk, {"university": "КазНУ", "effective_date": "2026-10-15", "basis": "Заявление"}
        )
        operations.add_students(order, [student.id], uni.clerk)
    (message,) = [refusal["message"] for refusal in order.lines[0].eligibility]
    assert "академическом отпуске" in message and "academic_leave" not in message and "academic leave" not in message


@pytest.mark.parametrize(
    ("end", "length"),
    [("2026-09-30", "1 месяц"), ("2026-10-31", "2 месяца"), ("2027-09-30", "13 месяцев")],
)
def test_a_leave_s_length_reads_in_months_in_russian(end, length, uni, make):
    with force_locale("ru"):
        order = leave_order(uni, [make.student(uni.ga)], ground="medical", start="2026-09-01", end=end)
        line = with_document(order, uni)
    (message,) = [refusal["message"] for refusal in line.eligibility]
    assert message.endswith(f"продолжительность этого отпуска: {length}.")


def test_a_choice_message_gives_the_words_with_the_codes_in_russian(uni):
    with force_locale("ru"), pytest.raises(InvalidInput) as error:
        operations.create_order(
            "expulsion", uni.clerk, {"reason": "pay_me", "effective_date": "2026-12-01", "basis": "Заявление"}
        )
    message = error.value.errors["reason"]
    assert "(own_request)" in message and message.count("(") >= 5
    assert "по собственному желанию (own_request)" in message


def test_the_register_s_payment_is_not_the_paid_tuition(app):
    from_funding, from_register = "paid", "paid"
    with app.test_request_context(), force_locale("ru"):
        assert (label(from_funding), status_label(from_register)) == ("платная основа", "выплачено")
    with app.test_request_context(), force_locale("kk"):
        assert (label(from_funding), status_label(from_register)) == ("ақылы негіз", "төленді")
