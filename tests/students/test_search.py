"""Finding students by Cyrillic name, IIN or group, within what the user may see."""

from students.operations import search_students


def test_search_finds_cyrillic_names_in_any_case_iin_prefix_and_group(make, uni):
    aigerim = make.student(uni.ga, surname="Әбдірахманова", name="Айгерім")
    ivan = make.student(uni.gb, surname="Иванов", name="Иван")
    clerk = uni.clerk
    assert search_students(clerk, "әбдірахманова") == [aigerim]
    assert search_students(clerk, "ӘБДІР айгер") == [aigerim]
    assert search_students(clerk, "иванов") == [ivan]
    assert ivan in search_students(clerk, ivan.iin[:8])
    assert search_students(clerk, ivan.iin) == [ivan]
    assert search_students(clerk, uni.gb.name) == [ivan]
    assert search_students(clerk, "   ") == []


def test_a_dean_finds_only_students_of_own_faculty(make, uni):
    own = make.student(uni.ga, surname="Серікбаев")
    make.student(uni.gb, surname="Серікбаев")
    assert search_students(uni.dean_a, "серікбаев") == [own]
    assert search_students(uni.admin, "серікбаев") == []
