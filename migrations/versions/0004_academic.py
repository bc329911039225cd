"""Academic data: curricula per programme and semester, students' grades, the academic calendar.

Reviewed by hand: every table is new; check constraints keep points, credits and semesters in range, letters on the
scale, and the calendar's dates in order (semester, session, holidays, summer semester).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 13:36:18

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('academic_calendars',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.String(length=9), nullable=False),
    sa.Column('first_semester_start', sa.Date(), nullable=False),
    sa.Column('first_session_start', sa.Date(), nullable=False),
    sa.Column('first_session_end', sa.Date(), nullable=False),
    sa.Column('first_semester_end', sa.Date(), nullable=False),
    sa.Column('winter_holidays_start', sa.Date(), nullable=False),
    sa.Column('winter_holidays_end', sa.Date(), nullable=False),
    sa.Column('second_semester_start', sa.Date(), nullable=False),
    sa.Column('second_session_start', sa.Date(), nullable=False),
    sa.Column('second_session_end', sa.Date(), nullable=False),
    sa.Column('second_semester_end', sa.Date(), nullable=False),
    sa.Column('summer_holidays_start', sa.Date(), nullable=False),
    sa.Column('summer_holidays_end', sa.Date(), nullable=False),
    sa.Column('summer_semester_start', sa.Date(), nullable=True),
    sa.Column('summer_semester_end', sa.Date(), nullable=True),
    sa.CheckConstraint("length(year) = 9 AND substr(year, 5, 1) = '-'", name=op.f('ck_academic_calendars_year')),
    sa.CheckConstraint('first_semester_end < winter_holidays_start AND winter_holidays_start <= winter_holidays_end AND winter_holidays_end < second_semester_start', name=op.f('ck_academic_calendars_winter_holidays')),
    sa.CheckConstraint('first_semester_start <= first_session_start AND first_session_start <= first_session_end AND first_session_end <= first_semester_end', name=op.f('ck_academic_calendars_first_semester')),
    sa.CheckConstraint('second_semester_end < summer_holidays_start AND summer_holidays_start <= summer_holidays_end', name=op.f('ck_academic_calendars_summer_holidays')),
    sa.CheckConstraint('second_semester_start <= second_session_start AND second_session_start <= second_session_end AND second_session_end <= second_semester_end', name=op.f('ck_academic_calendars_second_semester')),
    sa.CheckConstraint('summer_semester_start IS NULL OR (summer_semester_end IS NOT NULL AND second_semester_end < summer_semester_start AND summer_semester_start <= summer_semester_end)', name=op.f('ck_academic_calendars_summer_semester')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_academic_calendars')),
    sa.UniqueConstraint('year', name=op.f('uq_academic_calendars_year'))
    )
    op.create_table('curriculum_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('semester', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name_kk', sa.String(length=300), nullable=False),
    sa.Column('name_ru', sa.String(length=300), nullable=False),
    sa.Column('name_en', sa.String(length=300), nullable=False),
    sa.Column('credits', sa.Integer(), nullable=False),
    sa.CheckConstraint('credits BETWEEN 1 AND 30', name=op.f('ck_curriculum_items_credits')),
    sa.CheckConstraint('semester BETWEEN 1 AND 14', name=op.f('ck_curriculum_items_semester')),
    sa.ForeignKeyConstraint(['programme_id'], ['programmes.id'], name=op.f('fk_curriculum_items_programme_id_programmes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_curriculum_items')),
    sa.UniqueConstraint('programme_id', 'semester', 'code', name='uq_curriculum_items_programme_semester_code')
    )
    op.create_table('grades',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('student_id', sa.Integer(), nullable=False),
    sa.Column('discipline_code', sa.String(length=32), nullable=False),
    sa.Column('discipline_name', sa.String(length=300), nullable=False),
    sa.Column('semester', sa.Integer(), nullable=False),
    sa.Column('academic_year', sa.String(length=9), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('letter', sa.String(length=2), nullable=False),
    sa.Column('grade_point', sa.Float(), nullable=False),
    sa.Column('credits', sa.Integer(), nullable=False),
    sa.Column('is_retake', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("length(academic_year) = 9 AND substr(academic_year, 5, 1) = '-'", name=op.f('ck_grades_academic_year')),
    sa.CheckConstraint("letter IN ('A', 'A-', 'B+', 'B', 'B-', 'C+', 'C', 'C-', 'D+', 'D', 'FX', 'F')", name=op.f('ck_grades_letter')),
    sa.CheckConstraint('credits BETWEEN 1 AND 30', name=op.f('ck_grades_credits')),
    sa.CheckConstraint('grade_point BETWEEN 0 AND 4', name=op.f('ck_grades_grade_point')),
    sa.CheckConstraint('points BETWEEN 0 AND 100', name=op.f('ck_grades_points')),
    sa.CheckConstraint('semester BETWEEN 1 AND 14', name=op.f('ck_grades_semester')),
    sa.ForeignKeyConstraint(['student_id'], ['students.id'], name=op.f('fk_grades_student_id_students'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_grades')),
    sa.UniqueConstraint('student_id', 'discipline_code', 'semester', 'academic_year', 'is_retake', name='uq_grades_student_discipline_attempt')
    )


def downgrade():
    op.drop_table('grades')
    op.drop_table('curriculum_items')
    op.drop_table('academic_calendars')
