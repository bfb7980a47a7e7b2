"""What the obligation pages post, read into the typed inputs the services take."""

from __future__ import annotations

from django.http import QueryDict

from obligations.services.obligations import ObligationChanges, ObligationData, SettingsData

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
