"""The `registrar` command: migrate, seed the demo university, create users and tokens."""

from sqlalchemy import func, select

from core.db import db
from core.models import User, user_for_token
from registrar.cli import main
from students.iin import iin_error
from students.models import Faculty, Group, Programme, Student


def test_seed_demo_builds_the_demo_university_with_valid_iins(cli_app):
    app, runner = cli_app
    result = runner.invoke(main, ["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "2000 students" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Faculty.id))) >= 4
        assert db.session.scalar(select(func.count(Programme.id))) >= 12
        assert db.session.scalar(select(func.count(Group.id))) >= 60
        iins = db.session.scalars(select(Student.iin)).all()
        assert len(iins) == len(set(iins)) > 2000  # today's students, and those who graduated or left
        assert all(iin_error(iin) is None for iin in iins)
        studying = select(func.count(Student.id)).where(Student.status.in_(("active", "academic_leave")))
        assert db.session.scalar(studying) == 2000
        users = {u.username: u for u in db.session.scalars(select(User))}
        for name in ("clerk", "registrar", "rector", "admin", "dean1", "dean2", "dean3", "dean4"):
            assert users[name].check_password("demo")
        assert users["dean2"].faculty_id is not None and users["dean2"].has_role("dean")

    again = runner.invoke(main, ["seed-demo", "--if-empty"])
    assert again.exit_code == 0 and "not empty" in again.output
    with app.app_context():
        assert db.session.scalar(studying) == 2000


def test_create_user_and_token(cli_app):
    app, runner = cli_app
    result = runner.invoke(
        main,
        ["create-user", "aigerim", "--password", "s3cret-pass", "--full-name", "Сейтова Айгерим", "--role", "clerk"],
    )
    assert result.exit_code == 0, result.output
    duplicate = runner.invoke(
        main, ["create-user", "aigerim", "--password", "x", "--full-name", "X", "--role", "clerk"]
    )
    assert duplicate.exit_code != 0 and "exists already" in duplicate.output
    dean_without_faculty = runner.invoke(
        main, ["create-user", "dean9", "--password", "x", "--full-name", "X", "--role", "dean"]
    )
    assert dean_without_faculty.exit_code != 0 and "needs a faculty" in dean_without_faculty.output

    token = runner.invoke(main, ["create-token", "aigerim"]).output.strip()
    with app.app_context():
        user = user_for_token(token)
        assert user is not None and user.username == "aigerim"
        assert user.password_hash != "s3cret-pass" and user.check_password("s3cret-pass")
    unknown = runner.invoke(main, ["create-token", "nobody"])
    assert unknown.exit_code != 0 and "no user" in unknown.output
