"""The demo university: faculties, programmes, groups, students with valid IINs, one login per role."""

import random
from datetime import date, timedelta

from sqlalchemy import insert

from core.clock import today
from core.db import db
from core.models import create_user
from registrar.demo_history import YEARS, Seeder, academic_start, grade_rows, insert_people, plan
from students.academic import AcademicCalendar, CurriculumItem, Grade
from students.grades import grade_values
from students.iin import make_iin
from students.models import Faculty, Group, Programme

FACULTIES = [
    (
        "IT",
        "Ақпараттық технологиялар факультеті",
        "Факультет информационных технологий",
        "Faculty of Information Technology",
    ),
    ("ECO", "Экономика және бизнес факультеті", "Факультет экономики и бизнеса", "Faculty of Economics and Business"),
    ("LAW", "Заң факультеті", "Юридический факультет", "Faculty of Law"),
    ("PED", "Педагогика факультеті", "Педагогический факультет", "Faculty of Education"),
]
PROGRAMMES = [  # faculty code, programme code, kk, ru, en, level, years
    ("IT", "6B06101", "Ақпараттық жүйелер", "Информационные системы", "Information Systems", "bachelor", 4),
    ("IT", "6B06102", "Бағдарламалық инженерия", "Программная инженерия", "Software Engineering", "bachelor", 4),
    ("IT", "6B06301", "Ақпараттық қауіпсіздік", "Информационная безопасность", "Information Security", "bachelor", 4),
    ("IT", "7M06101", "Деректер ғылымы", "Наука о данных", "Data Science", "master", 2),
    ("ECO", "6B04101", "Экономика", "Экономика", "Economics", "bachelor", 4),
    ("ECO", "6B04102", "Есеп және аудит", "Учет и аудит", "Accounting and Audit", "bachelor", 4),
    ("ECO", "6B04103", "Қаржы", "Финансы", "Finance", "bachelor", 4),
    ("LAW", "6B04201", "Құқықтану", "Юриспруденция", "Law", "bachelor", 4),
    ("LAW", "6B04202", "Халықаралық құқық", "Международное право", "International Law", "bachelor", 4),
    ("LAW", "7M04201", "Құқықтану (магистратура)", "Юриспруденция (магистратура)", "Law (master)", "master", 2),
    (
        "PED",
        "6B01501",
        "Математика мұғалімдерін даярлау",
        "Подготовка учителей математики",
        "Mathematics Teacher Education",
        "bachelor",
        4,
    ),
    (
        "PED",
        "6B01701",
        "Қазақ тілі мен әдебиеті мұғалімдерін даярлау",
        "Подготовка учителей казахского языка и литературы",
        "Kazakh Language and Literature Teacher Education",
        "bachelor",
        4,
    ),
]
KAZAKH_MALE = [
    "Нұрлан",
    "Ерлан",
    "Асқар",
    "Дәурен",
    "Ержан",
    "Бауыржан",
    "Айдос",
    "Нұрсұлтан",
    "Әлихан",
    "Арман",
    "Самат",
    "Темірлан",
    "Данияр",
    "Мадияр",
    "Ақжол",
]
KAZAKH_FEMALE = [
    "Айгерім",
    "Әсел",
    "Дана",
    "Жанар",
    "Гүлнұр",
    "Аружан",
    "Мөлдір",
    "Камила",
    "Назерке",
    "Томирис",
    "Айым",
    "Динара",
    "Жансая",
    "Ақерке",
    "Балжан",
]
KAZAKH_SURNAMES = [
    "Әбдірахманов",
    "Серікбаев",
    "Нұрғалиев",
    "Жақсылықов",
    "Омаров",
    "Сәрсенбаев",
    "Тоқтаров",
    "Қасымов",
    "Бекмұханов",
    "Ахметов",
    "Жұмабаев",
    "Исабеков",
    "Мұхамеджанов",
    "Байжанов",
    "Төлеубаев",
    "Есенов",
    "Қайратов",
    "Мамыров",
]
KAZAKH_FATHERS = ["Серік", "Қайрат", "Болат", "Ерлан", "Мұрат", "Нұрлан", "Жомарт", "Бақыт", "Талғат", "Ғалым"]
RUSSIAN_MALE = ["Александр", "Дмитрий", "Максим", "Артём", "Иван", "Никита", "Сергей", "Андрей", "Кирилл", "Павел"]
RUSSIAN_FEMALE = ["Анастасия", "Мария", "Дарья", "Екатерина", "Анна", "Полина", "Виктория", "Елена", "Ксения", "Алина"]
RUSSIAN_SURNAMES = [
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Лебедев",
    "Козлов",
]
RUSSIAN_FATHERS = ["Александр", "Сергей", "Владимир", "Андрей", "Игорь", "Олег", "Николай", "Виктор"]
TRANSLIT = str.maketrans(
    {
        "а": "a",
        "ә": "a",
        "б": "b",
        "в": "v",
        "г": "g",
        "ғ": "g",
        "д": "d",
        "е": "e",
        "ё": "e",
        "ж": "zh",
        "з": "z",
        "и": "i",
        "й": "i",
        "к": "k",
        "қ": "q",
        "л": "l",
        "м": "m",
        "н": "n",
        "ң": "n",
        "о": "o",
        "ө": "o",
        "п": "p",
        "р": "r",
        "с": "s",
        "т": "t",
        "у": "u",
        "ұ": "u",
        "ү": "u",
        "ф": "f",
        "х": "h",
        "һ": "h",
        "ц": "ts",
        "ч": "ch",
        "ш": "sh",
        "щ": "sh",
        "ъ": "",
        "ы": "y",
        "і": "i",
        "ь": "",
        "э": "e",
        "ю": "yu",
        "я": "ya",
    }
)


def _feminine(surname: str) -> str:
    return surname + "а" if surname.endswith(("ов", "ев", "ёв", "ин")) else surname


def _patronymic(father: str, male: bool, kazakh: bool) -> str:
    if kazakh:
        return f"{father}ұлы" if male else f"{father}қызы"
    stem = father[:-1] + "е" if father.endswith("й") else father
    if father.endswith("й"):
        return stem + ("вич" if male else "вна")
    return father + ("ович" if male else "овна")


def _person(rng: random.Random, kazakh: bool) -> tuple[str, str, str, bool]:
    male = rng.random() < 0.5
    if kazakh:
        first = rng.choice(KAZAKH_MALE if male else KAZAKH_FEMALE)
        surname = rng.choice(KAZAKH_SURNAMES)
        father = rng.choice(KAZAKH_FATHERS)
    else:
        first = rng.choice(RUSSIAN_MALE if male else RUSSIAN_FEMALE)
        surname = rng.choice(RUSSIAN_SURNAMES)
        father = rng.choice(RUSSIAN_FATHERS)
    return (surname if male else _feminine(surname)), first, _patronymic(father, male, kazakh), male


def student_rows(
    groups: list[Group],
    count: int,
    seed: int = 2026,
    start_serial: int = 0,
    used: set[str] | None = None,
    birth_years: list[int] | None = None,
) -> list[dict]:
    """`count` students spread over `groups`, with unique valid IINs (also unlike those in `used`, which grows);
    born in `birth_years` (one per student) or as today's students of their group's course; plain dicts for a
    batched INSERT."""
    # Seeded on purpose so that the demo data is the same on every run; nothing secret comes from it.
    rng = random.Random(seed)  # nosec B311
    rows, serial = [], start_serial
    used = set() if used is None else used
    for index in range(count):
        group = groups[index % len(groups)]
        kazakh = group.language == "kk" or (group.language == "en" and rng.random() < 0.6) or rng.random() < 0.3
        surname, first, patronymic, male = _person(rng, kazakh)
        born_in = birth_years[index] if birth_years else 2008 - group.course
        born = date(born_in, 1, 1) + timedelta(days=rng.randrange(365))
        iin = None
        while iin is None or iin in used:
            serial += 1
            iin = make_iin(born, male, serial)
        used.add(iin)
        login = f"{surname}.{first}".lower().translate(TRANSLIT)
        rows.append(
            {
                "iin": iin,
                "surname": surname,
                "name": first,
                "patronymic": patronymic,
                "email": f"{login}.{serial}@students.demo.kz",
                "group_id": group.id,
                "course": group.course,
                "status": "active",
                "funding": "grant" if rng.random() < 0.55 else "paid",
            }
        )
    return rows


DISCIPLINES = [  # kk, ru, en: three per semester, cycled
    ("Математика", "Математика", "Mathematics"),
    ("Қазақстан тарихы", "История Казахстана", "History of Kazakhstan"),
    ("Шетел тілі", "Иностранный язык", "Foreign Language"),
    ("Философия", "Философия", "Philosophy"),
    ("Информатика", "Информатика", "Computer Science"),
    ("Экономика негіздері", "Основы экономики", "Foundations of Economics"),
    ("Құқық негіздері", "Основы права", "Foundations of Law"),
    ("Статистика", "Статистика", "Statistics"),
    ("Психология", "Психология", "Psychology"),
]


def year_calendar(start: int, **changes) -> AcademicCalendar:
    """The academic year starting 1 September `start`: sessions in December-January and May-June, winter holidays
    late January, summer holidays July-August (the windows for transfers and restorations); `changes` set other
    dates (the tests' calendars)."""
    values = dict(
        year=f"{start}-{start + 1}",
        first_semester_start=date(start, 9, 1),
        first_session_start=date(start, 12, 15),
        first_session_end=date(start + 1, 1, 10),
        first_semester_end=date(start + 1, 1, 17),
        winter_holidays_start=date(start + 1, 1, 18),
        winter_holidays_end=date(start + 1, 2, 1),
        second_semester_start=date(start + 1, 2, 2),
        second_session_start=date(start + 1, 5, 11),
        second_session_end=date(start + 1, 5, 31),
        second_semester_end=date(start + 1, 6, 6),
        summer_holidays_start=date(start + 1, 7, 1),
        summer_holidays_end=date(start + 1, 8, 31),
        summer_semester_start=date(start + 1, 6, 8),
        summer_semester_end=date(start + 1, 6, 27),
    )
    return AcademicCalendar(**{**values, **changes})


def _seed_curriculum(programmes: list[Programme], years: range) -> dict[int, dict[int, list[tuple]]]:
    """Calendars of the academic years `years` and three disciplines per semester of every programme; returns the
    curriculum as {programme id: {semester: [(code, Russian name)]}}."""
    db.session.add_all([year_calendar(year) for year in years])
    curriculum: dict[int, dict[int, list[tuple]]] = {}
    rows = []
    for programme in programmes:
        for semester in range(1, 2 * programme.duration_years + 1):
            for slot in range(3):
                kk, ru, en = DISCIPLINES[(semester * 3 + slot) % len(DISCIPLINES)]
                code = f"{programme.code[-5:]}-{semester}{slot + 1}"
                rows.append(
                    {
                        "programme_id": programme.id,
                        "semester": semester,
                        "code": code,
                        "name_kk": kk,
                        "name_ru": ru,
                        "name_en": en,
                        "credits": 5,
                    }
                )
                curriculum.setdefault(programme.id, {}).setdefault(semester, []).append((code, ru))
    db.session.execute(insert(CurriculumItem), rows)
    return curriculum


def _current_grades(
    students: list[tuple[int, int, int]], curriculum: dict, this_year: int, seed: int = 2026
) -> list[dict]:
    """Grades of today's students (id, course, programme id) for each semester of their course so far, the current
    year's too (so that the year-end orders can be tried): mostly good, some satisfactory, an FX in about one grade
    in a hundred this year. The earlier years' grades are C+ and up (the years they were promoted in)."""
    # Seeded on purpose so that the demo data is the same on every run; nothing secret comes from it.
    rng = random.Random(seed)  # nosec B311
    grades = []
    for student_id, course, programme_id in students:
        strength = rng.choice((96, 90, 84, 78, 72))
        for semester in range(1, 2 * course + 1):
            year = this_year - (course - (semester + 1) // 2)
            for code, name in curriculum[programme_id][semester]:
                points = max(0, min(100, strength + rng.randint(-12, 8)))
                if rng.random() < 0.01:
                    points = rng.randint(30, 49)  # an FX: an academic debt
                if year < this_year:
                    points = max(points, 70)
                grades.append(
                    {"student_id": student_id, **grade_values(code, name, semester, f"{year}-{year + 1}", points)}
                )
    return grades


def seed_demo(students: int = 2000) -> str:
    """The demo university with five years of history (see `registrar/demo_history.py`): `students` studying today,
    plus the graduates and the students who left. Returns a summary line."""
    this_year = academic_start(today())
    faculties = {}
    for code, kk, ru, en in FACULTIES:
        faculties[code] = Faculty(code=code, name_kk=kk, name_ru=ru, name_en=en)
    db.session.add_all(faculties.values())
    programmes = []
    for faculty, code, kk, ru, en, level, years in PROGRAMMES:
        programmes.append(
            Programme(
                code=code,
                name_kk=kk,
                name_ru=ru,
                name_en=en,
                level=level,
                duration_years=years,
                faculty=faculties[faculty],
            )
        )
    db.session.add_all(programmes)
    db.session.flush()
    groups = []
    for programme in programmes:
        for course in range(1, programme.duration_years + 1):
            languages = ("kk", "ru") if programme.level == "bachelor" else ("ru",)
            for language in languages:
                name = f"{programme.code}-{26 - course}{'К' if language == 'kk' else 'Р'}"
                groups.append(
                    Group(
                        name=name, programme_id=programme.id, course=course, language=language, study_form="full_time"
                    )
                )
    db.session.add_all(groups)
    db.session.flush()
    create_user(
        "clerk",
        "demo",
        "Сапарова Гульмира Ержановна",
        ["clerk"],
        position="Специалист Офиса Регистратора",
        email="clerk@demo.kz",
    )
    create_user(
        "registrar",
        "demo",
        "Ахметов Канат Болатович",
        ["registrar"],
        position="Руководитель Офиса Регистратора",
        email="registrar@demo.kz",
    )
    create_user("lawyer", "demo", "Искакова Мадина Ержановна", ["lawyer"], position="Юрист", email="lawyer@demo.kz")
    create_user(
        "finance",
        "demo",
        "Тлеубердиев Арман Кайратович",
        ["finance"],
        position="Финансовый отдел",
        email="finance@demo.kz",
    )
    create_user(
        "rector", "demo", "Жумагулов Бакытжан Турсынович", ["rector"], position="Ректор", email="rector@demo.kz"
    )
    create_user("admin", "demo", "Администратор системы", ["admin"], position="Администратор", email="admin@demo.kz")
    deans = [
        "Оспанов Ерлан Маратович",
        "Ким Светлана Викторовна",
        "Байтурсынова Динара Асқарқызы",
        "Мухтаров Айдар Серикович",
    ]
    for number, (code, full_name) in enumerate(zip(faculties, deans, strict=True), 1):
        create_user(
            f"dean{number}",
            "demo",
            full_name,
            ["dean"],
            faculty_id=faculties[code].id,
            position=f"Декан ({faculties[code].name_ru})",
            email=f"dean{number}@demo.kz",
        )
    db.session.flush()

    current = student_rows(groups, students)
    used = {row["iin"] for row in current}

    def extra_rows(cohorts: list[tuple[Group, int]]) -> list[dict]:
        return student_rows(
            [group for group, _year in cohorts],
            len(cohorts),
            seed=2027,
            start_serial=50000,
            used=used,
            birth_years=[admitted - 19 for _group, admitted in cohorts],
        )

    # Seeded on purpose so that the demo data is the same on every run; nothing secret comes from it.
    rng = random.Random(2028)  # nosec B311
    history = plan(current, extra_rows, programmes, groups, this_year, rng)
    insert_people(history.people)
    curriculum = _seed_curriculum(programmes, range(this_year - YEARS, this_year + 1))
    today_students = history.people[: len(current)]
    grades = _current_grades([(p.id, p.last_course, p.programme.id) for p in today_students], curriculum, this_year)
    grades += grade_rows(history.people[len(current) :], curriculum, rng)
    # the years promoted in are graded before they are played out; this year's grades (and their FX) after
    this_years = f"{this_year}-{this_year + 1}"
    if grades:
        db.session.execute(insert(Grade), [g for g in grades if g["academic_year"] != this_years])
    orders = Seeder(this_year).run(history)
    if grades:
        db.session.execute(insert(Grade), [g for g in grades if g["academic_year"] == this_years])
    db.session.flush()
    return (
        f"seeded {len(faculties)} faculties, {len(programmes)} programmes, {len(groups)} groups, "
        f"{students} students and {len(history.people) - students} who graduated or left in {YEARS} years of "
        f"history ({orders} signed orders); users clerk, registrar, lawyer, finance, rector, admin, "
        f"dean1..dean{len(faculties)} (password: demo)"
    )
