"""Reads of the ledger shared by pages and the API. Getters answer 404 alike for "missing" and
"another tenant's"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.l10n import day
from core.l10n import money as format_money
from crm.models import Customer, Tenant
from finance.models import (
    Account,
    AccountState,
    Allocation,
    Classification,
    FinancialTransaction,
    LedgerDefinition,
    TransactionState,
)
from notifications.selectors import get_notification_settings

TRANSACTION_LIST_RELATED = ("account", "account__customer", "type", "payment_method", "refund_method")


def ledger_definition(*, tenant: Tenant) -> LedgerDefinition:
    """The tenant's ledger configuration (created with the tenant)."""
    return LedgerDefinition.objects.select_related("due_date_rule").get(tenant=tenant)


def get_account(*, tenant: Tenant, account_id: int) -> Account:
    try:
        return Account.objects.select_related("customer", "due_date_rule").get(tenant=tenant, pk=account_id)
    except (Account.DoesNotExist, ValueError, TypeError):
        raise Http404(gettext("No such account.")) from None


def get_transaction(*, tenant: Tenant, transaction_id: int) -> FinancialTransaction:
    try:
        return FinancialTransaction.objects.select_related(
            *TRANSACTION_LIST_RELATED, "category", "rejection_reason", "issue_reason", "related", "created_by",
            "account__lender", "for_customer",
        ).get(tenant=tenant, pk=transaction_id)
    except (FinancialTransaction.DoesNotExist, ValueError, TypeError):
        raise Http404(gettext("No such transaction.")) from None


def get_customer_with_accounts(*, tenant: Tenant, customer_id) -> Customer:
    """A customer of ``tenant`` (a filter of the ledger's lists); 404 for another tenant's or none."""
    try:
        return Customer.objects.get(tenant=tenant, pk=int(customer_id))
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise Http404(gettext("No such customer.")) from None


def accounts_of(*, customer: Customer) -> QuerySet[Account]:
    return Account.objects.filter(tenant=customer.tenant_id, customer=customer).order_by("currency", "id")


@dataclass(frozen=True)
class TransactionFilter:
    classification: str = ""
    state: str = ""
    account_id: int | None = None
    customer_id: int | None = None
    posted_from: date | None = None
    posted_to: date | None = None
    number: str = ""


def filter_transactions(*, tenant: Tenant, filters: TransactionFilter) -> QuerySet[FinancialTransaction]:
    """The financial transactions summary: newest first, with what a row shows already joined (the
    account's name, not its customer: a customer row costs a phone number parse each)."""
    rows = FinancialTransaction.objects.filter(tenant=tenant).select_related(
        "account", "type", "payment_method", "refund_method"
    )
    if filters.classification:
        rows = rows.filter(classification=filters.classification)
    if filters.state:
        rows = rows.filter(state=filters.state)
    if filters.account_id:
        rows = rows.filter(account_id=filters.account_id)
    if filters.customer_id:
        rows = rows.filter(account__customer_id=filters.customer_id)
    if filters.posted_from:
        rows = rows.filter(posted_at__date__gte=filters.posted_from)
    if filters.posted_to:
        rows = rows.filter(posted_at__date__lte=filters.posted_to)
    if filters.number:
        term = filters.number.strip()
        rows = rows.filter(
            Q(number__icontains=term) | Q(reference_number__icontains=term) | Q(back_office_code__iexact=term)
            | Q(external_reference__iexact=term)
        )
    return rows.order_by("-created_at", "-id")


def open_items(*, account: Account) -> QuerySet[FinancialTransaction]:
    """Posted transactions with something left to allocate, debits by due date then credits."""
    return FinancialTransaction.objects.filter(
        tenant=account.tenant_id, account=account, state=TransactionState.POSTED, open_amount__gt=0
    ).select_related("type").order_by("direction", "due_on", "posted_at", "id")


def allocations_of(*, txn: FinancialTransaction) -> QuerySet[Allocation]:
    """Every allocation of a transaction, reversed ones included (the history)."""
    side = Q(credit=txn) | Q(debit=txn)
    return Allocation.objects.filter(side, tenant=txn.tenant_id).select_related("credit", "debit").order_by(
        "created_at", "id"
    )


def allocations_of_account(*, account: Account) -> QuerySet[Allocation]:
    return Allocation.objects.filter(tenant=account.tenant_id, account=account).select_related(
        "credit", "debit"
    ).order_by("-created_at", "-id")


def _follow_up_exists(txn: FinancialTransaction, classification: str) -> bool:
    return FinancialTransaction.objects.filter(
        tenant=txn.tenant_id, related=txn, classification=classification
    ).exclude(state=TransactionState.REJECTED).exists()


def allowed_actions(*, txn: FinancialTransaction) -> list[str]:
    """The actions the transaction's page offers now; the services refuse any other."""
    if txn.state == TransactionState.DRAFT:
        return ["edit", "post", "reject"]
    if txn.state != TransactionState.POSTED:
        return []
    terminated = txn.account.state == AccountState.TERMINATED
    actions = []
    if txn.classification == Classification.INVOICE:
        cancelled = _follow_up_exists(txn, Classification.INVOICE_CANCELLATION)
        written_off = _follow_up_exists(txn, Classification.WRITE_OFF)
        if not cancelled and not written_off and not terminated:
            actions.append("cancel")
        if txn.open_amount > 0 and not cancelled:
            actions += ["quick_pay", "write_off"]
    if txn.classification == Classification.PAYMENT and not _follow_up_exists(
        txn, Classification.PAYMENT_CANCELLATION
    ):
        if not terminated:
            actions.append("cancel")
        actions.append("move")
    if txn.classification in (Classification.INVOICE, Classification.PAYMENT, Classification.REFUND):
        actions.append("communicate")
    return actions


def cancelled_flags(rows: QuerySet[FinancialTransaction]) -> QuerySet[FinancialTransaction]:
    """Annotate ``is_cancelled`` without a query per row."""
    follow_ups = FinancialTransaction.objects.filter(
        related=OuterRef("pk"),
        classification__in=[Classification.INVOICE_CANCELLATION, Classification.PAYMENT_CANCELLATION],
    ).exclude(state=TransactionState.REJECTED)
    return rows.annotate(is_cancelled=Exists(follow_ups))


# --- reads for the staff pages and the API -------------------------------------------------------

ACCOUNTANT_ACTIONS = frozenset({"post", "reject", "cancel", "write_off", "quick_pay", "move"})
ACCOUNT_TRANSITIONS = {
    AccountState.ACTIVE: ["suspend", "terminate"],
    AccountState.SUSPENDED: ["reactivate", "terminate"],
    AccountState.TERMINATED: [],
}


def accounts_for(*, tenant: Tenant) -> QuerySet[Account]:
    return Account.objects.filter(tenant=tenant).select_related("customer").order_by("name", "id")


def find(*, tenant: Tenant, model, pk) -> object | None:
    """A tenant-owned row by id, or ``None`` for "missing" and "another tenant's" alike (payload
    fields of the API name their own error instead of answering 404)."""
    if pk is None:
        return None
    try:
        return model.objects.filter(tenant=tenant, pk=int(pk)).first()
    except (ValueError, TypeError):
        return None


def lines_of(*, txn: FinancialTransaction) -> QuerySet:
    return txn.lines.filter(tenant=txn.tenant_id).select_related("product", "tax_rate")


def events_of(*, txn: FinancialTransaction) -> QuerySet:
    return txn.events.filter(tenant=txn.tenant_id).select_related("actor")


def notes_of(*, txn: FinancialTransaction) -> QuerySet:
    return txn.notes.filter(tenant=txn.tenant_id).select_related("author")


def targets_of(*, txn: FinancialTransaction) -> list[FinancialTransaction]:
    return [t.invoice for t in txn.targets.filter(tenant=txn.tenant_id).select_related("invoice")]


def open_invoices(*, tenant: Tenant, account: Account | None = None) -> QuerySet[FinancialTransaction]:
    """Posted invoices with something left to pay: what a payment may pay or a credit note credit."""
    rows = FinancialTransaction.objects.filter(
        tenant=tenant, classification=Classification.INVOICE, state=TransactionState.POSTED, open_amount__gt=0
    )
    if account is not None:
        rows = rows.filter(account=account)
    return rows.select_related("account").order_by("due_on", "id")


def transactions_of_account(*, account: Account) -> QuerySet[FinancialTransaction]:
    return FinancialTransaction.objects.filter(tenant=account.tenant_id, account=account).select_related(
        "type"
    ).order_by("-created_at", "-id")


def move_destinations(*, txn: FinancialTransaction) -> QuerySet[Account]:
    """Accounts a payment may move to: the tenant's other accounts in its currency, not terminated."""
    return Account.objects.filter(tenant=txn.tenant_id, currency=txn.currency).exclude(pk=txn.account_id).exclude(
        state=AccountState.TERMINATED
    ).select_related("customer").order_by("kind", "name", "id")


def account_transitions(*, account: Account) -> list[str]:
    return list(ACCOUNT_TRANSITIONS[account.state])


BASE_MESSAGE_TAGS = ("customer.name", "customer.email", "customer.phone", "tenant.name", "tenant.email", "staff.name")


def message_context(*, txn: FinancialTransaction) -> dict[str, str]:
    """The #tag values a message about this transaction can use (see ``notifications.tags``), formatted
    for the active language (the customer's, when a message is written to them)."""
    when = txn.posted_at or txn.issued_at
    values = {"amount": format_money(txn.total_amount, txn.currency), "currency": txn.currency}
    if txn.classification == Classification.INVOICE:
        values |= {
            "invoice.number": txn.number or txn.reference_number, "invoice.reference": txn.reference_number,
            "invoice.date": day(when, "long"), "invoice.total": format_money(txn.total_amount, txn.currency),
            "invoice.outstanding": format_money(txn.open_amount if txn.state == TransactionState.POSTED
                                                 else txn.total_amount, txn.currency),
            "due_date": day(txn.due_on, "long"),
        }
    elif txn.classification == Classification.PAYMENT:
        values |= {
            "payment.number": txn.number or txn.reference_number,
            "payment.reference": txn.external_reference or txn.reference_number, "payment.date": day(when),
            "payment.method": txn.payment_method.name if txn.payment_method_id else "",
        }
    elif txn.classification == Classification.REFUND:
        values |= {"refund.number": txn.number or txn.reference_number,
                   "refund.reference": txn.external_reference or txn.reference_number}
    return values


def subject_ref(txn: FinancialTransaction) -> str:
    """How the notifications app names this transaction: ``finance.invoice:42``."""
    return f"finance.{txn.classification}:{txn.pk}"


# --- printouts and exports ------------------------------------------------------------------------

PRINTABLE = frozenset({
    Classification.INVOICE, Classification.CREDIT_NOTE, Classification.INVOICE_CANCELLATION, Classification.PAYMENT,
})


@dataclass(frozen=True)
class Printout:
    """What a printed ledger document shows. An invoice cancellation prints the lines of the invoice it
    cancels (seed 004: "individual line items in the canceled invoice"); a payment, what it paid."""

    txn: FinancialTransaction
    lines: list
    allocations: list
    reply_to: str

    @property
    def tenant(self) -> Tenant:
        return self.txn.tenant

    @property
    def title(self) -> str:
        return f"{self.txn.get_classification_display()} {self.txn.number or self.txn.reference_number}"


def get_printable(*, tenant: Tenant, transaction_id: int) -> FinancialTransaction:
    """A transaction that has a printout; 404 for any other, another tenant's, or a missing one."""
    txn = get_transaction(tenant=tenant, transaction_id=transaction_id)
    if txn.classification not in PRINTABLE:
        raise Http404(gettext("This transaction has no printout."))
    return txn


def printout_of(*, txn: FinancialTransaction) -> Printout:
    source = txn.related if txn.classification == Classification.INVOICE_CANCELLATION and txn.related_id else txn
    lines = list(lines_of(txn=source))
    allocations = []
    if txn.classification == Classification.PAYMENT:
        allocations = list(
            Allocation.objects.filter(tenant=txn.tenant_id, credit=txn, reversed_at__isnull=True)
            .select_related("debit").order_by("created_at", "id")
        )
    options = get_notification_settings(tenant=txn.tenant)
    return Printout(txn=txn, lines=lines, allocations=allocations, reply_to=options.reply_to_email)


EXPORT_HEADERS = (_("Number"), _("Reference"), _("Classification"), _("Type"), _("State"), _("Account"), _("Customer"),
                  _("Currency"), _("Issued at"), _("Posted at"), _("Due on"), _("Net"), _("Discount"), _("Tax"),
                  _("Total"), _("Open"), _("Payment method"), _("External reference"))
EXPORT_FIELDS = (
    "number", "reference_number", "classification", "type__name", "state", "account__name", "account__customer__name",
    "currency", "issued_at", "posted_at", "due_on", "net_amount", "discount_amount", "tax_amount", "total_amount",
    "open_amount", "payment_method__name", "external_reference",
)


def transaction_export_rows(rows: QuerySet[FinancialTransaction], *, limit: int):
    """The rows of a transaction list export as tuples, read in one query (no model instances)."""
    return rows.values_list(*EXPORT_FIELDS)[:limit].iterator(chunk_size=2000)


# --- the customer's own invoices (the portal) --------------------------------------------------------------


def invoices_of_customer(*, customer, excluding: QuerySet | None = None,
                         paid_limit: int = 24) -> tuple[list[FinancialTransaction], list[FinancialTransaction]]:
    """The customer's posted invoices on their own accounts, but for ``excluding`` (a query of ids): those
    with something open (oldest due first), and the latest ``paid_limit`` that were paid (not cancelled or
    written off)."""
    invoices = FinancialTransaction.objects.filter(
        tenant=customer.tenant_id, account__customer=customer, classification=Classification.INVOICE,
        state=TransactionState.POSTED).select_related("account")
    if excluding is not None:
        invoices = invoices.exclude(pk__in=excluding)
    open_ = list(invoices.filter(open_amount__gt=0).order_by("due_on", "id"))
    settled = FinancialTransaction.objects.filter(
        related=OuterRef("pk"), classification__in=[Classification.INVOICE_CANCELLATION, Classification.WRITE_OFF],
        state=TransactionState.POSTED)
    paid = list(invoices.filter(open_amount=0).exclude(Exists(settled)).order_by("-posted_at", "-id")[:paid_limit])
    return open_, paid


def paid_with_receipt(*, invoices: list[FinancialTransaction]) -> set[int]:
    """Which of ``invoices`` a payment with a receipt (one through Duly) paid."""
    if not invoices:
        return set()
    return set(Allocation.objects.filter(tenant=invoices[0].tenant_id, debit__in=invoices, reversed_at__isnull=True,
                                         credit__receipt__isnull=False).values_list("debit_id", flat=True))
