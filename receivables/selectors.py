"""Reading what receivables needs: a statement of account for a period, the invoices a dunning level is
due for, an invoice's dunning state, and the levels and settings of a tenant."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db.models import Case, Count, DecimalField, F, Q, Sum, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.translation import gettext_lazy

from billing import selectors as billing_selectors
from core.clock import month_bounds
from crm.models import Tenant
from finance.models import (
    Account,
    Allocation,
    Classification,
    Direction,
    FinancialTransaction,
    TransactionState,
)
from obligations.selectors import instalment_invoice_ids
from receivables.models import DunningLevel, DunningNotice, InvoiceHold, ReceivablesSettings, StatementSend

ZERO = Decimal("0.00")
MONEY = DecimalField(max_digits=16, decimal_places=2)
AGE_BUCKETS = (("current", gettext_lazy("Current")), ("d1_30", "1–30"), ("d31_60", "31–60"), ("d61_90", "61–90"),
               ("d90_plus", "90+"), ("credit", gettext_lazy("Unallocated credit")))


def receivables_settings(*, tenant: Tenant) -> ReceivablesSettings:
    """The tenant's settings, unsaved defaults until it saves its own."""
    return ReceivablesSettings.objects.filter(tenant=tenant).first() or ReceivablesSettings(tenant=tenant)


def levels_of(*, tenant: Tenant) -> list[DunningLevel]:
    return list(DunningLevel.objects.filter(tenant=tenant).select_related("fee_type").order_by("days", "id"))


def get_level(*, tenant: Tenant, level_id) -> DunningLevel:
    level = DunningLevel.objects.filter(tenant=tenant, pk=level_id).first()
    if level is None:
        raise Http404
    return level


# --- statements of account ------------------------------------------------------------------------------


@dataclass
class StatementRow:
    txn: FinancialTransaction
    debit: Decimal
    credit: Decimal
    balance: Decimal


@dataclass
class Statement:
    account: Account
    start: date
    end: date
    opening: Decimal
    rows: list[StatementRow]
    closing: Decimal
    ageing: dict[str, Decimal] = field(default_factory=dict)

    @property
    def currency(self) -> str:
        return self.account.currency

    @property
    def debits(self) -> Decimal:
        return sum((row.debit for row in self.rows), ZERO)

    @property
    def credits(self) -> Decimal:
        return sum((row.credit for row in self.rows), ZERO)

    @property
    def buckets(self) -> list[tuple[str, str, Decimal]]:
        return [(key, str(label), self.ageing[key]) for key, label in AGE_BUCKETS]


def _bounds(tenant: Tenant, start: date, end: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tenant.time_zone)
    return (datetime.combine(start, time.min, tzinfo=zone),
            datetime.combine(end + timedelta(days=1), time.min, tzinfo=zone))


def _signed():
    return Case(When(direction=Direction.DEBIT, then=F("total_amount")), default=-F("total_amount"), output_field=MONEY)


def statement_of(*, account: Account, start: date, end: date) -> Statement:
    """The account's statement for days ``start``..``end`` (both included, in the tenant's time zone): the
    balance before, every transaction posted in the period with the balance after it, the balance at the
    end, and what was open at the end by days past due on ``end`` (credits not yet allocated apart).
    Three queries whatever the number of transactions."""
    tenant = account.tenant
    start_at, end_at = _bounds(tenant, start, end)
    posted = FinancialTransaction.objects.filter(tenant=account.tenant_id, account_id=account.pk,
                                                 state=TransactionState.POSTED)
    opening = posted.filter(posted_at__lt=start_at).aggregate(
        total=Coalesce(Sum(_signed()), Value(ZERO), output_field=MONEY))["total"]
    rows, balance = [], opening
    for txn in posted.filter(posted_at__gte=start_at, posted_at__lt=end_at).select_related("type").order_by(
            "posted_at", "id"):
        debit = txn.total_amount if txn.direction == Direction.DEBIT else ZERO
        credit = ZERO if txn.direction == Direction.DEBIT else txn.total_amount
        balance += debit - credit
        rows.append(StatementRow(txn=txn, debit=debit, credit=credit, balance=balance))
    return Statement(account=account, start=start, end=end, opening=opening, rows=rows, closing=balance,
                     ageing=_ageing(account, end, end_at))


def _ageing(account: Account, end: date, end_at: datetime) -> dict[str, Decimal]:
    """What was open at ``end_at``: each posted transaction's total less the allocations in force then."""
    in_force = Q(created_at__lt=end_at) & (Q(reversed_at__isnull=True) | Q(reversed_at__gte=end_at))
    allocated: dict[int, Decimal] = {}
    for column in ("debit_id", "credit_id"):
        for pk, amount in (Allocation.objects.filter(in_force, tenant=account.tenant_id, account_id=account.pk)
                           .order_by().values(column).annotate(total=Sum("amount")).values_list(column, "total")):
            allocated[pk] = allocated.get(pk, ZERO) + amount
    ageing = dict.fromkeys((key for key, _label in AGE_BUCKETS), ZERO)
    for pk, direction, total, due_on in FinancialTransaction.objects.filter(
            tenant=account.tenant_id, account_id=account.pk, state=TransactionState.POSTED,
            posted_at__lt=end_at).order_by().values_list("pk", "direction", "total_amount", "due_on"):
        open_amount = total - allocated.get(pk, ZERO)
        if not open_amount:
            continue
        if direction != Direction.DEBIT:
            ageing["credit"] -= open_amount
            continue
        late = (end - due_on).days if due_on else 0
        bucket = ("current" if late <= 0 else "d1_30" if late <= 30 else "d31_60" if late <= 60
                  else "d61_90" if late <= 90 else "d90_plus")
        ageing[bucket] += open_amount
    return ageing


def previous_month(today: date) -> tuple[date, date]:
    return month_bounds(today.replace(day=1) - timedelta(days=1))


def statements_sent(*, account: Account) -> list[StatementSend]:
    return list(StatementSend.objects.filter(tenant=account.tenant_id, account=account).select_related("sent_by")[:24])


def statement_accounts(*, tenant: Tenant, start: date, end: date, customer_ids=None) -> list[Account]:
    """Customer accounts worth a statement for the period: a balance at its end or a movement in it, with a
    customer who has an email address."""
    start_at, end_at = _bounds(tenant, start, end)
    moved = FinancialTransaction.objects.filter(tenant=tenant, state=TransactionState.POSTED,
                                                posted_at__gte=start_at, posted_at__lt=end_at).values("account_id")
    accounts = Account.objects.filter(tenant=tenant, customer__isnull=False).exclude(customer__email="").filter(
        Q(pk__in=moved) | ~Q(balance=0)).select_related("customer", "tenant").order_by("pk")
    if customer_ids is not None:
        accounts = accounts.filter(customer_id__in=customer_ids)
    return list(accounts)


# --- dunning -----------------------------------------------------------------------------------------------


def chased_invoices(*, tenant: Tenant):
    """Invoices dunning may chase: posted, with something outstanding and a due date, not a late fee, not
    an instalment's invoice (a payment plan, which obligations remind about), and not a recurring invoice the
    card on file is still to collect (dunning takes over once a charge fails)."""
    return FinancialTransaction.objects.filter(
        tenant=tenant, classification=Classification.INVOICE, state=TransactionState.POSTED, open_amount__gt=0,
        due_on__isnull=False, account__customer__isnull=False,
    ).exclude(pk__in=instalment_invoice_ids(tenant=tenant)).exclude(pk__in=DunningNotice.objects.filter(
        tenant=tenant, late_fee__isnull=False).values("late_fee_id")).exclude(
        pk__in=billing_selectors.invoices_awaiting_card(tenant=tenant).values("invoice_id"))


def holds_in_force(*, tenant: Tenant, today: date):
    return InvoiceHold.objects.filter(tenant=tenant, released_at__isnull=True).filter(
        Q(until__isnull=True) | Q(until__gte=today))


def hold_of(*, invoice: FinancialTransaction, today: date) -> InvoiceHold | None:
    return holds_in_force(tenant=invoice.tenant_id, today=today).filter(invoice=invoice).select_related(
        "created_by").first()


def notices_of(*, invoice: FinancialTransaction) -> list[DunningNotice]:
    return list(DunningNotice.objects.filter(tenant=invoice.tenant_id, invoice=invoice).select_related(
        "level", "late_fee", "waiver", "waived_by").order_by("level__days", "id"))


def notice_for_fee(*, fee: FinancialTransaction) -> DunningNotice | None:
    return DunningNotice.objects.filter(tenant=fee.tenant_id, late_fee=fee).select_related(
        "invoice", "level", "waiver").first()


# --- reports -------------------------------------------------------------------------------------------------


def invoices_at_level(*, tenant: Tenant) -> list[dict]:
    """Per level (and currency): the open invoices whose latest notice sent is at it, and what they owe."""
    latest = (DunningNotice.objects.filter(tenant=tenant, state="sent", invoice__state=TransactionState.POSTED,
                                           invoice__open_amount__gt=0)
              .order_by("invoice_id", "-level__days").distinct("invoice_id")
              .values_list("level_id", "currency", "invoice__open_amount"))
    groups: dict[tuple[int, str], dict] = {}
    for level_id, currency, open_amount in latest:
        group = groups.setdefault((level_id, currency), {"level_id": level_id, "currency": currency, "count": 0,
                                                         "amount": ZERO})
        group["count"] += 1
        group["amount"] += open_amount
    names = {level.pk: level for level in levels_of(tenant=tenant)}
    return [group | {"level": names[group["level_id"]]} for group in sorted(
        groups.values(), key=lambda g: (names[g["level_id"]].days, g["currency"]))]


def notices_by_level(*, tenant: Tenant, start_at: datetime, end_at: datetime) -> list[dict]:
    """Per level: the notices sent (and levels passed over) in the period, and the late fees charged and waived."""
    rows = (DunningNotice.objects.filter(tenant=tenant, at__gte=start_at, at__lt=end_at).order_by()
            .values("level_id", "level__name", "level__days", "currency")
            .annotate(sent=Count("pk", filter=Q(state="sent")), passed=Count("pk", filter=Q(state="passed")),
                      fees=Count("late_fee"), fees_amount=Coalesce(Sum("late_fee__total_amount"), Value(ZERO),
                                                                  output_field=MONEY),
                      waived=Count("waiver"), waived_amount=Coalesce(Sum("waiver__total_amount"), Value(ZERO),
                                                                    output_field=MONEY))
            .order_by("level__days", "currency"))
    return list(rows)


def days_sales_outstanding(*, tenant: Tenant, months: list[tuple[date, date]]) -> list[dict]:
    """Per month (oldest first) and currency: what customers owed at its end, the invoices posted in it, and
    days sales outstanding = owed ÷ invoiced × days in the month (None for a month without invoices)."""
    first_at = _bounds(tenant, months[0][0], months[0][1])[0]
    customer = FinancialTransaction.objects.filter(tenant=tenant, state=TransactionState.POSTED,
                                                   account__kind="customer")
    owed_before = dict(customer.filter(posted_at__lt=first_at).order_by().values("currency").annotate(
        total=Sum(_signed())).values_list("currency", "total"))
    rows, owed = [], dict(owed_before)
    for start, end in months:
        start_at, end_at = _bounds(tenant, start, end)
        moved = customer.filter(posted_at__gte=start_at, posted_at__lt=end_at).order_by().values("currency").annotate(
            total=Sum(_signed()), sales=Coalesce(Sum("total_amount", filter=Q(classification=Classification.INVOICE)),
                                                 Value(ZERO), output_field=MONEY))
        by_currency = {row["currency"]: row for row in moved}
        for currency in sorted(set(owed) | set(by_currency)):
            row = by_currency.get(currency, {"total": ZERO, "sales": ZERO})
            owed[currency] = owed.get(currency, ZERO) + row["total"]
            days = (end - start).days + 1
            dso = (owed[currency] / row["sales"] * days).quantize(Decimal("0.1")) if row["sales"] else None
            rows.append({"month": start, "currency": currency, "owed": owed[currency], "sales": row["sales"],
                         "dso": dso})
    return rows
