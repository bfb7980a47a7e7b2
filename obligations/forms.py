"""What the obligation pages post, read into the typed inputs the services take."""

from __future__ import annotations

from django import forms
from django.http import QueryDict

from core.posted import PostedForm, text
from obligations.services import schedules
from obligations.services.obligations import ManualRow, ObligationChanges, ObligationData, Plan, SettingsData

FIELDS = ("payee_kind", "payee", "payment_code", "description", "total_amount", "currency", "date_rule")


def obligation_data(post: QueryDict, *, manager: bool) -> ObligationData:
    """A new obligation; the manager's comments only from a manager."""
    return ObligationData(**{field: post.get(field, "") for field in FIELDS},
                          manager_comments=post.get("manager_comments", "") if manager else "")


def obligation_changes(post: QueryDict, *, manager: bool) -> ObligationChanges:
    """The fields the edit page posted; the others stay as they are."""
    posted = {field: post[field] for field in FIELDS if field in post}
    if manager and "manager_comments" in post:
        posted["manager_comments"] = post["manager_comments"]
    return ObligationChanges(**posted)


def settings_data(post: QueryDict) -> SettingsData:
    return SettingsData(reminder_days_before=post.get("reminder_days_before", ""),
                        overdue_days_after=post.get("overdue_days_after", ""),
                        sms_enabled=bool(post.get("sms_enabled")),
                        holiday_subdivision=post.get("holiday_subdivision", ""))


def manual_rows(post: QueryDict) -> list[ManualRow]:
    """The manual plan's rows the page posted, leaving out the rows left empty."""
    dates, amounts = post.getlist("row_due_on"), post.getlist("row_amount")
    return [ManualRow(due_on=d, amount=a) for d, a in zip(dates, amounts, strict=False)
            if (d or "").strip() or (a or "").strip()]


def plan(post: QueryDict) -> Plan:
    return Plan(kind=post.get("plan", ""), first_due_on=post.get("first_due_on"), count=post.get("count"),
                instalment_amount=post.get("instalment_amount"),
                frequency=post.get("frequency") or schedules.MONTHLY, rows=manual_rows(post))


class InstalmentForm(PostedForm):
    amount = text()
    due_on = text()
    notify_customer = forms.BooleanField(required=False)


class ClosingDayForm(PostedForm):
    day = text()
    description = text()


class PortalSignInForm(PostedForm):
    email = text()
