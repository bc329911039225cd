"""IIN validation with real-shaped numbers: birth date, century and sex digit, check digit (both weight sets)."""

from datetime import date

import pytest

from students.iin import birth_date, check_digit, iin_error, make_iin, sex

# Computed by hand from the rule (weights 1..11, then 3..11,1,2 when the first sum gives 10).
VALID = [
    ("920301401230", date(1992, 3, 1), "female"),
    ("030512507891", date(2003, 5, 12), "male"),
    ("051221604560", date(2005, 12, 21), "female"),
    ("980806300113", date(1998, 8, 6), "male"),
    ("000229505554", date(2000, 2, 29), "male"),  # a leap day
    ("891111212344", date(1889, 11, 11), "female"),  # century digit 2: the 1800s
    # The first weight set gives 10 for these: the check digit comes from the second set.
    ("850714300907", date(1985, 7, 14), "male"),
    ("920301401301", date(1992, 3, 1), "female"),
]


@pytest.mark.parametrize(("iin", "born", "expected_sex"), VALID)
def test_real_shaped_iins_are_valid_with_birth_date_and_sex(iin, born, expected_sex):
    assert iin_error(iin) is None
    assert birth_date(iin) == born
    assert sex(iin) == expected_sex


def test_second_weight_set_is_needed_for_850714300907():
    first_eleven = "85071430090"
    first_sum = sum(int(d) * w for d, w in zip(first_eleven, range(1, 12), strict=True))
    assert first_sum % 11 == 10  # so the first set gives no digit
    assert check_digit(first_eleven) == 7


def test_surrounding_spaces_are_ignored():
    assert iin_error(" 850714300907 ") is None


@pytest.mark.parametrize(
    ("born", "male", "serial"),
    [
        (date(2004, 3, 15), True, 5001),
        (date(1999, 12, 31), False, 42),
        (date(1975, 1, 1), True, 9999),
        (date(2001, 6, 30), False, 1234),
    ],
)
def test_make_iin_builds_valid_numbers(born, male, serial):
    iin = make_iin(born, male, serial)
    assert iin is not None and len(iin) == 12
    assert iin_error(iin) is None
    assert birth_date(iin) == born
    assert sex(iin) == ("male" if male else "female")
    assert iin[7:11] == f"{serial:04d}"


def test_make_iin_returns_known_numbers():
    assert make_iin(date(1985, 7, 14), True, 90) == "850714300907"
    assert make_iin(date(1992, 3, 1), False, 130) == "920301401301"
    assert make_iin(date(2003, 5, 12), True, 377) is None  # this serial has no check digit


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "IIN is required."),
        (None, "IIN is required."),
        ("   ", "IIN is required."),
        ("85071430090", "IIN must be exactly 12 digits."),
        ("8507143009071", "IIN must be exactly 12 digits."),
        ("8507143009O7", "IIN must be exactly 12 digits."),  # a letter O for a zero
        ("85O714300907", "IIN must be exactly 12 digits."),
        ("850714-30090", "IIN must be exactly 12 digits."),
        ("850714000907", "IIN digit 7 (century and sex) must be 1 to 6."),
        ("850714700907", "IIN digit 7 (century and sex) must be 1 to 6."),
        ("851314300907", "IIN digits 1-6 are not a valid birth date (YYMMDD)."),  # month 13
        ("850732300907", "IIN digits 1-6 are not a valid birth date (YYMMDD)."),  # 32 July
        ("850014300907", "IIN digits 1-6 are not a valid birth date (YYMMDD)."),  # month 0
        ("000229300907", "IIN digits 1-6 are not a valid birth date (YYMMDD)."),  # 1900 was not a leap year
        ("850714300908", "IIN check digit is wrong: expected 7, got 8."),
        ("920301401231", "IIN check digit is wrong: expected 0, got 1."),
        ("030512503770", "IIN cannot exist: no check digit fits its first 11 digits."),
        ("850714300970", "IIN cannot exist: no check digit fits its first 11 digits."),
    ],
)
def test_invalid_iins_say_why(value, message):
    assert iin_error(value) == message


def test_no_check_digit_exists_for_either_weight_set():
    assert check_digit("03051250377") is None
    assert check_digit("85071430097") is None
