"""The reports' and dashboards' reads. Every figure is one aggregate query computed by PostgreSQL
(GROUP BY, conditional aggregation, date_trunc in the tenant's time zone); rows are never loaded
into Python to be added up. Amounts are grouped by currency: EUR is never added to USD.

What counts (seed 004, "Reports" and "Dashboards"):

* Only posted transactions, dated by ``posted_at`` in the tenant's calendar.
* Revenue is billed to customers, without tax: invoices, less credit notes and invoice
  cancellations, on customer accounts. A cancelled invoice stays posted and is listed; its
  cancellation — a posted transaction of its own carrying the cancelled invoice's lines — takes it
  back out in the period the cancellation is posted, so an invoice cancelled in the same period
  counts zero. An invoice cancellation's net, discount and tax are the cancelled invoice's.
* A write-off is not a revenue correction (the debt was billed; it moved to the tenant's write-off
  account), so write-offs are shown on their own and the write-off account's invoices are left out.
* Receipts are payments less payment cancellations (a payment moved to another account is
  cancelled on one and received on the other, so it counts once), by payment method.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import (
    Case,
    Count,
    DecimalField,
    F,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, TruncMonth
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from core.clock import month_bounds
from crm.models import Customer, Tenant
from finance.models import (
    Account,
    AccountKind,
    Classification,
    Direction,
    FinancialTransaction,
    TransactionLine,
    TransactionState,
)
from gateways.models import WebhookDelivery, WebhookOutcome
from obligations.models import Instalment, InstalmentStatus
from paylinks.models import PaymentRequest, RequestStatus
from payments.models import GatewayPayment, PaymentStatus
from reports.models import DailyFigure, DailyProductFigure, Segment, SegmentSubject

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=16, decimal_places=2)
DOCUMENTS = (Classification.INVOICE, Classification.CREDIT_NOTE, Classification.INVOICE_CANCELLATION)
REVENUE_CREDITS = (Classification.CREDIT_NOTE, Classification.INVOICE_CANCELLATION)
AGE_BUCKETS = (("current", gettext_lazy("Current")), ("d1_30", "1–30"), ("d31_60", "31–60"), ("d61_90", "61–90"),
               ("d90_plus", "90+"))


def _sum(expression) -> Coalesce:
    return Coalesce(Sum(expression, output_field=MONEY), Value(ZERO), output_field=MONEY)


# --- periods -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Calendar days ``start``..``end`` (both included) in the tenant's time zone."""

    start: date
    end: date
    time_zone: str = "UTC"

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=ZoneInfo(self.time_zone))

    @property
    def end_at(self) -> datetime:
        """The first instant after the period."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=ZoneInfo(self.time_zone))

    def posted(self) -> Q:
        return Q(posted_at__gte=self.start_at, posted_at__lt=self.end_at)


def this_month(*, tenant: Tenant, today: date) -> Period:
    start, end = month_bounds(today)
    return Period(start=start, end=end, time_zone=tenant.time_zone)


def last_twelve_months(*, tenant: Tenant, today: date) -> Period:
    """The current month and the eleven before it."""
    start = today.replace(day=1)
    for _month in range(11):
        start = (start - timedelta(days=1)).replace(day=1)
    return Period(start=start, end=this_month(tenant=tenant, today=today).end, time_zone=tenant.time_zone)


def months_of(period: Period) -> list[date]:
    months, month = [], period.start.replace(day=1)
    while month <= period.end:
        months.append(month)
        month = (month + timedelta(days=32)).replace(day=1)
    return months


# --- filters ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFilter:
    currency: str = ""
    customer_id: int | None = None
    classification: str = ""
    segment: Segment | None = None


def _posted(tenant: Tenant, period: Period) -> QuerySet[FinancialTransaction]:
    return FinancialTransaction.objects.filter(period.posted(), tenant=tenant, state=TransactionState.POSTED)


def _filtered(rows: QuerySet[FinancialTransaction], filters: ReportFilter, *, today: date) -> QuerySet:
    if filters.currency:
        rows = rows.filter(currency=filters.currency)
    if filters.customer_id:
        rows = rows.filter(account__customer_id=filters.customer_id)
    if filters.classification:
        rows = rows.filter(classification=filters.classification)
    if filters.segment is not None:
        rows = rows.filter(segment_q(filters.segment, today=today))
    return rows


# --- segments --------------------------------------------------------------------------------------


def segment_q(segment: Segment, *, today: date) -> Q:
    """The condition a segment of transactions puts on ``FinancialTransaction`` rows (of customer
    accounts only)."""
    rules = segment.rules or {}
    q = Q(account__kind=AccountKind.CUSTOMER)  # the system accounts are nobody's segment
    if rules.get("classification"):
        q &= Q(classification=rules["classification"])
    if rules.get("currency"):
        q &= Q(currency=rules["currency"])
    if rules.get("state"):
        q &= Q(state=rules["state"])
    if rules.get("overdue_days") not in (None, ""):
        q &= Q(direction=Direction.DEBIT, state=TransactionState.POSTED, open_amount__gt=0,
               due_on__lt=today - timedelta(days=int(rules["overdue_days"])))
    if rules.get("min_amount") not in (None, ""):
        q &= Q(total_amount__gte=Decimal(str(rules["min_amount"])))
    return q


def segment_transactions(*, segment: Segment, today: date) -> QuerySet[FinancialTransaction]:
    """The transactions a segment of transactions selects, newest first, with what a row shows."""
    rows = FinancialTransaction.objects.filter(segment_q(segment, today=today), tenant=segment.tenant_id)
    return rows.select_related("account", "account__customer", "type").order_by("-posted_at", "-id")


def segment_customer_ids(*, segment: Segment, today: date) -> QuerySet:
    """The customers a segment reaches (for a bulk message): those of its transactions, or those
    whose accounts match a segment of customers."""
    if segment.subject == SegmentSubject.INSTALMENTS:
        return segment_instalments(segment=segment, today=today).order_by().values("obligation__customer_id").distinct()
    if segment.subject == SegmentSubject.TRANSACTIONS:
        return FinancialTransaction.objects.filter(
            segment_q(segment, today=today), tenant=segment.tenant_id, account__customer__isnull=False,
        ).values("account__customer_id").distinct()
    rules = segment.rules or {}
    rows = Customer.objects.filter(tenant=segment.tenant_id)
    account_q = Q()
    if rules.get("currency"):
        account_q &= Q(accounts__currency=rules["currency"])
    if rules.get("min_balance") not in (None, ""):
        account_q &= Q(accounts__balance__gte=Decimal(str(rules["min_balance"])))
    if rules.get("overdue_days") not in (None, ""):
        account_q &= Q(
            accounts__transactions__direction=Direction.DEBIT, accounts__transactions__state=TransactionState.POSTED,
            accounts__transactions__open_amount__gt=0,
            accounts__transactions__due_on__lt=today - timedelta(days=int(rules["overdue_days"])),
        )
    return rows.filter(account_q).values("pk").distinct()


def segment_instalments(*, segment: Segment, today: date) -> QuerySet:
    """The instalments a segment of instalments selects, by due date."""
    rules = segment.rules or {}
    rows = Instalment.objects.filter(tenant=segment.tenant_id)
    if rules.get("currency"):
        rows = rows.filter(obligation__currency=rules["currency"])
    if rules.get("state") in InstalmentStatus.values:
        rows = rows.filter(status=rules["state"])
    if rules.get("overdue_days") not in (None, ""):
        rows = rows.filter(status=InstalmentStatus.UNPAID,
                           due_on__lt=today - timedelta(days=int(rules["overdue_days"])))
    if rules.get("min_amount") not in (None, ""):
        rows = rows.filter(amount__gte=Decimal(str(rules["min_amount"])))
    return rows.select_related("obligation__customer").order_by("due_on", "id")


def segments_of(*, tenant: Tenant) -> QuerySet[Segment]:
    return Segment.objects.filter(tenant=tenant).select_related("created_by").order_by("name", "id")


def get_segment(*, tenant: Tenant, segment_id) -> Segment:
    try:
        return Segment.objects.get(tenant=tenant, pk=int(segment_id))
    except (Segment.DoesNotExist, ValueError, TypeError):
        raise Http404(_("No such segment.")) from None


def posting_span(*, rows: QuerySet[FinancialTransaction], time_zone: str) -> tuple[date, date] | None:
    """The first and last local posting dates of ``rows``, or ``None`` when none is posted."""
    span = rows.filter(posted_at__isnull=False).aggregate(first=Min("posted_at"), last=Max("posted_at"))
    if span["first"] is None:
        return None
    zone = ZoneInfo(time_zone)
    return span["first"].astimezone(zone).date(), span["last"].astimezone(zone).date()


# --- transactions posted in a period ----------------------------------------------------------------


def transactions_posted(*, tenant: Tenant, period: Period, filters: ReportFilter, today: date,
                        documents_only: bool = False) -> QuerySet[FinancialTransaction]:
    """Posted in the period, oldest first, with what a row shows joined."""
    rows = _filtered(_posted(tenant, period), filters, today=today)
    if documents_only:
        rows = rows.filter(classification__in=DOCUMENTS)
    return rows.select_related("account", "account__customer", "type", "related").order_by("posted_at", "id")


def totals_by_classification(rows: QuerySet[FinancialTransaction]) -> list[dict]:
    """One query: per currency and classification, the count and the sums of each amount."""
    return list(
        rows.order_by().values("currency", "classification").annotate(
            count=Count("id"), net=_sum("net_amount"), discount=_sum("discount_amount"), tax=_sum("tax_amount"),
            total=_sum("total_amount"),
        ).order_by("currency", "classification")
    )


def transaction_totals(*, tenant: Tenant, period: Period, filters: ReportFilter, today: date,
                       documents_only: bool = False) -> list[dict]:
    """``totals_by_classification`` of ``transactions_posted``: from the daily figures unless a
    customer or a segment narrows it (a year of a large ledger is millions of rows; its figures, a
    few thousand)."""
    if not figures_serve(filters):
        return totals_by_classification(transactions_posted(
            tenant=tenant, period=period, filters=filters, today=today, documents_only=documents_only))
    rows = _filtered_figures(tenant, period, filters)
    if documents_only:
        rows = rows.filter(classification__in=DOCUMENTS)
    return list(rows.order_by().values("currency", "classification").annotate(
        count=Sum("count"), net=_sum("net_amount"), discount=_sum("discount_amount"), tax=_sum("tax_amount"),
        total=_sum("total_amount"),
    ).order_by("currency", "classification"))


# --- revenue -----------------------------------------------------------------------------------------


def _customer_rows(tenant: Tenant, period: Period, filters: ReportFilter, today: date,
                   classifications) -> QuerySet[FinancialTransaction]:
    """Posted in the period on customer accounts. The system accounts are left out with a small
    ``NOT IN`` list rather than a join, so the scan can stay on the covering index."""
    system = Account.objects.filter(tenant=tenant).exclude(kind=AccountKind.CUSTOMER).values("pk")
    return _filtered(_posted(tenant, period), filters, today=today).filter(
        classification__in=classifications).exclude(account__in=system)


def revenue_by_type(*, tenant: Tenant, period: Period, filters: ReportFilter, today: date) -> list[dict]:
    """Per currency, classification and transaction type: count, net, discount, tax, total without
    tax (net − discount); credits as positive amounts (the page marks them subtracted). From the
    daily figures unless a customer or a segment narrows it."""
    if figures_serve(filters):
        return revenue_by_type_from_figures(tenant=tenant, period=period, filters=filters)
    return revenue_by_type_from_rows(tenant=tenant, period=period, filters=filters, today=today)


def revenue_by_type_from_rows(*, tenant: Tenant, period: Period, filters: ReportFilter, today: date) -> list[dict]:
    """``revenue_by_type`` from the ledger's rows. Two queries: invoices and credit notes from their
    own amounts, and invoice cancellations from the amounts of the invoices they cancel (a join only
    those rows need)."""
    own = _customer_rows(tenant, period, filters, today, [Classification.INVOICE, Classification.CREDIT_NOTE])
    cancellations = _customer_rows(tenant, period, filters, today, [Classification.INVOICE_CANCELLATION])
    groups = ("currency", "classification", "type__name")
    rows = list(own.order_by().values(*groups).annotate(
        count=Count("id"), net=_sum("net_amount"), discount=_sum("discount_amount"), tax=_sum("tax_amount"),
        without_tax=_sum(F("net_amount") - F("discount_amount")),
    ))
    rows += list(cancellations.order_by().values(*groups).annotate(
        count=Count("id"), net=_sum(Coalesce("related__net_amount", "net_amount")),
        discount=_sum(Coalesce("related__discount_amount", Value(ZERO))),
        tax=_sum(Coalesce("related__tax_amount", Value(ZERO))),
        without_tax=_sum(Coalesce(F("related__net_amount") - F("related__discount_amount"), "net_amount")),
    ))
    return sorted(rows, key=lambda r: (r["currency"], r["classification"], r["type__name"]))


def revenue_totals(by_type: list[dict]) -> list[dict]:
    """Per currency: revenue (net, discount, tax, total without tax), credits subtracted — the sum
    of the few groups ``revenue_by_type`` computed in the database, not of ledger rows."""
    totals: dict[str, dict] = {}
    for row in by_type:
        sign = -1 if row["classification"] in REVENUE_CREDITS else 1
        total = totals.setdefault(row["currency"], {"currency": row["currency"], "net": ZERO, "discount": ZERO,
                                                    "tax": ZERO, "without_tax": ZERO})
        for key in ("net", "discount", "tax", "without_tax"):
            total[key] += sign * row[key]
    return [totals[c] for c in sorted(totals)]


def write_offs(*, tenant: Tenant, period: Period, filters: ReportFilter, today: date) -> list[dict]:
    if figures_serve(filters):
        return write_offs_from_figures(tenant=tenant, period=period, filters=filters)
    return write_offs_from_rows(tenant=tenant, period=period, filters=filters, today=today)


def write_offs_from_rows(*, tenant: Tenant, period: Period, filters: ReportFilter, today: date) -> list[dict]:
    rows = _filtered(_posted(tenant, period), filters, today=today).filter(classification=Classification.WRITE_OFF)
    return list(rows.order_by().values("currency").annotate(
        count=Count("id"), without_tax=_sum(F("net_amount") - F("discount_amount")), tax=_sum("tax_amount"),
        total=_sum("total_amount"),
    ).order_by("currency"))


def receipts_by_method(*, tenant: Tenant, period: Period, filters: ReportFilter, today: date) -> list[dict]:
    """Per currency and payment method: received, cancelled and net (received − cancelled). From the
    daily figures unless a customer or a segment narrows it."""
    if figures_serve(filters):
        return receipts_by_method_from_figures(tenant=tenant, period=period, filters=filters)
    return receipts_by_method_from_rows(tenant=tenant, period=period, filters=filters, today=today)


def receipts_by_method_from_rows(*, tenant: Tenant, period: Period, filters: ReportFilter,
                                 today: date) -> list[dict]:
    """``receipts_by_method`` from the ledger's rows. Two queries: payments by their method, payment
    cancellations by the method of the payment cancelled."""
    rows = _filtered(_posted(tenant, period), filters, today=today)
    received = rows.filter(classification=Classification.PAYMENT).order_by().annotate(
        method=Coalesce("payment_method__name", Value("—"))
    ).values("currency", "method").annotate(count=Count("id"), amount=_sum("total_amount"))
    cancelled = rows.filter(classification=Classification.PAYMENT_CANCELLATION).order_by().annotate(
        method=Coalesce("related__payment_method__name", Value("—"))
    ).values("currency", "method").annotate(count=Count("id"), amount=_sum("total_amount"))
    return _merge_receipts(received, cancelled)


def _merge_receipts(received, cancelled) -> list[dict]:
    merged: dict[tuple, dict] = {}
    for group, key in ((received, "received"), (cancelled, "cancelled")):
        for row in group:
            target = merged.setdefault((row["currency"], row["method"]), {
                "currency": row["currency"], "method": row["method"], "count": 0, "received": ZERO,
                "cancelled": ZERO})
            target[key] = row["amount"]
            if key == "received":
                target["count"] = row["count"]
    for row in merged.values():
        row["net"] = row["received"] - row["cancelled"]
    return [merged[k] for k in sorted(merged)]


# --- aged receivables --------------------------------------------------------------------------------


def _age_buckets(today: date) -> dict:
    open_amount = F("open_amount")
    return {
        "current": _sum(Case(When(due_on__gte=today, then=open_amount))),
        "d1_30": _sum(Case(When(due_on__lt=today, due_on__gte=today - timedelta(days=30), then=open_amount))),
        "d31_60": _sum(Case(When(due_on__lt=today - timedelta(days=30), due_on__gte=today - timedelta(days=60),
                                 then=open_amount))),
        "d61_90": _sum(Case(When(due_on__lt=today - timedelta(days=60), due_on__gte=today - timedelta(days=90),
                                 then=open_amount))),
        "d90_plus": _sum(Case(When(due_on__lt=today - timedelta(days=90), then=open_amount))),
        "total": _sum(open_amount),
    }


def _open_debits(tenant: Tenant, filters: ReportFilter, today: date) -> QuerySet:
    system = Account.objects.filter(tenant=tenant).exclude(kind=AccountKind.CUSTOMER).values("pk")
    rows = FinancialTransaction.objects.filter(
        tenant=tenant, state=TransactionState.POSTED, direction=Direction.DEBIT, open_amount__gt=0,
    ).exclude(account__in=system)
    return _filtered(rows, filters, today=today)


def aged_receivables(*, tenant: Tenant, filters: ReportFilter, today: date) -> list[dict]:
    """Per account: what is owed, by days past due on ``today`` (current, 1–30, 31–60, 61–90, 90+),
    largest total first. One query over the open debits (on the covering partial index); one row per
    account, named by ``name_accounts`` for the rows a page shows."""
    return list(_open_debits(tenant, filters, today).order_by().values("account_id", "currency").annotate(
        **_age_buckets(today)).order_by("-total", "account_id"))


def name_accounts(rows: list[dict]) -> list[dict]:
    """Add each account's and customer's name to these aged rows (one query)."""
    names = {pk: (name, customer) for pk, name, customer in Account.objects.filter(
        pk__in=[r["account_id"] for r in rows]).values_list("pk", "name", "customer__name")}
    for row in rows:
        row["account__name"], customer = names.get(row["account_id"], ("", ""))
        row["account__customer__name"] = customer or ""
    return rows


def aged_totals(rows: list[dict]) -> list[dict]:
    """Per currency: the number of accounts and each bucket — the sum of the per-account groups
    ``aged_receivables`` computed in the database."""
    keys = [key for key, _ in AGE_BUCKETS] + ["total"]
    totals: dict[str, dict] = {}
    for row in rows:
        total = totals.setdefault(row["currency"], {"currency": row["currency"], "accounts": 0,
                                                    **{key: ZERO for key in keys}})
        total["accounts"] += 1
        for key in keys:
            total[key] += row[key]
    return [totals[c] for c in sorted(totals)]


# --- payment requests --------------------------------------------------------------------------------


def payment_requests_by_staff(*, tenant: Tenant, period: Period, filters: ReportFilter) -> list[dict]:
    """Payment requests created in the period, per currency, staff member and status: count and amount."""
    rows = PaymentRequest.objects.filter(tenant=tenant, created_at__gte=period.start_at, created_at__lt=period.end_at)
    if filters.currency:
        rows = rows.filter(currency=filters.currency)
    if filters.customer_id:
        rows = rows.filter(customer_id=filters.customer_id)
    return list(rows.order_by().values(
        "currency", "created_by_id", "created_by__username", "created_by__first_name", "created_by__last_name",
        "status",
    ).annotate(count=Count("id"), amount=_sum("amount")).order_by("currency", "created_by__username", "status"))


@dataclass
class StaffRow:
    currency: str
    name: str
    cells: dict = field(default_factory=dict)
    columns: list = field(default_factory=list)
    count: int = 0
    amount: Decimal = ZERO


def pivot_requests(groups: list[dict]) -> tuple[list[StaffRow], list[StaffRow]]:
    """Lay the grouped figures out as a table: a row per currency and staff member, a cell per
    status, and a totals row per currency (sums of already-aggregated groups, a handful of rows)."""
    rows: dict[tuple, StaffRow] = {}
    totals: dict[str, StaffRow] = {}
    for group in groups:
        who = " ".join(p for p in [group["created_by__first_name"], group["created_by__last_name"]] if p)
        name = who or group["created_by__username"] or "API"
        row = rows.setdefault((group["currency"], group["created_by_id"]), StaffRow(group["currency"], name))
        total = totals.setdefault(group["currency"], StaffRow(group["currency"], _("Total")))
        for target in (row, total):
            cell = target.cells.setdefault(group["status"], {"count": 0, "amount": ZERO})
            cell["count"] += group["count"]
            cell["amount"] += group["amount"]
            target.count += group["count"]
            target.amount += group["amount"]
    for row in [*rows.values(), *totals.values()]:
        row.columns = [row.cells.get(status) for status, _ in RequestStatus.choices]
    return list(rows.values()), list(totals.values())


REQUEST_STATUSES = RequestStatus.choices


# --- dashboards --------------------------------------------------------------------------------------


def _by_month(rows: QuerySet, tenant: Tenant, amount) -> list[dict]:
    return list(
        rows.order_by().annotate(month=TruncMonth("posted_at", tzinfo=ZoneInfo(tenant.time_zone)))
        .values("currency", "month").annotate(amount=_sum(amount)).order_by("currency", "month")
    )


def receipts_by_month(*, tenant: Tenant, period: Period) -> list[dict]:
    rows = _posted(tenant, period).filter(
        classification__in=[Classification.PAYMENT, Classification.PAYMENT_CANCELLATION]
    )
    signed = Case(When(classification=Classification.PAYMENT_CANCELLATION, then=-F("total_amount")),
                  default=F("total_amount"), output_field=MONEY)
    return _by_month(rows, tenant, signed)


def revenue_by_month(*, tenant: Tenant, period: Period) -> list[dict]:
    """Two queries (see ``revenue_by_type``), merged month by month."""
    own = _customer_rows(tenant, period, ReportFilter(), period.end,
                         [Classification.INVOICE, Classification.CREDIT_NOTE])
    cancellations = _customer_rows(tenant, period, ReportFilter(), period.end, [Classification.INVOICE_CANCELLATION])
    without_tax = F("net_amount") - F("discount_amount")
    merged: dict[tuple, dict] = {}
    for row in [*_by_month(own, tenant, Case(When(classification=Classification.CREDIT_NOTE, then=-without_tax),
                                             default=without_tax, output_field=MONEY)),
                *_by_month(cancellations, tenant, -Coalesce(F("related__net_amount") - F("related__discount_amount"),
                                                           "net_amount", output_field=MONEY))]:
        target = merged.setdefault((row["currency"], row["month"]), {**row, "amount": ZERO})
        target["amount"] += row["amount"]
    return [merged[k] for k in sorted(merged)]


def average_revenue_per_product(*, tenant: Tenant, period: Period) -> list[dict]:
    """Per currency and product: invoice lines posted in the period, their revenue without tax
    (net − discount), and the average per line."""
    system = Account.objects.filter(tenant=tenant).exclude(kind=AccountKind.CUSTOMER).values("pk")
    rows = TransactionLine.objects.filter(
        tenant=tenant, transaction__state=TransactionState.POSTED, transaction__classification=Classification.INVOICE,
        transaction__posted_at__gte=period.start_at, transaction__posted_at__lt=period.end_at,
    ).exclude(transaction__account__in=system)
    return list(
        rows.order_by().annotate(name=Coalesce("product__name", Value(_("No product"))))
        .values("transaction__currency", "product_id", "name")
        .annotate(lines=Count("id"), revenue=_sum(F("net_amount") - F("discount_amount")))
        .annotate(average=Cast(F("revenue") / F("lines"), MONEY))  # numeric(16, 2): rounded half away from 0
        .order_by("transaction__currency", "-revenue", "name")
    )


# --- dashboards, from the daily figures ---------------------------------------------------------------
#
# The figures above, read from ``DailyFigure`` / ``DailyProductFigure`` (kept by triggers where
# postings happen) instead of a year of postings: a few thousand rows a year, whatever the ledger's
# size. Their days are the tenant's calendar days, so any period of whole days reads them exactly;
# tests check they equal the aggregates above.


def _figures(tenant: Tenant, period: Period) -> QuerySet[DailyFigure]:
    return DailyFigure.objects.filter(tenant=tenant, day__gte=period.start, day__lte=period.end)


def _figures_by_month(rows: QuerySet, amount) -> list[dict]:
    return list(rows.order_by().annotate(month=TruncMonth("day")).values("currency", "month")
                .annotate(amount=_sum(amount)).order_by("currency", "month"))


def figures_serve(filters: ReportFilter) -> bool:
    """Whether the daily figures can answer for these filters: they keep currency and
    classification, not customers (nor, so, segments)."""
    return not filters.customer_id and filters.segment is None


def _filtered_figures(tenant: Tenant, period: Period, filters: ReportFilter) -> QuerySet[DailyFigure]:
    rows = _figures(tenant, period)
    if filters.currency:
        rows = rows.filter(currency=filters.currency)
    if filters.classification:
        rows = rows.filter(classification=filters.classification)
    return rows


def revenue_by_type_from_figures(*, tenant: Tenant, period: Period, filters: ReportFilter) -> list[dict]:
    """``revenue_by_type`` from the daily figures (their ``revenue_*`` sums take an invoice
    cancellation's amounts from the invoice it cancels). One query."""
    rows = _filtered_figures(tenant, period, filters).filter(
        customer_account=True,
        classification__in=[Classification.INVOICE, Classification.CREDIT_NOTE, Classification.INVOICE_CANCELLATION])
    groups = rows.order_by().values("currency", "classification", "type__name").annotate(
        count=Sum("count"), net=_sum("revenue_net"), discount=_sum("revenue_discount"), tax=_sum("revenue_tax"),
        without_tax=_sum("revenue_without_tax"),
    )
    return sorted(groups, key=lambda r: (r["currency"], r["classification"], r["type__name"]))


def write_offs_from_figures(*, tenant: Tenant, period: Period, filters: ReportFilter) -> list[dict]:
    rows = _filtered_figures(tenant, period, filters).filter(classification=Classification.WRITE_OFF)
    return list(rows.order_by().values("currency").annotate(
        count=Sum("count"), without_tax=_sum(F("net_amount") - F("discount_amount")), tax=_sum("tax_amount"),
        total=_sum("total_amount"),
    ).order_by("currency"))


def receipts_by_method_from_figures(*, tenant: Tenant, period: Period, filters: ReportFilter) -> list[dict]:
    """``receipts_by_method`` from the daily figures (a payment cancellation's method is the cancelled
    payment's). One query, split in two here."""
    groups = list(_filtered_figures(tenant, period, filters).filter(
        classification__in=[Classification.PAYMENT, Classification.PAYMENT_CANCELLATION],
    ).order_by().annotate(method_name=Coalesce("method__name", Value("—"))).values(
        "currency", "method_name", "classification").annotate(n=Sum("count"), amount=_sum("total_amount")))
    split: dict[str, list[dict]] = {Classification.PAYMENT: [], Classification.PAYMENT_CANCELLATION: []}
    for g in groups:
        split[g["classification"]].append(
            {"currency": g["currency"], "method": g["method_name"], "count": g["n"], "amount": g["amount"]})
    received, cancelled = split[Classification.PAYMENT], split[Classification.PAYMENT_CANCELLATION]
    return _merge_receipts(received, cancelled)


def rolled_up_receipts_by_month(*, tenant: Tenant, period: Period) -> list[dict]:
    """``receipts_by_month``, from the daily figures (``month`` a date)."""
    rows = _figures(tenant, period).filter(
        classification__in=[Classification.PAYMENT, Classification.PAYMENT_CANCELLATION])
    return _figures_by_month(rows, Case(
        When(classification=Classification.PAYMENT_CANCELLATION, then=-F("total_amount")),
        default=F("total_amount"), output_field=MONEY))


def rolled_up_revenue_by_month(*, tenant: Tenant, period: Period) -> list[dict]:
    """``revenue_by_month``, from the daily figures (``month`` a date)."""
    rows = _figures(tenant, period).filter(
        customer_account=True,
        classification__in=[Classification.INVOICE, Classification.CREDIT_NOTE, Classification.INVOICE_CANCELLATION])
    return _figures_by_month(rows, Case(
        When(classification__in=REVENUE_CREDITS, then=-F("revenue_without_tax")),
        default=F("revenue_without_tax"), output_field=MONEY))


def rolled_up_revenue_per_product(*, tenant: Tenant, period: Period) -> list[dict]:
    """``average_revenue_per_product``, from the daily figures."""
    groups = (
        DailyProductFigure.objects.filter(tenant=tenant, day__gte=period.start, day__lte=period.end).order_by()
        .annotate(name=Coalesce("product__name", Value(_("No product")))).values("currency", "product_id", "name")
        .annotate(line_count=Sum("lines"), revenue_sum=_sum("revenue"))
        .annotate(average=Cast(F("revenue_sum") / F("line_count"), MONEY))  # as average_revenue_per_product
        .order_by("currency", "-revenue_sum", "name")
    )
    return [{"transaction__currency": g["currency"], "product_id": g["product_id"], "name": g["name"],
             "lines": g["line_count"], "revenue": g["revenue_sum"], "average": g["average"]} for g in groups]


# --- instalments (payments' obligations) -------------------------------------------------------------


def _unpaid_instalments(tenant: Tenant, filters: ReportFilter) -> QuerySet:
    rows = Instalment.objects.filter(tenant=tenant, status=InstalmentStatus.UNPAID)
    if filters.currency:
        rows = rows.filter(obligation__currency=filters.currency)
    if filters.customer_id:
        rows = rows.filter(obligation__customer_id=filters.customer_id)
    return rows


def instalments_due(*, tenant: Tenant, period: Period, filters: ReportFilter, today: date) -> QuerySet:
    """Unpaid instalments due in the period, and every unpaid one already overdue on ``today``."""
    return _unpaid_instalments(tenant, filters).filter(
        Q(due_on__gte=period.start, due_on__lte=period.end) | Q(due_on__lt=today)
    ).select_related("obligation__customer").order_by("due_on", "id")


def instalment_totals(*, tenant: Tenant, period: Period, filters: ReportFilter, today: date) -> list[dict]:
    """Per currency: unpaid instalments due in the period (not yet overdue) and overdue on ``today``."""
    due = Q(due_on__gte=max(period.start, today), due_on__lte=period.end)
    overdue = Q(due_on__lt=today)
    return list(_unpaid_instalments(tenant, filters).filter(due | overdue).order_by().values(
        currency=F("obligation__currency")
    ).annotate(
        due_count=Count("id", filter=due), due_amount=_sum(Case(When(due, then=F("amount")))),
        overdue_count=Count("id", filter=overdue), overdue_amount=_sum(Case(When(overdue, then=F("amount")))),
    ).order_by("currency"))


def instalments_due_this_week(*, tenant: Tenant, today: date) -> int:
    """Unpaid instalments due from Monday to Sunday of ``today``'s week."""
    monday = today - timedelta(days=today.weekday())
    return Instalment.objects.filter(tenant=tenant, status=InstalmentStatus.UNPAID, due_on__gte=monday,
                                     due_on__lte=monday + timedelta(days=6)).count()


@dataclass(frozen=True)
class TodayCounts:
    payments_processing: int
    links_expiring: int
    webhook_failures: int
    instalments_due_this_week: int


def today_counts(*, tenant: Tenant, now: datetime, today: date) -> TodayCounts:
    """The counts that matter today, one query each."""
    return TodayCounts(
        payments_processing=GatewayPayment.objects.filter(tenant=tenant, status=PaymentStatus.PROCESSING).count(),
        links_expiring=PaymentRequest.objects.filter(
            tenant=tenant, status=RequestStatus.OPEN, expires_at__gt=now, expires_at__lte=now + timedelta(hours=24)
        ).count(),
        webhook_failures=WebhookDelivery.objects.filter(
            tenant=tenant, outcome=WebhookOutcome.FAILED, received_at__gte=now - timedelta(days=7)
        ).count(),
        instalments_due_this_week=instalments_due_this_week(tenant=tenant, today=today),
    )


OVERDUE_BUCKETS = (("d1_30", 1, 30), ("d31_60", 31, 60), ("d61_90", 61, 90), ("d90_plus", 91, None))


def overdue_by_bucket(*, tenant: Tenant, today: date) -> list[dict]:
    """Per currency: how many open debits (invoices, fees) are overdue on ``today`` and for how much, by days
    past due (1–30, 31–60, 61–90, 90+). One query over the open debits."""
    measures = {}
    for key, first, last in OVERDUE_BUCKETS:
        late = Q(due_on__lte=today - timedelta(days=first))
        if last is not None:
            late &= Q(due_on__gte=today - timedelta(days=last))
        measures[f"{key}_count"] = Count("pk", filter=late)
        measures[f"{key}_amount"] = Coalesce(Sum("open_amount", filter=late), ZERO)
    rows = _open_debits(tenant, ReportFilter(), today).filter(due_on__lt=today).order_by().values("currency")
    return list(rows.annotate(**measures).order_by("currency"))
