"""The inbox: orders waiting for a given person's decision, found with one query whatever their number."""

from sqlalchemy import Select, and_, exists, false, func, not_, or_, select

from core.db import db
from core.models import User
from orders.models import Order, OrderLine
from workflow.models import Visa
from workflow.routes import ROUTES


def waiting_for(actor: User) -> Select:
    """Orders whose current step needs `actor`'s visa or signature, not authored or already visaed by them."""
    conditions = []
    for route in ROUTES.values():
        on_route = Order.route_name == route.name
        if actor.has_role(route.signer_role):
            conditions.append(and_(on_route, Order.state == "awaiting_signature"))
        for step in route.steps:
            if not actor.has_role(step.role):
                continue
            at_step = and_(on_route, Order.state == step.state)
            same_round_visa = and_(Visa.order_id == Order.id, Visa.round == Order.round, Visa.step == step.name,
                                   Visa.decision == "approved")
            if step.per_faculty:
                if actor.faculty_id is None:
                    continue
                conditions.append(and_(
                    at_step,
                    exists().where(OrderLine.order_id == Order.id, OrderLine.faculty_id == actor.faculty_id),
                    not_(exists().where(same_round_visa, Visa.faculty_id == actor.faculty_id))))
            else:
                conditions.append(and_(at_step, not_(exists().where(same_round_visa))))
    if not conditions:
        return select(Order).where(false())
    already_visaed = exists().where(Visa.order_id == Order.id, Visa.round == Order.round,
                                    Visa.decided_by_id == actor.id)
    return select(Order).where(or_(*conditions), Order.author_id != actor.id, not_(already_visaed))


def inbox_count(actor: User) -> int:
    return db.session.scalar(waiting_for(actor).with_only_columns(func.count(Order.id)).order_by(None)) or 0


def inbox(actor: User, limit: int = 50, offset: int = 0) -> list[Order]:
    return list(db.session.scalars(waiting_for(actor).order_by(Order.updated_at).limit(limit).offset(offset)))
