"""Words that order documents share: how a student is described in Russian and Kazakh, and preambles several kinds
use."""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from students.models import Student
from students.names import decline, sex_of

STUDY_FORM = {
    "ru": {"full_time": "очная", "part_time": "заочная (дистанционная)"},
    "kk": {"full_time": "күндізгі", "part_time": "сырттай (қашықтықтан)"},
}
LANGUAGE = {
    "ru": {"kk": "казахский", "ru": "русский", "en": "английский"},
    "kk": {"kk": "қазақ", "ru": "орыс", "en": "ағылшын"},
}
FUNDING = {
    "ru": {"grant": "государственный грант", "paid": "платная основа", "none": "без финансирования"},
    "kk": {"grant": "мемлекеттік грант", "paid": "ақылы негіз", "none": "қаржыландырусыз"},
}


# "обучающийся" in the case a sentence needs, by sex: the participle that introduces a student in Russian.
STUDENT_RU = {
    "nominative": ("обучающийся", "обучающаяся"),
    "genitive": ("обучающегося", "обучающейся"),
    "dative": ("обучающемуся", "обучающейся"),
    "accusative": ("обучающегося", "обучающуюся"),
    "instrumental": ("обучающимся", "обучающейся"),
    "prepositional": ("обучающемся", "обучающейся"),
}


def sex_word(student: Student, male: str, female: str) -> str:
    """`male` or `female` by the student's sex (the IIN's seventh digit): "вышедшим"/"вышедшей"."""
    return male if sex_of(student.iin) == "male" else female


def student_name(student: Student, case: str = "nominative", language: str = "ru") -> str:
    """The student's full name in `case`, by the student's sex."""
    return decline(student.full_name, case, sex_of(student.iin), language)


def describe_student(student: Student, language: str, case: str = "nominative") -> str:
    """The student as an order item names them: course, programme, the name in `case` (the case the sentence's verb
    needs: "Отчислить" takes the accusative, "Предоставить" the dative), IIN, group, study form, language and
    funding. The Russian text ends with a comma (a kind strips it where the sentence ends)."""
    group = student.group
    programme = group.programme
    if language == "kk":
        return (
            f"{programme.code} «{programme.name_kk or programme.name_ru}» білім беру бағдарламасының "
            f"{student.course}-курс, {group.name} тобының білім алушысы (оқу түрі "
            f"{STUDY_FORM['kk'][group.study_form]}, оқу тілі {LANGUAGE['kk'][group.language]}, "
            f"{FUNDING['kk'][student.funding]}) {student_name(student, case, 'kk')} (ЖСН {student.iin})"
        )
    participle = STUDENT_RU[case][0 if sex_of(student.iin) == "male" else 1]
    return (
        f"{participle} {student.course} курса образовательной программы {programme.code} «{programme.name_ru}» "
        f"{student_name(student, case)} (ИИН {student.iin}), группа {group.name}, "
        f"форма обучения {STUDY_FORM['ru'][group.study_form]}, язык обучения "
        f"{LANGUAGE['ru'][group.language]}, {FUNDING['ru'][student.funding]},"
    )


COHORT_RU = {
    "nominative": "обучающиеся",
    "genitive": "обучающихся",
    "dative": "обучающимся",
    "accusative": "обучающихся",
}
COHORT_KK = {"nominative": "білім алушылары", "genitive": "білім алушыларының", "dative": "білім алушыларына"}


_COHORTS: ContextVar[dict | None] = ContextVar("cohort_texts", default=None)


@contextmanager
def remembering_cohorts() -> Iterator[None]:
    """Within one document's rendering, each group's cohort wording is built once (the thousands of lines of a
    bulk order share a few dozen groups); outside it nothing is remembered, so a renamed group is never stale."""
    token = _COHORTS.set({})
    try:
        yield
    finally:
        _COHORTS.reset(token)


def describe_cohort(student: Student, language: str, case: str = "nominative") -> str:
    """The students of `student`'s programme, course and group, as a bulk item introduces the table listing them
    ("Перевести обучающихся 1 курса образовательной программы … группа …")."""
    group = student.group
    memo = _COHORTS.get()
    if memo is None:
        return _cohort(group, student.course, language, case)
    key = (id(group), student.course, language, case)  # the group objects live as long as the rendering
    text = memo.get(key)
    if text is None:
        text = memo[key] = _cohort(group, student.course, language, case)
    return text


def _cohort(group, course: int, language: str, case: str) -> str:
    programme = group.programme
    if language == "kk":
        return (
            f"{programme.code} «{programme.name_kk or programme.name_ru}» білім беру бағдарламасының "
            f"{course}-курс, {group.name} тобының {COHORT_KK.get(case, COHORT_KK['nominative'])} (оқу түрі "
            f"{STUDY_FORM['kk'][group.study_form]}, оқу тілі {LANGUAGE['kk'][group.language]})"
        )
    return (
        f"{COHORT_RU[case]} {course} курса образовательной программы {programme.code} "
        f"«{programme.name_ru}», группа {group.name}, форма обучения {STUDY_FORM['ru'][group.study_form]}, "
        f"язык обучения {LANGUAGE['ru'][group.language]},"
    )


def funding_words(student: Student, language: str) -> str:
    return FUNDING["kk" if language == "kk" else "ru"][student.funding]


# The preamble of a funding change and of a vacant grant award: the rules on awarding grants and on paid study, and
# the Model Rules.
GRANT_RULES_RU = (
    "В соответствии с Правилами присуждения образовательного гранта, а также предоставления "
    "высшего и (или) послевузовского образования с оплатой обучения, и Типовыми правилами "
    "деятельности организаций высшего и (или) послевузовского образования, утвержденными приказом "
    "Министра образования и науки Республики Казахстан от 30 октября 2018 года № 595,"
)
GRANT_RULES_KK = (
    "Білім беру грантын беру, сондай-ақ ақы төлеп оқыту қағидаларына және Қазақстан Республикасы "
    "Білім және ғылым министрінің 2018 жылғы 30 қазандағы № 595 бұйрығымен бекітілген Жоғары және "
    "(немесе) жоғары оқу орнынан кейінгі білім беру ұйымдары қызметінің үлгілік қағидаларына "
    "сәйкес"
)
