"""Reads of obligations shared by the staff pages, the portal, the API and the reminder sweep."""

from __future__ import annotations

import calendar as pycalendar
from dataclasses import dataclass
from datetime import date

from django.db.models import Count, Min, Q, QuerySet, Sum
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core import clock, l10n
from crm.models import Customer, Tenant
from obligations.models import ClosingDay, Instalment, InstalmentStatus, Obligation, ObligationSettings

INSTALMENT_STATUSES = {
    "unpaid": gettext_lazy("Unpaid"), "overdue": gettext_lazy("Overdue"), "paid": gettext_lazy("Paid"),
}


def obligation_settings(*, tenant: Tenant) -> ObligationSettings:
    """The tenant's saved settings, or the defaults (unsaved) until it saves its own."""
    return ObligationSettings.objects.filter(tenant=tenant).first() or ObligationSettings(tenant=tenant)


def closing_days(*, tenant: Tenant) -> QuerySet[ClosingDay]:
    return ClosingDay.objects.filter(tenant=tenant).order_by("day")


def _with_totals(rows: QuerySet[Obligation]) -> QuerySet[Obligation]:
    return rows.annotate(
        instalment_count=Count("instalments"),
        paid_count=Count("instalments", filter=Q(instalments__status=InstalmentStatus.PAID)),
        paid_amount=Sum("instalments__amount", filter=Q(instalments__status=InstalmentStatus.PAID)),
        next_due_on=Min("instalments__due_on", filter=Q(instalments__status=InstalmentStatus.UNPAID)),
    )


def obligations(*, tenant: Tenant, customer_id: int | None = None, due_from: date | None = None,
                due_to: date | None = None) -> QuerySet[Obligation]:
    """Obligations of ``tenant`` (of one customer, and/or with an instalment due between two dates), newest first."""
    rows = Obligation.objects.filter(tenant=tenant)
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    if due_from is not None or due_to is not None:
        due = Instalment.objects.filter(tenant=tenant)
        if due_from is not None:
            due = due.filter(due_on__gte=due_from)
        if due_to is not None:
            due = due.filter(due_on__lte=due_to)
        rows = rows.filter(pk__in=due.values("obligation_id"))
    return _with_totals(rows.select_related("customer")).order_by("-created_at", "-id")


def obligations_of(*, customer: Customer) -> list[Obligation]:
    """A customer's obligations with their instalments, newest first (two queries)."""
    rows = list(Obligation.objects.filter(tenant=customer.tenant_id, customer=customer)
                .prefetch_related("instalments").order_by("-created_at", "-id"))
    return rows


def get_obligation(*, tenant: Tenant, obligation_id: int, customer_id: int | None = None) -> Obligation:
    """One obligation of ``tenant`` (and of ``customer_id``, when given: the portal's choke point); 404
    alike for missing, another tenant's and another customer's."""
    rows = Obligation.objects.filter(tenant=tenant)
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    try:
        return rows.select_related("customer", "created_by").get(pk=obligation_id)
    except (Obligation.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such obligation.")) from None


def get_instalment(*, tenant: Tenant, instalment_id: int, customer_id: int | None = None) -> Instalment:
    rows = Instalment.objects.filter(tenant=tenant)
    if customer_id is not None:
        rows = rows.filter(obligation__customer_id=customer_id)
    try:
        return rows.select_related("obligation__customer", "paid_by").get(pk=instalment_id)
    except (Instalment.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such instalment.")) from None


@dataclass(frozen=True)
class InstalmentFilters:
    customer: int | None = None
    status: str = ""
    due_from: date | None = None
    due_to: date | None = None


def instalments(
    *, tenant: Tenant, filters: InstalmentFilters = InstalmentFilters(), today: date
) -> QuerySet[Instalment]:
    """Instalments of ``tenant`` for the calendar and its list, by due date. ``overdue`` is unpaid and due
    before ``today``."""
    rows = Instalment.objects.filter(tenant=tenant).select_related("obligation__customer")
    if filters.customer:
        rows = rows.filter(obligation__customer_id=filters.customer)
    if filters.status == "paid":
        rows = rows.filter(status=InstalmentStatus.PAID)
    elif filters.status == "unpaid":
        rows = rows.filter(status=InstalmentStatus.UNPAID)
    elif filters.status == "overdue":
        rows = rows.filter(status=InstalmentStatus.UNPAID, due_on__lt=today)
    if filters.due_from:
        rows = rows.filter(due_on__gte=filters.due_from)
    if filters.due_to:
        rows = rows.filter(due_on__lte=filters.due_to)
    return rows.order_by("due_on", "obligation_id", "number")


@dataclass(frozen=True)
class MonthGrid:
    year: int
    month: int
    weeks: list[list[tuple[date, list[Instalment]]]]
    previous: str
    next: str

    @property
    def has_due(self) -> bool:
        """Whether anything of this month is due (a phone shows only the days that have)."""
        return any(items for week in self.weeks for day, items in week if day.month == self.month)

    @property
    def weekday_names(self) -> list[str]:
        return l10n.weekday_names()

    @property
    def title(self) -> str:
        return l10n.month(date(self.year, self.month, 1))


def month_of(value: str, *, today: date) -> tuple[int, int]:
    try:
        year, month = (int(part) for part in value.split("-", 1))
        date(year, month, 1)
        if 2000 <= year <= 2200:
            return year, month
    except (ValueError, TypeError, AttributeError):
        pass
    return today.year, today.month


def month_bounds(year: int, month: int) -> tuple[date, date]:
    return clock.month_bounds(date(year, month, 1))


def month_grid(*, year: int, month: int, rows) -> MonthGrid:
    """Weeks (Monday first) of the month, each day with its instalments (``rows``, already filtered)."""
    by_day: dict[date, list[Instalment]] = {}
    for row in rows:
        by_day.setdefault(row.due_on, []).append(row)
    weeks = [[(day, by_day.get(day, [])) for day in week]
             for week in pycalendar.Calendar(firstweekday=0).monthdatescalendar(year, month)]
    previous = date(year - (month == 1), 12 if month == 1 else month - 1, 1)
    following = date(year + (month == 12), 1 if month == 12 else month + 1, 1)
    return MonthGrid(year=year, month=month, weeks=weeks, previous=f"{previous:%Y-%m}", next=f"{following:%Y-%m}")


def _who(record) -> str:
    if record.history_user is not None:
        return record.history_user.get_full_name() or record.history_user.username
    return record.history_change_reason or _("the system")


def _trail(records: list, model, label: str, hidden: set[str]) -> list[dict]:
    trail = []
    for newer, older in zip(records, [*records[1:], None], strict=True):
        changes = []
        if older is not None:
            delta = newer.diff_against(older, foreign_keys_are_objs=False)
            changes = [{"field": model._meta.get_field(c.field).verbose_name, "old": c.old, "new": c.new}
                       for c in delta.changes if c.field not in hidden]
            if not changes and delta.changes:
                continue  # only hidden fields changed: nothing this reader may see
        trail.append({"at": newer.history_date, "who": _who(newer), "what": label,
                      "kind": newer.get_history_type_display(), "changes": changes})
    return trail


def obligation_history(*, obligation: Obligation, manager: bool) -> list[dict]:
    """The audit trail of an obligation and its instalments, newest first. Changes to manager comments
    appear only to managers."""
    hidden = set() if manager else {"manager_comments"}
    trail = _trail(list(obligation.history.select_related("history_user").order_by("-history_date", "-history_id")),
                   Obligation, _("Obligation"), hidden)
    records: dict[int, list] = {}
    for record in (Instalment.history.filter(obligation_id=obligation.pk).select_related("history_user")
                   .order_by("-history_date", "-history_id")):
        records.setdefault(record.id, []).append(record)
    for rows in records.values():
        trail += _trail(rows, Instalment, _("Instalment %(number)s") % {"number": rows[0].number}, hidden)
    return sorted(trail, key=lambda entry: entry["at"], reverse=True)


def customers_with_obligations(*, tenant: Tenant) -> QuerySet[Customer]:
    """The customers the calendar's filter offers: those with at least one obligation."""
    return Customer.objects.filter(tenant=tenant, pk__in=Obligation.objects.filter(tenant=tenant).values(
        "customer_id")).order_by("name", "id")


def instalment_invoice_ids(*, tenant) -> QuerySet:
    """The ids of the ledger invoices instalments are booked as (a query, for ``pk__in``): shown and reminded
    about with their obligation, not as invoices of their own."""
    return Instalment.objects.filter(tenant=tenant, ledger_invoice__isnull=False).values("ledger_invoice_id")
