"""Instalment reminders and overdue notices: the beat task run over a simulated week (time travel),
counting exactly the messages written to the outbox."""

from datetime import UTC, date, datetime, timedelta

import pytest

from config.beat import SCHEDULE
from notifications.models import Notification
from obligations import tasks
from obligations.models import Instalment
from obligations.services.obligations import (
    SettingsData,
    mark_instalment_paid,
    save_obligation_settings,
    update_instalment,
)
from obligations.services.reminders import send_instalment_reminders
from tests.factories import CustomerFactory, ObligationFactory

pytestmark = pytest.mark.django_db
MONDAY = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)  # London is on UTC in November
SETTINGS = {"reminder_days_before": "3", "overdue_days_after": "1", "sms_enabled": True}


def one_off(customer, due_on, description):
    obligation = ObligationFactory(customer=customer, total="50.00", count=1, first=due_on, description=description,
                                   at=MONDAY - timedelta(days=30), manager_comments="Slow payer.")
    return obligation.instalments.get()


def sent():
    return sorted(Notification.objects.values_list("event_key", "channel", "template_key", "due_at"))


@pytest.fixture
def week(ledger, customer, staff):
    save_obligation_settings(tenant=ledger, data=SettingsData(**SETTINGS), actor=staff)
    other = CustomerFactory(tenant=ledger, name="Ivan Ilic", email="ivan@example.com")
    return {
        "thursday": one_off(customer, date(2026, 11, 26), "Council tax"),     # reminded Mon, overdue Fri
        "next_monday": one_off(other, date(2026, 11, 30), "Road tax"),        # reminded Fri
        "december": one_off(customer, date(2026, 12, 4), "VAT"),              # nothing this week
        "last_week": one_off(other, date(2026, 11, 17), "Insurance"),         # overdue at once (caught up)
        "paid_tuesday": one_off(customer, date(2026, 11, 28), "Licence"),     # paid before its window opens
    }


class TestAWeekOfReminders:
    def test_the_beat_task_every_hour_for_a_week_sends_each_notice_once_and_catches_up_after_downtime(
            self, week, staff):
        down_from, down_until = datetime(2026, 11, 26, 0, 0, tzinfo=UTC), datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

        for hour in range(7 * 24):
            at = MONDAY + timedelta(hours=hour)
            if at == MONDAY + timedelta(days=1):
                mark_instalment_paid(instalment=week["paid_tuesday"], actor=staff, at=at)
            if down_from <= at < down_until:
                continue  # the worker is down: nothing runs
            tasks.send_instalment_reminders(as_of=at.isoformat())
            tasks.send_instalment_reminders(as_of=at.isoformat())  # and beat fires twice

        ids = {name: row.pk for name, row in week.items()}
        eight_monday = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # held for sending hours (08:00–20:00 London)
        noon_friday = down_until  # sent when the worker came back
        expected = []
        for channel in ("email", "sms"):
            expected += [
                (f"instalment:{ids['thursday']}:reminder:2026-11-26", channel, "instalment_reminder", eight_monday),
                (f"instalment:{ids['last_week']}:overdue:2026-11-17", channel, "instalment_overdue", eight_monday),
                (f"instalment:{ids['thursday']}:overdue:2026-11-26", channel, "instalment_overdue", noon_friday),
                (f"instalment:{ids['next_monday']}:reminder:2026-11-30", channel, "instalment_reminder", noon_friday),
            ]
        assert sent() == sorted(expected)
        assert Notification.objects.count() == 8

    def test_the_reminder_names_the_instalment_amount_and_date_and_links_to_the_portal(self, week):
        send_instalment_reminders(at=MONDAY)

        reminder = Notification.objects.get(template_key="instalment_reminder", channel="email")
        assert reminder.recipient == "harriet@example.com"
        assert reminder.subject == "Instalment 1 of 1 is due on 26 November 2026"
        assert "Council tax, £50.00, is due on 26 November 2026" in reminder.body
        assert "/portal/acme/" in reminder.body
        assert "Slow payer" not in reminder.body  # the obligations carry manager comments; no message does
        sms = Notification.objects.get(template_key="instalment_reminder", channel="sms")
        assert sms.recipient == "+447911123456"

    def test_a_new_due_date_earns_a_new_reminder(self, week, staff):
        send_instalment_reminders(at=MONDAY)
        update_instalment(instalment=week["thursday"], due_on="2026-11-25", actor=staff, at=MONDAY)

        send_instalment_reminders(at=MONDAY + timedelta(hours=1))

        keys = Notification.objects.filter(template_key="instalment_reminder", channel="email",
                                           customer__name="Harriet Holloway").values_list("event_key", flat=True)
        assert sorted(keys) == [f"instalment:{week['thursday'].pk}:reminder:2026-11-25",
                                f"instalment:{week['thursday'].pk}:reminder:2026-11-26"]

    def test_without_sms_only_email_goes_and_the_days_before_are_the_tenants(self, week, ledger, staff):
        save_obligation_settings(tenant=ledger, actor=staff,
                                 data=SettingsData(reminder_days_before="7", overdue_days_after="3"))

        written = send_instalment_reminders(at=MONDAY)

        assert written == 4  # thursday, next monday, paid tuesday's (still unpaid on Monday), last week's overdue
        assert set(Notification.objects.values_list("channel", flat=True)) == {"email"}
        assert Instalment.objects.filter(reminded_for__isnull=False).count() == 3

    def test_the_task_is_on_the_beat_schedule(self):
        assert SCHEDULE["obligations.send_instalment_reminders"] == {
            "task": "obligations.send_instalment_reminders", "schedule": 900.0}
        assert tasks.send_instalment_reminders.name == "obligations.send_instalment_reminders"
