"""Which signed lines a signed correction (a revocation or an amendment) reversed: such a line pays nothing any more,
and the movement it wrote is void."""

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from orders.models import Order, OrderLine
from orders.registry import correction_kinds


def reversed_line_ids() -> Select:
    """The ids of signed lines that a signed revocation or amendment reversed (a subquery)."""
    correction_line, correction = aliased(OrderLine), aliased(Order)
    target = correction_line.params["target_line_id"].as_integer()
    return (
        select(target)
        .join(correction, correction.id == correction_line.order_id)
        .where(correction.kind.in_(correction_kinds()), correction.state == "signed", target.is_not(None))
    )
