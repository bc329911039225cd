"""Every order kind, each registered here: a new kind adds its import and one line below."""

from orders.kinds.competitions.president_scholarship import PersonalScholarship, PresidentScholarship
from orders.kinds.competitions.vacant_grant import VacantGrant
from orders.kinds.corrections.revocation import Amendment, Revocation
from orders.kinds.expulsion import Expulsion
from orders.kinds.funding_change import FundingChange
from orders.kinds.leave.academic_leave import AcademicLeave
from orders.kinds.leave.leave_return import LeaveReturn
from orders.kinds.personal_data import PersonalData
from orders.kinds.promotion.promotion import Promotion
from orders.kinds.promotion.repeat_year import RepeatYear
from orders.kinds.restoration import Restoration
from orders.kinds.state_scholarship.state_scholarship import StateScholarship
from orders.kinds.transfer_in.transfer_in import TransferIn
from orders.kinds.transfer_out import TransferOut
from orders.kinds.transfer_within import TransferWithin
from orders.kinds.travel_compensation import TravelCompensation
from orders.registry import register

register(Expulsion())
register(AcademicLeave())
register(LeaveReturn())
register(Promotion())
register(RepeatYear())
register(Restoration())
register(TransferWithin())
register(TransferIn())
register(TransferOut())
register(FundingChange())
register(PersonalData())
register(Revocation())
register(Amendment())
register(StateScholarship())
register(TravelCompensation())
register(PresidentScholarship())
register(PersonalScholarship())
register(VacantGrant())
