"""Words that order documents share: how a student is described in Russian and Kazakh, and preambles several kinds
use."""

from students.models import Student

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


def describe_student(student: Student, language: str) -> str:
    group = student.group
    programme = group.programme
    if language == "kk":
        return (
            f"{student.full_name} (ЖСН {student.iin}), {programme.code} «{programme.name_kk}» білім беру "
            f"бағдарламасының {student.course}-курс білім алушысы, {group.name} тобы, "
            f"оқу түрі {STUDY_FORM['kk'][group.study_form]}, оқу тілі {LANGUAGE['kk'][group.language]}, "
            f"{FUNDING['kk'][student.funding]}"
        )
    return (
        f"{student.full_name} (ИИН {student.iin}), обучающегося {student.course} курса "
        f"образовательной программы {programme.code} «{programme.name_ru}», группа {group.name}, "
        f"форма обучения {STUDY_FORM['ru'][group.study_form]}, язык обучения "
        f"{LANGUAGE['ru'][group.language]}, {FUNDING['ru'][student.funding]},"
    )


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
