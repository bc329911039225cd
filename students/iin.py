"""The Kazakh individual identification number (ИИН): 12 digits, birth date, century and sex, check digit."""

from datetime import date

from flask_babel import gettext as _

WEIGHTS_FIRST = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
WEIGHTS_SECOND = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
CENTURY = {"1": 1800, "2": 1800, "3": 1900, "4": 1900, "5": 2000, "6": 2000}


def check_digit(first_eleven: str) -> int | None:
    """The 12th digit for these 11 digits, or None when no check digit exists (the IIN cannot be issued)."""
    digits = [int(c) for c in first_eleven]
    for weights in (WEIGHTS_FIRST, WEIGHTS_SECOND):
        result = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if result != 10:
            return result
    return None


def birth_date(iin: str) -> date:
    century = CENTURY[iin[6]]
    return date(century + int(iin[0:2]), int(iin[2:4]), int(iin[4:6]))


def iin_error(value: str | None) -> str | None:
    """Why `value` is not a valid IIN, in words a clerk understands (in the reader's language); None when it is
    valid."""
    iin = (value or "").strip()
    if not iin:
        return _("IIN is required.")
    if len(iin) != 12 or not iin.isdigit():
        return _("IIN must be exactly 12 digits.")
    if iin[6] not in CENTURY:
        return _("IIN digit 7 (century and sex) must be 1 to 6.")
    try:
        birth_date(iin)
    except ValueError:
        return _("IIN digits 1-6 are not a valid birth date (YYMMDD).")
    expected = check_digit(iin[:11])
    if expected is None:
        return _("IIN cannot exist: no check digit fits its first 11 digits.")
    if int(iin[11]) != expected:
        return _("IIN check digit is wrong: expected %(expected)s, got %(got)s.", expected=expected, got=iin[11])
    return None


def sex(iin: str) -> str:
    return "male" if int(iin[6]) % 2 == 1 else "female"


def make_iin(born: date, male: bool, serial: int) -> str | None:
    """Build a valid IIN from a birth date, sex and a 4-digit serial; None when that serial has no check digit.

    Used by the demo seeder and the tests to produce real-shaped numbers.
    """
    century_digit = {1800: 1, 1900: 3, 2000: 5}[born.year // 100 * 100] + (0 if male else 1)
    first = f"{born:%y%m%d}{century_digit}{serial % 10000:04d}"
    digit = check_digit(first)
    return None if digit is None else f"{first}{digit}"
