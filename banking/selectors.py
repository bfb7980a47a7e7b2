"""What the bank pages read: bank accounts with their line counts, lines by state, the suspense ageing."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Lower
from django.shortcuts import get_object_or_404

from banking.models import (
    UNDECIDED,
    BankAccount,
    Direction,
    LineState,
    RefundRun,
    RefundTransfer,
    StatementImport,
    StatementLine,
    TransferState,
)
from crm.models import Tenant
from finance.models import Account, AccountKind, AccountState

TRANSFERRED = [TransferState.SENT, TransferState.CONFIRMED, TransferState.RETURNED]
AGEING_BUCKETS = [(0, 7), (8, 30), (31, 60), (61, None)]


def bank_accounts(*, tenant: Tenant) -> QuerySet[BankAccount]:
    return BankAccount.objects.filter(tenant=tenant).annotate(
        matched=Count("lines", filter=Q(lines__state=LineState.MATCHED)),
        undecided=Count("lines", filter=Q(lines__state__in=UNDECIDED)),
        waiting=Count("lines", filter=Q(lines__state=LineState.NEW)),
        debits=Count("lines", filter=Q(lines__direction=Direction.DEBIT)),
    )


def get_bank_account(*, tenant: Tenant, bank_account_id: int) -> BankAccount:
    return get_object_or_404(BankAccount, tenant=tenant, pk=bank_account_id)


def recent_imports(*, tenant: Tenant, limit: int = 10) -> list[StatementImport]:
    return list(StatementImport.objects.filter(tenant=tenant).select_related("bank_account", "imported_by")[:limit])


def get_import(*, tenant: Tenant, import_id: int) -> StatementImport:
    return get_object_or_404(StatementImport.objects.select_related("bank_account", "imported_by"), tenant=tenant,
                             pk=import_id)


def get_line(*, tenant: Tenant, line_id: int) -> StatementLine:
    return get_object_or_404(
        StatementLine.objects.select_related("bank_account", "payment", "payment__account", "suggested_customer",
                                             "suggested_account", "suggested_invoice", "returns", "decided_by"),
        tenant=tenant, pk=line_id)


def _rows(queryset: QuerySet[StatementLine]) -> QuerySet[StatementLine]:
    return queryset.select_related("payment", "payment__account", "suggested_customer", "suggested_invoice")


def lines_of(*, tenant: Tenant, bank_account: BankAccount | None = None, statement_import=None,
             state: str = "") -> QuerySet[StatementLine]:
    lines = StatementLine.objects.filter(tenant=tenant)
    if bank_account is not None:
        lines = lines.filter(bank_account=bank_account)
    if statement_import is not None:
        lines = lines.filter(statement_import=statement_import)
    if state:
        lines = lines.filter(state=state)
    return _rows(lines).order_by("-booked_on", "-id")


def undecided_lines(*, tenant: Tenant) -> QuerySet[StatementLine]:
    """What waits for a clerk: suggestions first (most confident first), then plain suspense, oldest first."""
    return _rows(StatementLine.objects.filter(tenant=tenant, state__in=UNDECIDED)).order_by(
        "-confidence", "booked_on", "id")


def state_counts(lines: QuerySet[StatementLine]) -> dict[str, int]:
    return dict(lines.order_by().values_list("state").annotate(n=Count("id")))


def suspense_ageing(*, tenant: Tenant, today: date) -> list[dict]:
    """Undecided bank money on suspense, by how long it has waited since it was booked at the bank."""
    rows = []
    for low, high in AGEING_BUCKETS:
        lines = StatementLine.objects.filter(tenant=tenant, state__in=UNDECIDED, booked_on__lte=today - timedelta(low))
        if high is not None:
            lines = lines.filter(booked_on__gte=today - timedelta(high))
        totals = lines.values("currency").annotate(count=Count("id"), total=Sum("amount")).order_by("currency")
        rows.append({"low": low, "high": high, "totals": list(totals)})
    return rows


def accounts_matching(*, tenant: Tenant, query: str, currency: str, limit: int = 10) -> list[Account]:
    """Open customer accounts in ``currency`` whose customer's name contains ``query`` (for "move to account")."""
    query = query.strip()
    if not query:
        return []
    return list(
        Account.objects.filter(tenant=tenant, kind=AccountKind.CUSTOMER, currency=currency)
        .exclude(state=AccountState.TERMINATED)
        .annotate(lower_name=Lower("customer__name"))
        .filter(lower_name__contains=query.lower())
        .select_related("customer").order_by("lower_name", "id")[:limit]
    )


def refund_runs(*, tenant: Tenant, limit: int = 50) -> list[RefundRun]:
    return list(RefundRun.objects.filter(tenant=tenant).select_related("bank_account", "approved_by")
                .annotate(transfer_count=Count("transfers", filter=Q(transfers__state__in=TRANSFERRED)),
                          total=Sum("transfers__amount", filter=Q(transfers__state__in=TRANSFERRED)))[:limit])


def get_refund_run(*, tenant: Tenant, run_id: int) -> RefundRun:
    return get_object_or_404(RefundRun.objects.select_related("bank_account", "tenant", "approved_by"),
                             tenant=tenant, pk=run_id)


def transfers_of(*, run: RefundRun) -> list[RefundTransfer]:
    return list(run.transfers.select_related("account", "refund", "confirmed_by", "returned_by")
                .order_by("state", "name", "id"))
