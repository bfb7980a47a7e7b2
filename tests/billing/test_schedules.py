"""A year of a monthly schedule, with beat run three times a day (twice at once at noon), through two
downtimes: twelve invoices, one per period, none missing and none doubled."""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from billing import selectors, tasks
from billing.models import ScheduleRun
from billing.services import schedules
from billing.services.runs import issue_next
from config.beat import SCHEDULE
from finance.models import TransactionState
from notifications.models import Notification
from tests.billing.conftest import START, monthly

pytestmark = pytest.mark.django_db
DOWN = [(date(2027, 3, 10), date(2027, 4, 20)), (date(2027, 8, 14), date(2027, 8, 16))]
HOURS = (6, 12, 12)  # UTC; the 12:00 run twice: a duplicated beat


def moment(day, hour=9):
    return datetime.combine(day, time(hour), tzinfo=UTC)


def run_beat_every_day(first: date, last: date) -> None:
    day = first
    while day <= last:
        if not any(start <= day <= end for start, end in DOWN):
            for hour in HOURS:
                tasks.issue_recurring_invoices.apply(kwargs={"as_of": moment(day, hour).isoformat()})
        day += timedelta(days=1)


def test_beat_issues_recurring_invoices_hourly():
    assert SCHEDULE["billing.issue_recurring_invoices"] == {"task": "billing.issue_recurring_invoices",
                                                            "schedule": 3600.0}
    assert SCHEDULE["billing.collect_by_card"] == {"task": "billing.collect_by_card", "schedule": 3600.0}


def test_a_year_of_a_monthly_schedule_issues_twelve_invoices_once_each(account, policy_fee):
    schedule = monthly(account, at=moment(START - timedelta(days=3)), product=policy_fee, end_after=12)

    run_beat_every_day(START - timedelta(days=3), date(2028, 2, 28))

    runs = list(ScheduleRun.objects.filter(schedule=schedule).order_by("period").select_related("invoice"))
    assert [(r.period, r.period_on.isoformat(), r.created_at.date().isoformat()) for r in runs] == [
        (1, "2027-01-15", "2027-01-15"), (2, "2027-02-15", "2027-02-15"),
        # Down from 10 March to 20 April: March and April are issued on the first run after, once each.
        (3, "2027-03-15", "2027-04-21"), (4, "2027-04-15", "2027-04-21"),
        (5, "2027-05-15", "2027-05-15"), (6, "2027-06-15", "2027-06-15"), (7, "2027-07-15", "2027-07-15"),
        # Down 14–16 August: the 15 August period comes on the 17th.
        (8, "2027-08-15", "2027-08-17"), (9, "2027-09-15", "2027-09-15"), (10, "2027-10-15", "2027-10-15"),
        (11, "2027-11-15", "2027-11-15"), (12, "2027-12-15", "2027-12-15"),
    ]
    assert all(r.invoice.state == TransactionState.POSTED and r.invoice.total_amount == Decimal("30.00")
               for r in runs)
    assert [r.invoice.number for r in runs] == [f"INV-{n:06d}" for n in range(1, 13)]
    assert runs[2].invoice.lines.get().description == "Policy fee (15 Mar 2027 to 14 Apr 2027)"
    emails = Notification.objects.filter(template_key="recurring_invoice")
    assert sorted(emails.values_list("subject_ref", flat=True)) == sorted(
        f"finance.financialtransaction:{r.invoice_id}" for r in runs)
    assert selectors.get_schedule(tenant=account.tenant, schedule_id=schedule.pk).next_period == 13


def test_issuing_again_at_once_issues_nothing(account, policy_fee):
    schedule = monthly(account, at=moment(START), product=policy_fee)

    first = issue_next(schedule=schedule, at=moment(START, 10))
    second = issue_next(schedule=schedule, at=moment(START, 10))

    assert first.period == 1 and second is None
    assert ScheduleRun.objects.count() == 1


def test_pause_skips_periods_and_resume_goes_on_from_today(account, policy_fee):
    schedule = monthly(account, at=moment(START), product=policy_fee)
    run_beat_every_day(START, date(2027, 2, 1))
    schedules.pause(schedule=schedule, at=moment(date(2027, 2, 1)))
    run_beat_every_day(date(2027, 2, 1), date(2027, 4, 1))
    schedules.resume(schedule=schedule, at=moment(date(2027, 4, 1)))
    run_beat_every_day(date(2027, 4, 1), date(2027, 5, 20))

    assert list(ScheduleRun.objects.order_by("period").values_list("period", "period_on")) == [
        (1, date(2027, 1, 15)), (4, date(2027, 4, 15)), (5, date(2027, 5, 15))]


def test_changed_lines_apply_from_the_next_period(account, policy_fee, vat):
    schedule = monthly(account, at=moment(START), product=policy_fee)
    run_beat_every_day(START, START)

    schedules.change_lines(schedule=schedule, at=moment(START), lines=[
        schedules.LineInput(product=policy_fee, unit_price="40.00"),
        schedules.LineInput(description="Breakdown cover", unit_price="5.00", tax_rate=vat)])
    run_beat_every_day(START + timedelta(days=1), date(2027, 2, 15))

    totals = list(ScheduleRun.objects.order_by("period").values_list("period", "invoice__total_amount"))
    assert totals == [(1, Decimal("30.00")), (2, Decimal("54.00"))]


def test_ending_stops_invoices_after_today(account, policy_fee):
    schedule = monthly(account, at=moment(START), product=policy_fee)
    run_beat_every_day(START, date(2027, 2, 20))
    schedules.end(schedule=schedule, at=moment(date(2027, 2, 20)))
    run_beat_every_day(date(2027, 2, 20), date(2027, 5, 1))

    assert ScheduleRun.objects.count() == 2
    with pytest.raises(ValidationError) as refused:
        schedules.end(schedule=schedule, at=moment(date(2027, 5, 1)))
    assert refused.value.message_dict == {"state": ["The schedule has already ended."]}


def test_drafts_wait_for_staff_and_are_sent_when_posted(account, policy_fee, staff):
    schedules.save_settings(tenant=account.tenant, post_invoices=False, retry_days=[1, 3, 7])
    monthly(account, at=moment(START), product=policy_fee)
    run_beat_every_day(START, START)
    run = ScheduleRun.objects.get()
    assert run.invoice.state == TransactionState.DRAFT
    assert not Notification.objects.filter(template_key="recurring_invoice").exists()

    from billing.services.runs import post_run
    post_run(run=run, actor=staff, at=moment(START, 11))

    assert ScheduleRun.objects.get().invoice.state == TransactionState.POSTED
    assert ScheduleRun.objects.get().invoice.number == "INV-000001"
    assert Notification.objects.filter(template_key="recurring_invoice").count() == 1


def test_preview_shows_the_next_invoices_without_saving(account, policy_fee):
    data = schedules.ScheduleData(name="Quarterly retainer", frequency="quarterly", start_on=date(2027, 1, 31),
                                  lines=[schedules.LineInput(product=policy_fee)], end_after=3)

    upcoming = schedules.preview(account=account, data=data, at=moment(date(2027, 1, 20)))

    assert [(u.period, u.on.isoformat(), u.total) for u in upcoming] == [
        (1, "2027-01-31", Decimal("30.00")), (2, "2027-04-30", Decimal("30.00")), (3, "2027-07-31", Decimal("30.00"))]
    assert not ScheduleRun.objects.exists()
