"""The academic rules' numbers: defaults, a YAML file overriding some of them, and a bad file refused."""

import pytest

from core.rules import DEFAULT_RULES, load_rules


def test_without_a_file_the_defaults_of_the_design_apply():
    rules = load_rules(None)
    assert rules["transfer_gpa"]["bachelor"] == {1: 1.80, 2: 2.00, 3: 2.10, 4: 2.20}
    assert rules["transfer_gpa"]["master"][1] == 2.30
    assert rules["leave_grounds"]["medical"] == {"min_months": 6, "max_months": 12}


def test_a_file_overrides_only_what_it_names(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("transfer_gpa:\n  bachelor: {1: 2.0}\nrepeat_year_loses_grant: false\n", encoding="utf-8")
    rules = load_rules(str(path))
    assert rules["transfer_gpa"]["bachelor"] == {1: 2.0, 2: 2.00, 3: 2.10, 4: 2.20}
    assert rules["transfer_gpa"]["doctoral"] == DEFAULT_RULES["transfer_gpa"]["doctoral"]
    assert rules["repeat_year_loses_grant"] is False
    assert DEFAULT_RULES["transfer_gpa"]["bachelor"][1] == 1.80  # the defaults themselves are untouched


def test_an_unknown_rule_is_refused_with_the_known_ones_named(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("transfer_gap: {}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="unknown rules transfer_gap; known: grade_scale, transfer_gpa"):
        load_rules(str(path))


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="must be a mapping"):
        load_rules(str(path))


def test_dates_written_plainly_in_yaml_are_kept_as_iso_text(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text(
        "scholarship_amounts:\n  - {from: 2024-09-01, bachelor: 47135, bachelor_excellent: 54205,"
        " master: 107061, master_excellent: 123120}\n  - {from: 2025-09-01, bachelor: 50000,"
        " bachelor_excellent: 57500, master: 110000, master_excellent: 126500}\n",
        encoding="utf-8",
    )
    rules = load_rules(str(path))
    assert [table["from"] for table in rules["scholarship_amounts"]] == ["2024-09-01", "2025-09-01"]


def test_a_university_scale_moves_the_letters_and_the_pass_mark(app, tmp_path):
    from students.grades import letter_for, pass_points

    path = tmp_path / "rules.yaml"
    path.write_text("grade_scale:\n  D: [53, 1.0]\n  FX: [30, 0.5]\n", encoding="utf-8")
    rules = load_rules(str(path))
    assert rules["grade_scale"]["D"] == [53, 1.0] and rules["grade_scale"]["A"] == [95, 4.0]
    assert letter_for(52) == ("D", 1.0)  # under the default scale
    saved = app.config["RULES"]
    app.config["RULES"] = rules
    try:
        with app.app_context():
            assert letter_for(52) == ("FX", 0.5)
            assert letter_for(53) == ("D", 1.0)
            assert pass_points() == 53
    finally:
        app.config["RULES"] = saved


@pytest.mark.parametrize(
    "text, message",
    [
        ("grade_scale:\n  E: [40, 0.8]\n", "exactly the letters"),
        ("grade_scale:\n  D: [80, 1.0]\n", "must fall from A to F"),
        ("grade_scale:\n  F: [5, 0.0]\n", "F must start at 0"),
        ("grade_scale:\n  A: [95]\n", "lowest points 0-100, grade point 0-4"),
    ],
)
def test_a_scale_out_of_order_is_refused(tmp_path, text, message):
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        load_rules(str(path))
