"""The numbers of the academic rules (DESIGN.md section 2), each a setting with its default.

Defaults live in `DEFAULT_RULES`; a university overrides any of them with a YAML file named by
`REGISTRAR_RULES_FILE` (same keys; nested mappings are merged key by key). Code reads them with `rule("name")`,
so a test or a deployment changes a threshold without touching code. Amounts that change over time (issue 4) carry
the date they take effect.
"""

from copy import deepcopy
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from flask import current_app

DEFAULT_RULES: dict[str, Any] = {
    # The letter-grade scale: letter -> [lowest points, grade point]. The letters are fixed (the grades table checks
    # them); their bounds and points are the university's. FX and F are academic debt.
    "grade_scale": {
        "A": [95, 4.0],
        "A-": [90, 3.67],
        "B+": [85, 3.33],
        "B": [80, 3.0],
        "B-": [75, 2.67],
        "C+": [70, 2.33],
        "C": [65, 2.0],
        "C-": [60, 1.67],
        "D+": [55, 1.33],
        "D": [50, 1.0],
        "FX": [25, 0.5],
        "F": [0, 0.0],
    },
    # Course promotion: the GPA a student needs to move from course N to N+1, per level.
    "transfer_gpa": {
        "bachelor": {1: 1.80, 2: 2.00, 3: 2.10, 4: 2.20},
        "master": {1: 2.30},
        "doctoral": {1: 2.33, 2: 2.67},
    },
    # Repeat year: a grant student who repeats a year loses the grant (pays) unless this is False.
    "repeat_year_loses_grant": True,
    # Academic leave: grounds and their longest duration in months (None: until the child is 3 / term of service).
    "leave_grounds": {
        "medical": {"min_months": 6, "max_months": 12},
        "tuberculosis": {"min_months": 1, "max_months": 36},
        "military": {"min_months": 1, "max_months": 24},
        "child_care": {"min_months": 1, "max_months": 36},
    },
    # Child care leave: lasts at most until the child reaches this age.
    "child_care_until_age": 3,
    # Return from leave: the application comes at least this many days before classes.
    "return_notice_days": 14,
    # Scholarship during academic leave: suspended, except on these grounds.
    "scholarship_kept_on_leave": ["medical"],
    # Money (issue 4). Amounts are tables dated by the day they take effect: an order takes the table in force on
    # the first month it pays, and keeps it, so a later increase never changes an order signed before it.
    "scholarship_amounts": [  # state scholarship, KZT per month
        {
            "from": "2024-09-01",
            "bachelor": 47135,
            "bachelor_excellent": 54205,
            "master": 107061,
            "master_excellent": 123120,
        },
    ],
    # Monthly calculation index (MRP), KZT, per calendar year; travel compensation is a number of MRP.
    "mrp": {2024: 3692, 2025: 3932, 2026: 4325},
    "travel_compensation_mrp": 4,
    # Transfers and restorations take effect only in a holiday window of the academic calendar.
    "transfer_in_holidays_only": True,
    "transfer_within_keeps_grant": True,  # a grant follows a transfer to another programme (False: it becomes paid)
    "restoration_funding": "paid",  # the funding a restored student studies on
    # Course promotion refused: a student goes to expulsion (academic failure) instead of a repeat year when the
    # academic debts (FX/F not retaken) exceed this many credits, or when the student already repeated this course.
    "promotion_expulsion_debt_credits": 30,
    "repeat_year_max_per_course": 1,
    # President's and personal scholarships (issue 4): monthly amounts per level as dated tables (like
    # scholarship_amounts; placeholders for the figures of the decree in force), the quota per university and per
    # faculty (faculty code -> places; a faculty not named has no own cap), and the first course eligible per level
    # (a level not named is never eligible).
    "president_scholarship_amounts": [
        {"from": "2024-09-01", "bachelor": 94270, "master": 160592},
    ],
    "personal_scholarship_amounts": [
        {"from": "2024-09-01", "bachelor": 70703, "master": 133826},
    ],
    "president_scholarship_quota": {"university": 10, "faculties": {}},
    "personal_scholarship_quota": {"university": 20, "faculties": {}},
    "personal_scholarship_min_course": {"bachelor": 3, "master": 2},
    # Vacant state grant competition: the ministry's deadlines for the council's ranking list (month-day).
    "vacant_grant_deadlines": ["08-05", "01-15"],
}


def load_rules(path: str | None) -> dict[str, Any]:
    """The defaults overridden by the YAML file at `path` (when given); a bad file stops the app at start."""
    rules = deepcopy(DEFAULT_RULES)
    if not path:
        return rules
    loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"{path}: the rules file must be a mapping of rule names to values")
    unknown = sorted(set(loaded) - set(DEFAULT_RULES))
    if unknown:
        raise ValueError(f"{path}: unknown rules {', '.join(unknown)}; known: {', '.join(DEFAULT_RULES)}")
    for name, value in loaded.items():
        rules[name] = _merge(rules[name], _iso_dates(value))
    _check_scale(path, rules["grade_scale"])
    return rules


def _check_scale(path: str, scale: dict) -> None:
    """The scale keeps the twelve letters, each with 0..100 lowest points and a 0..4 grade point, in order."""
    if set(scale) != set(DEFAULT_RULES["grade_scale"]):
        raise ValueError(f"{path}: grade_scale must give exactly the letters {', '.join(DEFAULT_RULES['grade_scale'])}")
    bounds = [scale[letter] for letter in DEFAULT_RULES["grade_scale"]]
    if any(not (isinstance(b, list) and len(b) == 2 and 0 <= b[0] <= 100 and 0 <= b[1] <= 4) for b in bounds):
        raise ValueError(f"{path}: each grade_scale letter takes [lowest points 0-100, grade point 0-4]")
    lows = [b[0] for b in bounds]
    if lows != sorted(lows, reverse=True) or len(set(lows)) != len(lows) or lows[-1] != 0:
        raise ValueError(f"{path}: grade_scale lowest points must fall from A to F and F must start at 0")


def _iso_dates(value: Any) -> Any:
    """YAML reads `from: 2025-09-01` as a date; the rules keep dates as ISO text, as the defaults do."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _iso_dates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_iso_dates(item) for item in value]
    return value


def _merge(default: Any, value: Any) -> Any:
    if isinstance(default, dict) and isinstance(value, dict):
        merged = dict(default)
        for key, item in value.items():
            merged[key] = _merge(default.get(key), item)
        return merged
    return value


def rule(name: str) -> Any:
    """The current value of one rule, from the app's configuration."""
    return current_app.config["RULES"][name]
