"""The registry of order kinds: each maps a name to a class with the `OrderKind` interface."""

from orders.kinds.academic_leave import AcademicLeave
from orders.kinds.base import RECORD_NEUTRAL_KINDS, OrderKind
from orders.kinds.expulsion import Expulsion
from orders.kinds.funding_change import FundingChange
from orders.kinds.leave_return import LeaveReturn
from orders.kinds.personal_data import PersonalData
from orders.kinds.president_scholarship import PersonalScholarship, PresidentScholarship
from orders.kinds.promotion import Promotion
from orders.kinds.repeat_year import RepeatYear
from orders.kinds.restoration import Restoration
from orders.kinds.revocation import Amendment, Revocation
from orders.kinds.state_scholarship import StateScholarship
from orders.kinds.transfer import TransferWithin
from orders.kinds.transfer_in import TransferIn
from orders.kinds.transfer_out import TransferOut
from orders.kinds.travel_compensation import TravelCompensation
from orders.kinds.vacant_grant import VacantGrant

KINDS: dict[str, OrderKind] = {
    kind.name: kind
    for kind in (
        Expulsion(),
        AcademicLeave(),
        LeaveReturn(),
        Promotion(),
        RepeatYear(),
        Restoration(),
        TransferWithin(),
        TransferIn(),
        TransferOut(),
        FundingChange(),
        PersonalData(),
        Revocation(),
        Amendment(),
        StateScholarship(),
        TravelCompensation(),
        PresidentScholarship(),
        PersonalScholarship(),
        VacantGrant(),
    )
}
RECORD_NEUTRAL_KINDS.update(name for name, kind in KINDS.items() if not kind.changes_record)


def get_kind(name: str) -> OrderKind:
    return KINDS[name]
