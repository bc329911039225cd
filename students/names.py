"""Personal names in the case a sentence needs, in Russian and in Kazakh.

Russian: `pytrovich` (the rule-based petrovich port) declines each part of "Surname Name Patronymic" by its sex.
What it does on the names of this country (checked in `tests/students/test_names.py`):

- Kazakh surnames in -ов/-ев/-ин decline like Russian ones (Байжанов -> Байжанова, Байжанова -> Байжанову);
  other surnames ending in a consonant decline for men and stay for women (Касымбек -> Касымбека; Ким);
- given names ending in a consonant decline for men and not for women (Самат -> Самата; Айгерим);
- Kazakh patronymics -ұлы/-улы/-қызы/-кызы (and оглы, кызы as a word) never change; hyphenated parts decline one by
  one.

Kazakh: a case ending is added to the last word of the name by vowel harmony and the final sound (Самат -> Саматқа,
Айгерим -> Айгеримге, Ерланұлы -> Ерланұлына), as Kazakh orders write them.
"""

import re
from functools import lru_cache

from pytrovich.detector import PetrovichGenderDetector
from pytrovich.enums import Case, Gender, NamePart
from pytrovich.maker import PetrovichDeclinationMaker

from students.iin import sex as iin_sex

CASES = ("nominative", "genitive", "dative", "accusative", "instrumental", "prepositional")
_RU_CASES = {
    "genitive": Case.GENITIVE,
    "dative": Case.DATIVE,
    "accusative": Case.ACCUSATIVE,
    "instrumental": Case.INSTRUMENTAL,
    "prepositional": Case.PREPOSITIONAL,
}
_PARTS = (NamePart.LASTNAME, NamePart.FIRSTNAME, NamePart.MIDDLENAME)
# Turkic patronymics: one word (Ерланұлы, Ерланқызы) or a separate word (Ерлан ұлы, Али оглы): never declined in
# Russian text.
_TURKIC_PATRONYMIC = re.compile(r"(ұлы|улы|қызы|кызы|оглы|огли|uly|qyzy)$", re.IGNORECASE)
_MAKER = PetrovichDeclinationMaker()
_DETECTOR = PetrovichGenderDetector()


def sex_of(iin: str) -> str:
    """'male' or 'female' from the IIN's seventh digit (odd: male)."""
    return iin_sex(iin)


@lru_cache(maxsize=4096)
def guess_sex(full_name: str) -> str:
    """'male' or 'female' for a person known only by name (a staff member): the patronymic says it (-вич/-вна,
    -ұлы/-қызы), else the rules' guess from the name and surname; 'male' when nothing tells."""
    words = full_name.split()
    last = words[-1].lower() if words else ""
    if last.endswith(("вна", "чна", "қызы", "кызы", "qyzy")) or last == "кызы":
        return "female"
    if last.endswith(("вич", "ич", "ұлы", "улы", "оглы", "uly")):
        return "male"
    surname = words[0].lower() if words else ""
    if surname.endswith(("ова", "ева", "ёва", "ина", "ына", "ская", "цкая")):
        return "female"
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын", "ский", "цкий")):
        return "male"
    parts = dict(zip(("lastname", "firstname", "middlename"), words, strict=False))
    try:
        return "female" if _DETECTOR.detect(**parts) is Gender.FEMALE else "male"
    except Exception:  # noqa: BLE001 - an unknown name is no reason to fail a document
        return "male"


def decline(full_name: str, case: str, sex: str, language: str = "ru") -> str:
    """`full_name` ("Surname Name Patronymic") in `case` (one of `CASES`; Kazakh knows genitive, dative and
    accusative) for a person of `sex` ('male'/'female'). A name it cannot decline is returned as it is."""
    if case not in CASES:
        raise ValueError(f"unknown case {case!r}")
    if case == "nominative" or not full_name.strip():
        return full_name
    if language == "kk":
        return _kazakh(full_name, case)
    return _russian(full_name, case, sex)


@lru_cache(maxsize=65536)
def _russian(full_name: str, case: str, sex: str) -> str:
    gender = Gender.FEMALE if sex == "female" else Gender.MALE
    words = full_name.split()
    turkic = len(words) > 2 and any(_TURKIC_PATRONYMIC.search(word) for word in words[2:])
    out = []
    for index, word in enumerate(words):
        if index > 2 or (index == 2 and turkic) or _TURKIC_PATRONYMIC.search(word):
            out.append(word)  # a Turkic patronymic, or what follows the three parts
            continue
        out.append(_word(_PARTS[index], gender, _RU_CASES[case], word))
    return " ".join(out)


def _word(part: NamePart, gender: Gender, case: Case, word: str) -> str:
    try:
        declined = _MAKER.make(part, gender, case, word)
    except Exception:  # noqa: BLE001 - a name the rules do not know stays as written rather than failing an order
        return word
    if part is not NamePart.LASTNAME and "-" in word and declined == word:
        return "-".join(_word(part, gender, case, piece) for piece in word.split("-"))
    return declined


# Kazakh -------------------------------------------------------------------------------------------------------

_BACK, _FRONT = set("аоұыяё"), set("әөүіеэ")
_VOWELS = set("аоұыяёәөүіеэиуюАОҰЫЯЁӘӨҮІЕЭИУЮ".lower())
_VOICELESS = set("пфкқтсшщхцч")
_SONORANT = set("лрйжз")  # after these (and и, у): -дың/-ды
_NASAL = set("мнң")
_CYRILLIC = re.compile(r"[а-яёәөүұқғңһі]", re.IGNORECASE)
_POSSESSIVE = re.compile(r"(ұлы|улы|қызы|кызы)$", re.IGNORECASE)


def _front(word: str) -> bool:
    for letter in reversed(word.lower()):
        if letter in _FRONT:
            return True
        if letter in _BACK:
            return False
    return False


def _kazakh(full_name: str, case: str) -> str:
    words = full_name.split()
    last = words[-1]
    if not _CYRILLIC.search(last[-1]):  # a name written in Latin letters: no Kazakh ending is certain
        return full_name
    front, end = _front(last), last.rstrip("ьъЬЪ")[-1:].lower()
    if _POSSESSIVE.search(last):  # Ерланұлы: the possessive form takes -на / -ның / -н
        suffix = {"dative": "на", "genitive": "ның", "accusative": "н"}.get(case, "")
        if front and suffix:
            suffix = suffix.replace("а", "е").replace("ы", "і")
    elif case == "dative":
        suffix = ("ке" if front else "қа") if end in _VOICELESS else ("ге" if front else "ға")
    elif case in ("genitive", "accusative"):
        if end in _SONORANT or end in "иу" or (case == "accusative" and end in _NASAL):
            start = "д"
        elif end in _VOWELS or end in _NASAL:
            start = "н"
        else:
            start = "т"
        vowel = "і" if front else "ы"
        suffix = start + vowel + ("ң" if case == "genitive" else "")
    else:
        suffix = ""
    return " ".join([*words[:-1], last + suffix])
