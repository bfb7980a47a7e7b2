"""Booking statement lines, one line per transaction.

A credit becomes one ledger payment (payment method "Bank transfer", the bank's reference as its external
reference):

* **matched** when its remittance text or end-to-end id names an invoice number, a payment request's
  reference or a customer's payment code, and the amount fits (no more than the invoice's outstanding
  amount, exactly the request's amount, no more than the account owes) — booked on that account, allocated
  to the invoice;
* otherwise booked on the suspense account, **suggested** (customer, account, invoice, confidence) when the
  payer's IBAN or name is a customer's, or the amount is exactly one open invoice's; else plainly on
  **suspense**.

A debit is listed; a returned payment (a debit carrying a return reason, tied to an earlier credit of the
same bank account by its end-to-end id) cancels the payment that credit booked.

A line's own lookups go by index (an invoice number, an IBAN, a key); what row-level security keeps from an
index (an amount, a name in any case, a request's reference) is looked up once for the whole run
(``Booking``). So the queries per line stay flat whatever the number of open invoices.
The line's row is locked and its state checked first, so a retried task books nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Min, QuerySet
from django.db.models.functions import Lower, Upper
from django.utils.translation import gettext as _

from banking.models import (
    REFUND_END_TO_END_PREFIX,
    LineState,
    MatchedBy,
    RefundTransfer,
    StatementImport,
    StatementLine,
    TransferState,
)
from banking.services.decisions import payments_of
from core import bank_codes, l10n
from crm.models import Customer, Tenant
from finance import services as ledger
from finance.exceptions import ActionNotAllowed
from finance.models import (
    NUMBER_PREFIX,
    Account,
    AccountKind,
    AccountState,
    Classification,
    FinancialTransaction,
    PaymentMethod,
    TransactionState,
)
from paylinks.models import PAYABLE_OR_LATE, PaymentRequest
from paylinks.services.records import complete_by_transfer

INVOICE_PREFIX = NUMBER_PREFIX[Classification.INVOICE] + "-"
SEPARATORS = str.maketrans({ch: " " for ch in ",;:()[]{}<>\"'!?*+=|\\"})
CONFIDENCE = {"iban_amount": 90, "iban": 75, "name_amount": 70, "name": 55, "amount": 40}


def tokens(*texts: str) -> list[str]:
    """The words of a remittance text that could be references, upper case; ``INV000123`` and
    ``INV 000123`` are read as the invoice number ``INV-000123``, and a payment code written in groups
    (``RF18 5390 0754 7034``) is also read joined."""
    words = " ".join(texts).upper().translate(SEPARATORS).split()
    found = []
    for index, word in enumerate(words):
        word = word.strip(".-/")
        if not word:
            continue
        found.append(word)
        prefix = INVOICE_PREFIX[:-1]
        if word.startswith(prefix) and word[len(prefix):].isdigit():
            found.append(INVOICE_PREFIX + word[len(prefix):])
        elif word == prefix and index + 1 < len(words) and words[index + 1].strip(".").isdigit():
            found.append(INVOICE_PREFIX + words[index + 1].strip("."))
        elif len(word) == 4 and word.startswith("RF") and word[2:].isdigit():
            # A creditor reference written in groups of four: RF18 5390 0754 7034.
            joined = word
            for group in words[index + 1:index + 7]:
                joined += group.strip(".")
                found.append(joined)
    return list(dict.fromkeys(found))[:40]


@dataclass(frozen=True)
class Target:
    account: Account
    invoice: FinancialTransaction | None
    matched_by: str
    request: PaymentRequest | None = None


@dataclass(frozen=True)
class Suggestion:
    customer: Customer
    account: Account
    invoice: FinancialTransaction | None
    confidence: int
    reason: str


def _open(account: Account) -> bool:
    return account.state != AccountState.TERMINATED


def _by_invoice(line: StatementLine, words: list[str]) -> tuple[Target | None, Suggestion | None]:
    numbers = [word for word in words if word.startswith(INVOICE_PREFIX)]
    if not numbers:
        return None, None
    invoices = list(
        FinancialTransaction.objects.filter(
            tenant=line.tenant_id, classification=Classification.INVOICE, state=TransactionState.POSTED,
            number__in=numbers, currency=line.currency,
        ).select_related("account", "account__customer").order_by()[:2]
    )
    if len(invoices) != 1:
        return None, None
    invoice = invoices[0]
    if _open(invoice.account) and 0 < line.amount <= invoice.open_amount:
        return Target(invoice.account, invoice, MatchedBy.INVOICE), None
    if invoice.account.customer is None:
        return None, None
    return None, Suggestion(invoice.account.customer, invoice.account, invoice, 80,
                            _("Names %(invoice)s, but it has %(open)s outstanding.") % {
                                "invoice": invoice.number, "open": l10n.money(invoice.open_amount, invoice.currency)})


def _by_request(line: StatementLine, words: list[str], booking: Booking) -> Target | None:
    found = booking.requests_named(words, currency=line.currency, amount=line.amount)
    if len(found) != 1:
        return None
    request = (PaymentRequest.objects.filter(tenant=line.tenant_id, pk=found[0], status__in=PAYABLE_OR_LATE)
               .select_related("account", "invoice").first())
    if request is None or not _open(request.account):
        return None
    invoice = request.invoice if request.invoice is not None and request.invoice.open_amount > 0 else None
    return Target(request.account, invoice, MatchedBy.REQUEST, request=request)


def _customer_account(tenant_id: int, customer_id: int, currency: str) -> Account | None:
    return (Account.objects.filter(tenant=tenant_id, kind=AccountKind.CUSTOMER, customer=customer_id,
                                   currency=currency).select_related("customer").first())


def _by_payment_code(line: StatementLine, words: list[str]) -> tuple[Target | None, Suggestion | None]:
    customers = {bank_codes.customer_of_payment_code(word) for word in words if word.startswith("RF")} - {None}
    if len(customers) != 1:
        return None, None
    account = _customer_account(line.tenant_id, customers.pop(), line.currency)
    if account is None or not _open(account):
        return None, None
    if line.amount <= account.balance:
        return Target(account, None, MatchedBy.PAYMENT_CODE), None
    return None, Suggestion(account.customer, account, None, 80,
                            _("Names the customer's payment code, but the account owes %(balance)s.") % {
                                "balance": l10n.money(account.balance, account.currency)})


def _open_invoices_of_amount(line: StatementLine) -> QuerySet[FinancialTransaction]:
    return FinancialTransaction.objects.filter(
        tenant=line.tenant_id, classification=Classification.INVOICE, state=TransactionState.POSTED,
        currency=line.currency, open_amount=line.amount,
    ).select_related("account", "account__customer")


def _invoice_of_amount(account: Account, line: StatementLine) -> FinancialTransaction | None:
    """The account's one open invoice for exactly the line's amount."""
    # Unordered: the model's newest-first ordering would walk the tenant's every transaction for two rows.
    invoices = list(_open_invoices_of_amount(line).filter(account=account).order_by()[:2])
    return invoices[0] if len(invoices) == 1 else None


def _only_invoice_of_amount(line: StatementLine, booking: Booking) -> FinancialTransaction | None:
    """The tenant's one open invoice for exactly the line's amount, found through the run's amount index and
    read again by its key (an earlier line of the run may have paid it)."""
    invoice_id = booking.only_open_invoice_of(line.currency, line.amount)
    if invoice_id is None:
        return None
    return _open_invoices_of_amount(line).filter(pk=invoice_id).first()


def _suggest(line: StatementLine, booking: Booking) -> Suggestion | None:
    customer, how = None, ""
    if line.counterparty_iban:
        customers = list(Customer.objects.filter(tenant=line.tenant_id, iban=line.counterparty_iban).order_by()[:2])
        if len(customers) == 1:
            customer, how = customers[0], "iban"
    if customer is None and (customer_id := booking.customer_named(line.counterparty_name)) is not None:
        customer, how = Customer.objects.get(tenant=line.tenant_id, pk=customer_id), "name"
    if customer is not None:
        account = _customer_account(line.tenant_id, customer.pk, line.currency)
        if account is None or not _open(account):
            return None
        invoice = _invoice_of_amount(account, line)
        reasons = {
            "iban": _("The payer's IBAN is this customer's."), "name": _("The payer's name is this customer's."),
        }
        more = " " + _("The amount is exactly an open invoice's.") if invoice else ""
        key = f"{how}_amount" if invoice else how
        return Suggestion(customer, account, invoice, CONFIDENCE[key], reasons[how] + more)
    invoice = _only_invoice_of_amount(line, booking)
    if invoice is not None and invoice.account.customer is not None and _open(invoice.account):
        return Suggestion(invoice.account.customer, invoice.account, invoice, CONFIDENCE["amount"],
                          _("Only the amount fits: it is exactly this open invoice's."))
    return None


def bank_transfer_method(tenant: Tenant) -> PaymentMethod:
    with l10n.for_tenant(tenant):
        name = _("Bank transfer")
    method, _created = PaymentMethod.objects.get_or_create(tenant=tenant, name=name)
    return method


@dataclass
class Booking:
    """What every line of a run shares, looked up once: the payment method, the suspense accounts, and what
    row-level security keeps from an index.

    Under row-level security PostgreSQL uses a condition as an index condition only when its operator is
    leakproof; numeric ``=``, ``lower()`` and ``upper()`` are not. Asked line by line, the amount, payer-name
    and reference lookups would each read all the tenant's rows; so the run's values (``for_lines``) are looked
    up together, in one grouped query per kind, the first time one is needed. A value outside the run is
    looked up alone.
    """

    tenant: Tenant
    at: datetime
    method: PaymentMethod | None = None
    suspense: dict[str, Account] = field(default_factory=dict)
    amounts: set[tuple[str, Decimal]] = field(default_factory=set)  # the run's credits' (currency, amount)
    names: set[str] = field(default_factory=set)  # their payers' names, lower case
    words: set[str] = field(default_factory=set)  # their remittance words
    unique_amounts: dict[tuple[str, Decimal], int] = field(default_factory=dict)
    customers_by_name: dict[str, int] = field(default_factory=dict)
    requests_by_word: dict[str, list[tuple[int, str, Decimal]]] = field(default_factory=dict)
    looked_up: set = field(default_factory=set)  # the values asked already, with their kind

    @classmethod
    def for_lines(cls, *, tenant: Tenant, at: datetime, line_ids) -> Booking:
        """A run over the lines ``line_ids``, whose amounts, names and words are looked up together."""
        booking = cls(tenant=tenant, at=at)
        for currency, amount, name, remittance, end_to_end in StatementLine.objects.filter(
                tenant=tenant, pk__in=line_ids, direction="credit").values_list(
                "currency", "amount", "counterparty_name", "remittance", "end_to_end_id"):
            booking.amounts.add((currency, amount))
            booking.names.add(name.strip().lower())
            booking.words.update(tokens(remittance, end_to_end))
        booking.names.discard("")
        return booking

    def _to_look_up(self, kind: str, value, run_values: set) -> set:
        """The values of ``kind`` to look up now: the whole run's on the first ask, else ``value`` if new."""
        wanted = run_values | {value} if (kind, "run") not in self.looked_up else {value}
        self.looked_up.add((kind, "run"))
        wanted = {item for item in wanted if (kind, item) not in self.looked_up}
        self.looked_up.update((kind, item) for item in wanted)
        return wanted

    def only_open_invoice_of(self, currency: str, amount: Decimal) -> int | None:
        """The id of the one open invoice of exactly ``amount``, or ``None`` (none, or several)."""
        if wanted := self._to_look_up("amount", (currency, amount), self.amounts):
            rows = (FinancialTransaction.objects
                    .filter(tenant=self.tenant, classification=Classification.INVOICE,
                            state=TransactionState.POSTED, open_amount__gt=0,
                            currency__in={c for c, _a in wanted}, open_amount__in={a for _c, a in wanted})
                    .values("currency", "open_amount").annotate(count=Count("id"), first=Min("id")).order_by())
            self.unique_amounts.update({(row["currency"], row["open_amount"]): row["first"] for row in rows
                                        if row["count"] == 1 and (row["currency"], row["open_amount"]) in wanted})
        return self.unique_amounts.get((currency, amount))

    def customer_named(self, name: str) -> int | None:
        """The id of the one customer of exactly this name (in any case), or ``None``."""
        key = name.strip().lower()
        if not key:
            return None
        if wanted := self._to_look_up("name", key, self.names):
            rows = (Customer.objects.annotate(lower_name=Lower("name"))
                    .filter(tenant=self.tenant, lower_name__in=wanted)
                    .values("lower_name").annotate(count=Count("id"), first=Min("id")).order_by())
            self.customers_by_name.update({row["lower_name"]: row["first"] for row in rows if row["count"] == 1})
        return self.customers_by_name.get(key)

    def requests_named(self, words: list[str], *, currency: str, amount: Decimal) -> list[int]:
        """The ids of payable requests for exactly ``amount`` whose reference is one of ``words``."""
        wanted = set()
        for word in words:
            wanted |= self._to_look_up("word", word, self.words)
        if wanted:
            rows = (PaymentRequest.objects.annotate(upper_reference=Upper("reference"))
                    .filter(tenant=self.tenant, upper_reference__in=wanted, status__in=PAYABLE_OR_LATE)
                    .values_list("upper_reference", "id", "currency", "amount").order_by())
            for word, request_id, request_currency, request_amount in rows:
                self.requests_by_word.setdefault(word, []).append((request_id, request_currency, request_amount))
        return sorted({request_id for word in words for request_id, request_currency, request_amount
                       in self.requests_by_word.get(word, ())
                       if request_currency == currency and request_amount == amount})

    def payment_method(self) -> PaymentMethod:
        if self.method is None:
            self.method = bank_transfer_method(self.tenant)
        return self.method

    def suspense_account(self, currency: str) -> Account:
        if currency not in self.suspense:
            self.suspense[currency] = ledger.system_account(tenant=self.tenant, kind=AccountKind.SUSPENSE,
                                                            currency=currency)
        return self.suspense[currency]


def _post_payment(line: StatementLine, account: Account, invoice: FinancialTransaction | None,
                  booking: Booking) -> FinancialTransaction:
    at = booking.at
    draft = ledger.create_transaction(
        account=account,
        classification=Classification.PAYMENT,
        actor=None,
        at=at,
        data=ledger.TransactionData(
            amount=line.amount,
            payment_method=booking.payment_method(),
            targets=[invoice] if invoice is not None else [],
            external_reference=(line.bank_reference or line.end_to_end_id)[:120],
            issue_note=_("Bank transfer of %(day)s") % {"day": line.booked_on.isoformat()},
        ),
    )
    return ledger.post_transaction(txn=draft, actor=None, at=at, settle=invoice).transaction


def _our_transfer(line: StatementLine, states: list[str]) -> RefundTransfer | None:
    """The refund transfer of ours that the line's end-to-end id names, for the line's amount."""
    if not line.end_to_end_id.startswith(REFUND_END_TO_END_PREFIX):
        return None
    return (RefundTransfer.objects.select_for_update(of=("self",)).select_related("account")
            .filter(tenant=line.tenant_id, end_to_end_id=line.end_to_end_id, amount=line.amount, state__in=states)
            .first())


def _book_returned_transfer(line: StatementLine, transfer: RefundTransfer, booking: Booking) -> None:
    """Our refund transfer came back (the customer's bank refused it): the money is the customer's again."""
    draft = ledger.create_transaction(
        account=transfer.account,
        classification=Classification.PAYMENT,
        actor=None,
        at=booking.at,
        data=ledger.TransactionData(
            amount=line.amount, payment_method=booking.payment_method(),
            external_reference=transfer.end_to_end_id,
            issue_note=_("Refund transfer returned by the bank (%(reason)s)") % {
                "reason": line.return_reason or "—"},
        ),
    )
    line.payment = ledger.post_transaction(txn=draft, actor=None, at=booking.at).transaction
    line.state, line.matched_by = LineState.MATCHED, MatchedBy.REFUND_RETURNED
    transfer.state, transfer.returned_by = TransferState.RETURNED, line
    transfer.save(update_fields=["state", "returned_by"])


def _book_credit(line: StatementLine, booking: Booking) -> None:
    at = booking.at
    if (transfer := _our_transfer(line, [TransferState.SENT, TransferState.CONFIRMED])) is not None:
        _book_returned_transfer(line, transfer, booking)
        return
    words = tokens(line.remittance, line.end_to_end_id)
    target, suggestion = _by_invoice(line, words)
    if target is None:
        target = _by_request(line, words, booking)
    if target is None:
        target, code_suggestion = _by_payment_code(line, words)
        suggestion = suggestion or code_suggestion
    if target is not None:
        try:
            with transaction.atomic():
                if target.request is not None and not complete_by_transfer(request=target.request, actor=None,
                                                                           at=at):
                    raise ActionNotAllowed("paid meanwhile")
                line.payment = _post_payment(line, target.account, target.invoice, booking)
        except (ActionNotAllowed, ValidationError):
            pass  # paid meanwhile by other means, or the account refuses it: the money waits on suspense
        else:
            line.state, line.matched_by = LineState.MATCHED, target.matched_by
            return
    suggestion = suggestion or _suggest(line, booking)
    line.payment = _post_payment(line, booking.suspense_account(line.currency), None, booking)
    if suggestion is None:
        line.state = LineState.SUSPENSE
        return
    line.state = LineState.SUGGESTED
    line.suggested_customer, line.suggested_account = suggestion.customer, suggestion.account
    line.suggested_invoice, line.confidence = suggestion.invoice, suggestion.confidence
    line.suggestion_reason = suggestion.reason[:200]


def _book_debit(line: StatementLine, at: datetime) -> None:
    if (transfer := _our_transfer(line, [TransferState.SENT])) is not None:
        line.state, line.matched_by = LineState.MATCHED, MatchedBy.REFUND_SENT
        transfer.state, transfer.confirmed_by = TransferState.CONFIRMED, line
        transfer.save(update_fields=["state", "confirmed_by"])
        return
    line.state = LineState.DEBIT
    if not (line.return_reason and line.end_to_end_id):
        return
    returned = (
        StatementLine.objects.select_for_update(of=("self",))
        .filter(tenant=line.tenant_id, bank_account=line.bank_account_id, end_to_end_id=line.end_to_end_id,
                direction="credit", amount=line.amount, returned_by__isnull=True)
        .exclude(state=LineState.NEW).order_by("booked_on", "id").first()
    )
    if returned is None:
        return
    note = _("Returned by the bank (%(reason)s)") % {"reason": line.return_reason}
    for payment in payments_of(returned):
        try:
            ledger.cancel_payment(payment=payment, actor=None, at=at, issue_note=note)
        except ActionNotAllowed:
            continue  # cancelled already by hand: nothing left to give back
    line.state, line.returns = LineState.RETURNED, returned


@transaction.atomic
def book_line(*, tenant: Tenant, line_id: int, at: datetime, booking: Booking | None = None) -> StatementLine:
    """Book one waiting line; a line already booked is left as it is."""
    booking = booking or Booking(tenant=tenant, at=at)
    line = StatementLine.objects.select_for_update().get(tenant=tenant, pk=line_id)
    line.tenant = tenant
    if line.state != LineState.NEW:
        return line
    with l10n.for_tenant(tenant):  # what it writes down (reasons, notes) is read by the tenant's staff
        if line.is_credit:
            _book_credit(line, booking)
        else:
            _book_debit(line, at)
    line.save()
    return line


def book_waiting(*, tenant: Tenant, statement_import: StatementImport | None = None, at: datetime,
                 limit: int | None = None) -> int:
    """Book the tenant's waiting lines (of one import, or all), credits in file order. Each line is its own
    transaction: one that fails stays waiting, visible, and the rest go on."""
    waiting = StatementLine.objects.filter(tenant=tenant, state=LineState.NEW)
    if statement_import is not None:
        waiting = waiting.filter(statement_import=statement_import)
    ids = list(waiting.order_by("booked_on", "id").values_list("id", flat=True)[:limit])
    booking = Booking.for_lines(tenant=tenant, at=at, line_ids=ids)
    for line_id in ids:
        book_line(tenant=tenant, line_id=line_id, at=at, booking=booking)
    return len(ids)

