from tests.finance.conftest import card
from tests.obligations.obligation_fixtures import obligation
from tests.paylinks.request_fixtures import fresh_pay_throttle, gbp, sandbox

__all__ = ["card", "fresh_pay_throttle", "gbp", "obligation", "sandbox"]
