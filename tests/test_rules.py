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
    with pytest.raises(ValueError, match="unknown rules transfer_gap; known: transfer_gpa"):
        load_rules(str(path))


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path):
    path = tmp_path / "rules.yaml"
    path.write_text("- 1\n- 2\n", encoding="utf-8")
    with pytest.raises(ValueError, match="must be a mapping"):
        load_rules(str(path))
