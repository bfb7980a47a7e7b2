"""The tenant's clock: its "today" and its local time, whatever zone the server runs in.

Duck-typed on ``tenant.time_zone`` so that it stays below ``crm``.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.utils import timezone

from core.l10n import moment


def tenant_today(tenant, at: datetime | None = None) -> date:
    """The date in the tenant's time zone at ``at`` (now by default)."""
    return (at or timezone.now()).astimezone(ZoneInfo(tenant.time_zone)).date()


def local_time(tenant, at: datetime) -> str:
    """``at`` in the tenant's time zone, as messages quote it ("5 December 2026 14:05" in the active language)."""
    with timezone.override(ZoneInfo(tenant.time_zone)):
        return moment(at, "long")
