"""The recurring-revenue figures: monthly recurring revenue and its movement, and the card collection rate."""

from datetime import UTC, date, datetime, time
from decimal import Decimal

import pytest

from billing import selectors
from billing.models import AttemptResult, CollectionAttempt, ScheduleRun
from billing.services import schedules
from billing.services.runs import issue_for_tenant
from core.clock import months_back
from tests.billing.conftest import monthly

pytestmark = pytest.mark.django_db
D = Decimal


def at(day):
    return datetime.combine(day, time(9), tzinfo=UTC)


def test_mrr_counts_new_expansion_contraction_and_churn_without_tax(ledger, account, policy_fee, customer):
    from tests.factories import AccountFactory, CustomerFactory
    other = AccountFactory(customer=CustomerFactory(tenant=ledger, name="Other"))
    grows = monthly(account, at=at(date(2027, 1, 2)), product=policy_fee, start_on=date(2027, 1, 5))  # £25 + VAT
    quarterly = schedules.create_schedule(  # £100 a month
        account=other, actor=None, at=at(date(2027, 1, 2)), data=schedules.ScheduleData(
            name="Retainer", frequency="quarterly", start_on=date(2027, 2, 1),
            lines=[schedules.LineInput(description="Retainer", unit_price="300.00")]))
    for day in (date(2027, 1, 5), date(2027, 2, 1), date(2027, 2, 5)):
        issue_for_tenant(tenant=ledger, at=at(day))
    schedules.change_lines(schedule=grows, at=at(date(2027, 2, 10)), lines=[
        schedules.LineInput(product=policy_fee, unit_price="50.00")])   # £50 + VAT a month from 5 March
    issue_for_tenant(tenant=ledger, at=at(date(2027, 3, 5)))
    schedules.change_lines(schedule=quarterly, at=at(date(2027, 3, 10)), lines=[
        schedules.LineInput(description="Retainer", unit_price="150.00")])  # £50 a month from 1 May
    issue_for_tenant(tenant=ledger, at=at(date(2027, 5, 1)))
    schedules.end(schedule=grows, at=at(date(2027, 5, 20)))

    months = list(reversed(months_back(today=date(2027, 6, 15), count=6)))
    rows = [(r.month.isoformat(), r.mrr, r.new, r.expansion, r.contraction, r.churn, r.growth)
            for r in selectors.mrr_movement(tenant=ledger, months=months)]

    assert rows == [
        ("2027-01-01", D("25.00"), D("25.00"), 0, 0, 0, D("25.00")),
        ("2027-02-01", D("125.00"), D("100.00"), 0, 0, 0, D("100.00")),
        ("2027-03-01", D("150.00"), 0, D("25.00"), 0, 0, D("25.00")),
        ("2027-04-01", D("150.00"), 0, 0, 0, 0, 0),
        ("2027-05-01", D("50.00"), 0, 0, D("50.00"), D("50.00"), D("-100.00")),
        ("2027-06-01", D("50.00"), 0, 0, 0, 0, 0),
    ]


def test_collection_rate_is_paid_over_answered_per_month(ledger, account, policy_fee):
    monthly(account, at=at(date(2027, 1, 2)), product=policy_fee, start_on=date(2027, 1, 5))
    for day in (date(2027, 1, 5), date(2027, 2, 5)):
        issue_for_tenant(tenant=ledger, at=at(day))
    first, second = ScheduleRun.objects.order_by("period")
    for run, number, result, day in ((first, 0, AttemptResult.DECLINED, date(2027, 2, 4)),
                                     (first, 1, AttemptResult.SUCCEEDED, date(2027, 2, 5)),
                                     (second, 0, AttemptResult.SUCCEEDED, date(2027, 3, 7)),
                                     (second, 1, AttemptResult.UNAVAILABLE, date(2027, 3, 8))):
        CollectionAttempt.objects.create(tenant=ledger, run=run, number=number, result=result, created_at=at(day),
                                         answered_at=at(day))

    months = list(reversed(months_back(today=date(2027, 3, 31), count=3)))
    rows = [(r.month.isoformat(), r.charged, r.succeeded, r.rate)
            for r in selectors.collection_success(tenant=ledger, months=months)]

    assert rows == [("2027-01-01", 0, 0, None), ("2027-02-01", 2, 1, D("50.0")), ("2027-03-01", 1, 1, D("100.0"))]
