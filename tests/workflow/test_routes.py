"""Routes as versioned data: orders keep the version they were submitted on, bad definitions are refused with a
reason, and the step modes (one, per_faculty, n_of_m) decide how many visas from whom move an order on."""

import pytest
from sqlalchemy import select

from core.db import db
from core.models import create_user
from tests.conftest import sign, visa_until_signature
from workflow.engine import Refused, fire, legal_triggers, machine_for, pending_approvals, route_of
from workflow.models import AuditEvent, Visa
from workflow.routes import DEFAULT_ROUTES, RouteError, get_route, latest_version, route_from_dict, save_route_version


def legal_with(*steps: dict) -> dict:
    """A definition of the `legal` route with these steps (for a new version)."""
    return {"name": "legal", "description": "test version", "steps": list(steps)}


def with_finance() -> dict:
    """Version 1 of `legal` with a finance visa after the lawyer's."""
    data = DEFAULT_ROUTES["legal"].as_dict()
    data["steps"].append({"name": "finance", "roles": ["finance"], "mode": "one", "n": 1, "due_days": 2})
    return data


def events_of(order) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.order_id == order.id).order_by(AuditEvent.id)))


def approved_visas(order) -> list[Visa]:
    return list(
        db.session.scalars(select(Visa).where(Visa.order_id == order.id, Visa.decision == "approved").order_by(Visa.id))
    )


# Versions -------------------------------------------------------------------------------------------------------


def test_defaults_are_version_one_of_each_route():
    assert set(DEFAULT_ROUTES) == {"movement", "legal", "money"}
    steps = {name: [(s.name, s.roles, s.mode) for s in route.steps] for name, route in DEFAULT_ROUTES.items()}
    assert steps == {
        "movement": [("dean", ("dean",), "per_faculty"), ("registrar", ("registrar",), "one")],
        "legal": [
            ("dean", ("dean",), "per_faculty"),
            ("registrar", ("registrar",), "one"),
            ("lawyer", ("lawyer",), "one"),
        ],
        "money": [
            ("dean", ("dean",), "per_faculty"),
            ("registrar", ("registrar",), "one"),
            ("finance", ("finance",), "one"),
        ],
    }
    assert {route.signer_role for route in DEFAULT_ROUTES.values()} == {"rector"}
    assert {route.version for route in DEFAULT_ROUTES.values()} == {1}


def test_an_order_in_flight_finishes_on_its_version_while_a_new_one_takes_the_new_version(uni, make):
    in_flight = make.order(uni.clerk, [make.student(uni.ga)])
    fire(in_flight, "submit", uni.clerk)
    fire(in_flight, "approve", uni.dean_a)
    assert (in_flight.route_name, in_flight.route_version, in_flight.state) == ("legal", 1, "review_registrar")

    saved = save_route_version(with_finance(), uni.admin.id)
    assert (saved.name, saved.version) == ("legal", 2)
    assert [s.name for s in saved.steps] == ["dean", "registrar", "lawyer", "finance"]
    assert latest_version("legal") == 2 and get_route("legal") == saved
    assert get_route("legal", 1) == DEFAULT_ROUTES["legal"]  # the old version is still there, unchanged

    # The order in flight: registrar, lawyer, then straight to the rector, as version 1 said; no finance visa.
    fire(in_flight, "approve", uni.registrar)
    assert fire(in_flight, "approve", uni.lawyer) == "awaiting_signature"
    assert "approve" not in legal_triggers(in_flight, uni.finance)
    assert fire(in_flight, "sign", uni.rector) == "signed"
    assert in_flight.route_version == 1
    assert {e.route_version for e in events_of(in_flight)} == {1}
    assert [v.step for v in approved_visas(in_flight)] == ["dean", "registrar", "lawyer"]

    # A new order submitted after the change travels version 2 and needs the finance visa.
    new = make.order(uni.clerk, [make.student(uni.ga)])
    fire(new, "submit", uni.clerk)
    assert (new.route_version, new.state) == (2, "review_dean")
    for approver, after in (
        (uni.dean_a, "review_registrar"),
        (uni.registrar, "review_lawyer"),
        (uni.lawyer, "review_finance"),
    ):
        assert fire(new, "approve", approver) == after
    assert pending_approvals(new) == [("finance", None)]
    assert "sign" not in legal_triggers(new, uni.rector)
    with pytest.raises(Refused) as refused:
        fire(new, "sign", uni.rector)
    assert refused.value.status == 409 and refused.value.refusals[0].rule == "state.invalid"
    assert fire(new, "approve", uni.finance) == "awaiting_signature"
    assert fire(new, "sign", uni.rector) == "signed"
    assert {e.route_version for e in events_of(new)} == {2}
    assert [v.step for v in approved_visas(new)] == ["dean", "registrar", "lawyer", "finance"]


def test_a_draft_written_before_the_change_is_submitted_on_the_latest_version(uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga)])
    save_route_version(with_finance(), uni.admin.id)
    fire(order, "submit", uni.clerk)
    assert order.route_version == 2
    visa_until_signature(order, uni)
    assert [v.step for v in approved_visas(order)] == ["dean", "registrar", "lawyer", "finance"]


def test_a_returned_order_is_resubmitted_on_the_latest_version(uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga)])
    fire(order, "submit", uni.clerk)
    save_route_version(with_finance(), uni.admin.id)
    fire(order, "return", uni.dean_a, comment="Приложите заявление")
    assert order.route_version == 1
    fire(order, "submit", uni.clerk)
    assert (order.route_version, order.round) == (2, 2)
    assert [e.route_version for e in events_of(order)] == [1, 1, 2]


def test_each_version_has_its_own_shared_machine(uni):
    saved = save_route_version(with_finance(), uni.admin.id)
    old, new = machine_for(DEFAULT_ROUTES["legal"]), machine_for(saved)
    assert old is not new
    assert machine_for(get_route("legal", 2)) is new  # built once, shared by every order on that version
    assert "review_finance" in new.states and "review_finance" not in old.states


def test_saved_versions_count_up_and_an_unknown_version_is_refused(uni):
    assert save_route_version(legal_with({"name": "lawyer", "roles": ["lawyer"]}), None).version == 2
    assert save_route_version(legal_with({"name": "registrar", "roles": ["registrar"]}), uni.admin.id).version == 3
    assert [s.name for s in get_route("legal", 2).steps] == ["lawyer"]
    assert [s.name for s in get_route("legal").steps] == ["registrar"]
    with pytest.raises(RouteError, match="no version 9 of route legal"):
        get_route("legal", 9)
    with pytest.raises(RouteError, match="no version 1 of route nowhere"):
        get_route("nowhere", 1)


def test_a_route_without_steps_goes_straight_to_the_signature(uni, make):
    save_route_version(legal_with(), uni.admin.id)
    order = make.order(uni.clerk, [make.student(uni.ga)])
    assert fire(order, "submit", uni.clerk) == "awaiting_signature"
    assert fire(order, "sign", uni.rector) == "signed"


# Validation -----------------------------------------------------------------------------------------------------

GOOD_STEP = {"name": "registrar", "roles": ["registrar"]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (["not", "a", "mapping"], "A route is a mapping with name and steps."),
        ({"steps": []}, "The route needs a name of letters, digits and underscores."),
        ({"name": "two words", "steps": []}, "The route needs a name of letters, digits and underscores."),
        ({"name": "legal"}, "The route needs a list of steps"),
        ({"name": "legal", "steps": "dean, rector"}, "The route needs a list of steps"),
        ({"name": "legal", "steps": ["dean"]}, "Step 1 is not a mapping."),
        ({"name": "legal", "steps": [GOOD_STEP, {"roles": ["lawyer"]}]}, "Step 2 needs a unique name"),
        ({"name": "legal", "steps": [GOOD_STEP, GOOD_STEP]}, "Step 2 needs a unique name"),
        ({"name": "legal", "steps": [{"name": "x-y", "roles": ["lawyer"]}]}, "Step 1 needs a unique name"),
        ({"name": "legal", "steps": [{"name": "legal", "roles": []}]}, "Step legal: roles must be some of"),
        ({"name": "legal", "steps": [{"name": "boss", "roles": ["president"]}]}, "Step boss: roles must be some of"),
        ({"name": "legal", "steps": [{"name": "it", "roles": ["admin"]}]}, "Step it: roles must be some of"),
        (
            {"name": "legal", "steps": [{**GOOD_STEP, "mode": "all"}]},
            "Step registrar: mode must be one of one, per_faculty, n_of_m.",
        ),
        (
            {"name": "legal", "steps": [{**GOOD_STEP, "mode": "per_faculty"}]},
            "Step registrar: a per-faculty step is for the role dean only.",
        ),
        (
            {"name": "legal", "steps": [{**GOOD_STEP, "mode": "n_of_m", "n": 0}]},
            "Step registrar: n must be a whole number from 1 to 60.",
        ),
        (
            {"name": "legal", "steps": [{**GOOD_STEP, "n": "2"}]},
            "Step registrar: n must be a whole number from 1 to 60.",
        ),
        (
            {"name": "legal", "steps": [{**GOOD_STEP, "n": True}]},
            "Step registrar: n must be a whole number from 1 to 60.",
        ),
        (
            {"name": "legal", "steps": [{**GOOD_STEP, "due_days": 0}]},
            "Step registrar: due_days must be a whole number from 1 to 60.",
        ),
        (
            {"name": "legal", "steps": [{**GOOD_STEP, "due_days": 61}]},
            "Step registrar: due_days must be a whole number from 1 to 60.",
        ),
        (
            {"name": "legal", "steps": [{**GOOD_STEP, "escalate_after_days": -1}]},
            "Step registrar: escalate_after_days must be a whole number from 0 to 60.",
        ),
        (
            {"name": "legal", "steps": [{**GOOD_STEP, "escalate_to": "boss"}]},
            "Step registrar: escalate_to must be a role.",
        ),
        ({"name": "legal", "steps": [], "signer_role": "admin"}, "signer_role must be a role that may sign"),
        ({"name": "legal", "steps": [], "signer_role": "king"}, "signer_role must be a role that may sign"),
        ({"name": "legal", "steps": [], "sign_due_days": 0}, "sign_due_days must be a whole number from 1 to 60."),
    ],
)
def test_a_bad_definition_is_refused_saying_why(data, message, uni):
    with pytest.raises(RouteError) as refused:
        route_from_dict(data)
    assert message in str(refused.value)
    with pytest.raises(RouteError):
        save_route_version(data, uni.admin.id)
    assert latest_version("legal") == 1, "nothing is saved from a bad definition"


def test_a_good_definition_keeps_every_setting():
    route = route_from_dict(
        {
            "name": "money",
            "description": "x",
            "signer_role": "rector",
            "sign_due_days": 5,
            "steps": [
                {"name": "dean", "roles": ["dean"], "mode": "per_faculty"},
                {"name": "office", "role": "registrar", "due_days": 4},
                {
                    "name": "pair",
                    "roles": ["finance", "lawyer"],
                    "mode": "n_of_m",
                    "n": 2,
                    "escalate_after_days": 0,
                    "escalate_to": "rector",
                },
            ],
        }
    )
    assert [(s.name, s.roles, s.mode, s.n, s.due_days, s.escalate_after_days, s.escalate_to) for s in route.steps] == [
        ("dean", ("dean",), "per_faculty", 1, 3, 2, "registrar"),
        ("office", ("registrar",), "one", 1, 4, 2, "registrar"),
        ("pair", ("finance", "lawyer"), "n_of_m", 2, 3, 0, "rector"),
    ]
    assert route.states == [
        "draft",
        "review_dean",
        "review_office",
        "review_pair",
        "awaiting_signature",
        "signed",
        "rejected",
        "withdrawn",
    ]
    assert route.sign_due_days == 5
    assert route_from_dict(route.as_dict()) == route  # round trip through plain data


# Modes ----------------------------------------------------------------------------------------------------------


def test_n_of_m_needs_that_many_different_people(uni, make):
    save_route_version(
        legal_with({"name": "registrar", "roles": ["registrar"], "mode": "n_of_m", "n": 2}), uni.admin.id
    )
    second = make.user("registrar", username="registrar_2")
    order = make.order(uni.clerk, [make.student(uni.ga)])
    fire(order, "submit", uni.clerk)
    assert order.state == "review_registrar"
    assert pending_approvals(order) == [("registrar", None), ("registrar", None)]

    assert fire(order, "approve", uni.registrar) == "review_registrar"
    assert pending_approvals(order) == [("registrar", None)]
    assert "approve" not in legal_triggers(order, uni.registrar)
    with pytest.raises(Refused) as refused:
        fire(order, "approve", uni.registrar)
    assert refused.value.status == 403 and refused.value.refusals[0].rule == "permission.second_visa"
    assert order.state == "review_registrar"
    with pytest.raises(Refused) as refused:
        fire(order, "approve", uni.lawyer)  # not a holder of the step's role
    assert refused.value.refusals[0].rule == "permission.step"

    assert fire(order, "approve", second) == "awaiting_signature"
    assert [(v.step, v.decided_by_id) for v in approved_visas(order)] == [
        ("registrar", uni.registrar.id),
        ("registrar", second.id),
    ]


@pytest.mark.parametrize("who", ["registrar", "lawyer"])
def test_one_of_several_roles_accepts_either(who, uni, make):
    save_route_version(legal_with({"name": "office", "roles": ["registrar", "lawyer"]}), uni.admin.id)
    order = make.order(uni.clerk, [make.student(uni.ga)])
    assert fire(order, "submit", uni.clerk) == "review_office"
    assert "approve" in legal_triggers(order, uni.registrar) and "approve" in legal_triggers(order, uni.lawyer)
    assert "approve" not in legal_triggers(order, uni.finance)
    approver = getattr(uni, who)
    assert fire(order, "approve", approver) == "awaiting_signature"
    (visa,) = approved_visas(order)
    assert (visa.step, visa.role, visa.decided_by_id) == ("office", who, approver.id)


def test_per_faculty_needs_the_dean_of_every_faculty_in_the_lines(uni, make):
    order = make.order(uni.clerk, [make.student(uni.ga), make.student(uni.gb)])
    fire(order, "submit", uni.clerk)
    assert fire(order, "approve", uni.dean_a) == "review_dean"
    another_a = make.user("dean", uni.fa, username="dean_a2")
    with pytest.raises(Refused) as refused:  # faculty FA has given its visa; FB has not
        fire(order, "approve", another_a)
    assert refused.value.refusals[0].rule == "permission.faculty"
    assert fire(order, "approve", uni.dean_b) == "review_registrar"
    assert {(v.faculty_id, v.decided_by_id) for v in approved_visas(order)} == {
        (uni.fa.id, uni.dean_a.id),
        (uni.fb.id, uni.dean_b.id),
    }


# Who never visas ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["registrar", "lawyer", "rector"])
def test_the_author_never_visas_or_signs_own_order(role, uni, make):
    author = create_user(f"clerk_{role}", "secret", f"Clerk and {role}", ["clerk", role])
    db.session.flush()
    order = make.order(author, [make.student(uni.ga)])
    fire(order, "submit", author)
    helpers = [uni.dean_a, uni.registrar, uni.lawyer]
    while (
        order.state
        != {"registrar": "review_registrar", "lawyer": "review_lawyer", "rector": "awaiting_signature"}[role]
    ):
        fire(order, "approve", next(u for u in helpers if "approve" in legal_triggers(order, u)))
    assert legal_triggers(order, author) == ["withdraw"]
    for trigger in ("approve", "sign") if role == "rector" else ("approve",):
        with pytest.raises(Refused) as refused:
            fire(order, trigger, author)
        if trigger == "approve" and role == "rector":
            assert refused.value.status == 409  # no visa step at the signature
            continue
        assert refused.value.status == 403 and refused.value.refusals[0].rule == "permission.self_approval"
    sign(order, uni)
    assert order.state == "signed"
    assert author.id not in {v.decided_by_id for v in db.session.scalars(select(Visa).where(Visa.order_id == order.id))}


def test_the_same_person_cannot_give_two_visas_on_one_order(uni, make):
    both = create_user("registrar_lawyer", "secret", "Registrar and Lawyer", ["registrar", "lawyer"])
    db.session.flush()
    order = make.order(uni.clerk, [make.student(uni.ga)])
    fire(order, "submit", uni.clerk)
    fire(order, "approve", uni.dean_a)
    assert fire(order, "approve", both) == "review_lawyer"
    assert "approve" not in legal_triggers(order, both)
    with pytest.raises(Refused) as refused:
        fire(order, "approve", both)
    assert refused.value.status == 403 and refused.value.refusals[0].rule == "permission.second_visa"
    assert order.state == "review_lawyer"
    assert fire(order, "approve", uni.lawyer) == "awaiting_signature"


def test_a_dean_who_is_also_the_registrar_gives_one_visa_only(uni, make):
    dean_registrar = create_user(
        "dean_registrar", "secret", "Dean and Registrar", ["dean", "registrar"], faculty_id=uni.fa.id
    )
    db.session.flush()
    order = make.order(uni.clerk, [make.student(uni.ga)])
    fire(order, "submit", uni.clerk)
    assert fire(order, "approve", dean_registrar) == "review_registrar"
    with pytest.raises(Refused) as refused:
        fire(order, "approve", dean_registrar)
    assert refused.value.refusals[0].rule == "permission.second_visa"
    assert route_of(order).step_for_state(order.state).name == "registrar"
    assert fire(order, "approve", uni.registrar) == "review_lawyer"
