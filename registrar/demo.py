"""The demo university: faculties, programmes, groups, students with valid IINs, one login per role."""

import random
from datetime import date, timedelta

from sqlalchemy import insert

from core.db import db
from core.models import create_user
from students.iin import make_iin
from students.models import Faculty, Group, Programme, Student

FACULTIES = [
    ("IT", "Ақпараттық технологиялар факультеті", "Факультет информационных технологий",
     "Faculty of Information Technology"),
    ("ECO", "Экономика және бизнес факультеті", "Факультет экономики и бизнеса", "Faculty of Economics and Business"),
    ("LAW", "Заң факультеті", "Юридический факультет", "Faculty of Law"),
    ("PED", "Педагогика факультеті", "Педагогический факультет", "Faculty of Education"),
]
PROGRAMMES = [  # faculty code, programme code, kk, ru, en, level, years
    ("IT", "6B06101", "Ақпараттық жүйелер", "Информационные системы", "Information Systems", "bachelor", 4),
    ("IT", "6B06102", "Бағдарламалық инженерия", "Программная инженерия", "Software Engineering", "bachelor", 4),
    ("IT", "6B06301", "Ақпараттық қауіпсіздік", "Информационная безопасность", "Information Security",
     "bachelor", 4),
    ("IT", "7M06101", "Деректер ғылымы", "Наука о данных", "Data Science", "master", 2),
    ("ECO", "6B04101", "Экономика", "Экономика", "Economics", "bachelor", 4),
    ("ECO", "6B04102", "Есеп және аудит", "Учет и аудит", "Accounting and Audit", "bachelor", 4),
    ("ECO", "6B04103", "Қаржы", "Финансы", "Finance", "bachelor", 4),
    ("LAW", "6B04201", "Құқықтану", "Юриспруденция", "Law", "bachelor", 4),
    ("LAW", "6B04202", "Халықаралық құқық", "Международное право", "International Law", "bachelor", 4),
    ("LAW", "7M04201", "Құқықтану (магистратура)", "Юриспруденция (магистратура)", "Law (master)", "master", 2),
    ("PED", "6B01501", "Математика мұғалімдерін даярлау", "Подготовка учителей математики",
     "Mathematics Teacher Education", "bachelor", 4),
    ("PED", "6B01701", "Қазақ тілі мен әдебиеті мұғалімдерін даярлау",
     "Подготовка учителей казахского языка и литературы", "Kazakh Language and Literature Teacher Education",
     "bachelor", 4),
]
KAZAKH_MALE = ["Нұрлан", "Ерлан", "Асқар", "Дәурен", "Ержан", "Бауыржан", "Айдос", "Нұрсұлтан", "Әлихан", "Арман",
               "Самат", "Темірлан", "Данияр", "Мадияр", "Ақжол"]
KAZAKH_FEMALE = ["Айгерім", "Әсел", "Дана", "Жанар", "Гүлнұр", "Аружан", "Мөлдір", "Камила", "Назерке", "Томирис",
                 "Айым", "Динара", "Жансая", "Ақерке", "Балжан"]
KAZAKH_SURNAMES = ["Әбдірахманов", "Серікбаев", "Нұрғалиев", "Жақсылықов", "Омаров", "Сәрсенбаев", "Тоқтаров",
                   "Қасымов", "Бекмұханов", "Ахметов", "Жұмабаев", "Исабеков", "Мұхамеджанов", "Байжанов",
                   "Төлеубаев", "Есенов", "Қайратов", "Мамыров"]
KAZAKH_FATHERS = ["Серік", "Қайрат", "Болат", "Ерлан", "Мұрат", "Нұрлан", "Жомарт", "Бақыт", "Талғат", "Ғалым"]
RUSSIAN_MALE = ["Александр", "Дмитрий", "Максим", "Артём", "Иван", "Никита", "Сергей", "Андрей", "Кирилл", "Павел"]
RUSSIAN_FEMALE = ["Анастасия", "Мария", "Дарья", "Екатерина", "Анна", "Полина", "Виктория", "Елена", "Ксения",
                  "Алина"]
RUSSIAN_SURNAMES = ["Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов",
                    "Новиков", "Фёдоров", "Морозов", "Волков", "Лебедев", "Козлов"]
RUSSIAN_FATHERS = ["Александр", "Сергей", "Владимир", "Андрей", "Игорь", "Олег", "Николай", "Виктор"]
TRANSLIT = str.maketrans({
    "а": "a", "ә": "a", "б": "b", "в": "v", "г": "g", "ғ": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "i", "к": "k", "қ": "q", "л": "l", "м": "m", "н": "n", "ң": "n", "о": "o", "ө": "o", "п": "p",
    "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "u", "ү": "u", "ф": "f", "х": "h", "һ": "h", "ц": "ts", "ч": "ch",
    "ш": "sh", "щ": "sh", "ъ": "", "ы": "y", "і": "i", "ь": "", "э": "e", "ю": "yu", "я": "ya"})


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


def student_rows(groups: list[Group], count: int, seed: int = 2026, start_serial: int = 0) -> list[dict]:
    """`count` students spread over `groups`, with unique valid IINs; plain dicts for a batched INSERT."""
    rng = random.Random(seed)
    rows, serial, used = [], start_serial, set()
    for index in range(count):
        group = groups[index % len(groups)]
        kazakh = group.language == "kk" or (group.language == "en" and rng.random() < 0.6) or rng.random() < 0.3
        surname, first, patronymic, male = _person(rng, kazakh)
        born = date(2008 - group.course, 1, 1) + timedelta(days=rng.randrange(365))
        iin = None
        while iin is None or iin in used:
            serial += 1
            iin = make_iin(born, male, serial)
        used.add(iin)
        login = f"{surname}.{first}".lower().translate(TRANSLIT)
        rows.append({"iin": iin, "surname": surname, "name": first, "patronymic": patronymic,
                     "email": f"{login}.{serial}@students.demo.kz", "group_id": group.id, "course": group.course,
                     "status": "active", "funding": "grant" if rng.random() < 0.55 else "paid"})
    return rows


def seed_demo(students: int = 2000) -> str:
    faculties = {}
    for code, kk, ru, en in FACULTIES:
        faculties[code] = Faculty(code=code, name_kk=kk, name_ru=ru, name_en=en)
    db.session.add_all(faculties.values())
    programmes = []
    for faculty, code, kk, ru, en, level, years in PROGRAMMES:
        programmes.append(Programme(code=code, name_kk=kk, name_ru=ru, name_en=en, level=level,
                                    duration_years=years, faculty=faculties[faculty]))
    db.session.add_all(programmes)
    db.session.flush()
    groups = []
    for programme in programmes:
        for course in range(1, programme.duration_years + 1):
            languages = ("kk", "ru") if programme.level == "bachelor" else ("ru",)
            for language in languages:
                name = f"{programme.code}-{26 - course}{'К' if language == 'kk' else 'Р'}"
                groups.append(Group(name=name, programme_id=programme.id, course=course, language=language,
                                    study_form="full_time"))
    db.session.add_all(groups)
    db.session.flush()
    db.session.execute(insert(Student), student_rows(groups, students))

    create_user("clerk", "demo", "Сапарова Гульмира Ержановна", ["clerk"], position="Специалист Офиса Регистратора",
                email="clerk@demo.kz")
    create_user("registrar", "demo", "Ахметов Канат Болатович", ["registrar"],
                position="Руководитель Офиса Регистратора", email="registrar@demo.kz")
    create_user("lawyer", "demo", "Искакова Мадина Ержановна", ["lawyer"], position="Юрист", email="lawyer@demo.kz")
    create_user("finance", "demo", "Тлеубердиев Арман Кайратович", ["finance"], position="Финансовый отдел",
                email="finance@demo.kz")
    create_user("rector", "demo", "Жумагулов Бакытжан Турсынович", ["rector"], position="Ректор",
                email="rector@demo.kz")
    create_user("admin", "demo", "Администратор системы", ["admin"], position="Администратор", email="admin@demo.kz")
    deans = ["Оспанов Ерлан Маратович", "Ким Светлана Викторовна", "Байтурсынова Динара Асқарқызы",
             "Мухтаров Айдар Серикович"]
    for number, (code, full_name) in enumerate(zip(faculties, deans, strict=True), 1):
        create_user(f"dean{number}", "demo", full_name, ["dean"], faculty_id=faculties[code].id,
                    position=f"Декан ({faculties[code].name_ru})", email=f"dean{number}@demo.kz")
    db.session.flush()
    return (f"seeded {len(faculties)} faculties, {len(programmes)} programmes, {len(groups)} groups, "
            f"{students} students; users clerk, registrar, lawyer, finance, rector, admin, dean1..dean{len(faculties)} "
            f"(password: demo)")
