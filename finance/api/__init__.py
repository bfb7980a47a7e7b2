"""The ledger's resources of the API: accounts, financial transactions and their actions.

Amounts travel as decimal strings with their currency: ``{"amount": "12.50", "currency": "EUR"}``;
line figures (quantity, unit price, discount) are decimal strings in the transaction's currency.
Ids in the path that are not the key's tenant's answer 404; ids in the body answer 422 naming the
field ("Not found."), so another tenant's row is never used. A refused action (a posted
transaction cannot be edited, an invoice is already cancelled) answers 409.
"""

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.responses import Status

from crm.access import TenantApiKey
from crm.models import Customer
from finance import models as ledger
from finance import selectors, services
from finance.api.schemas import (
    AccountDetailOut,
    AccountIn,
    AccountOut,
    CancelIn,
    LineIn,
    MoneyIn,
    MoveIn,
    QuickPayIn,
    RefundIn,
    RefundOut,
    RejectIn,
    TransactionFilters,
    TransactionIn,
    TransactionOut,
    TransactionPatch,
    TransactionSummaryOut,
    WriteOffIn,
)

router = Router(tags=["finance"], auth=TenantApiKey("ledger"))


# --- parsing ----------------------------------------------------------------------------------------


class _Resolver:
    """Turns the payload's ids into the tenant's rows, collecting "Not found." per field."""

    def __init__(self, tenant):
        self.tenant = tenant
        self.errors: dict[str, list[str]] = {}

    def row(self, model, pk, field: str):
        if pk is None:
            return None
        found = selectors.find(tenant=self.tenant, model=model, pk=pk)
        if found is None:
            self.errors.setdefault(field, []).append(_("Not found."))
        return found

    def rows(self, model, pks, field: str) -> list:
        return [found for pk in pks if (found := self.row(model, pk, field)) is not None]

    def amount(self, money: MoneyIn | None, currency: str, field: str = "amount"):
        if money is None:
            return None
        if currency and money.currency != currency:
            self.errors.setdefault(f"{field}.currency", []).append(
                _("The account is in %(currency)s; the amount must be too.") % {"currency": currency}
            )
        return money.amount

    def lines(self, lines: list[LineIn]) -> list[services.LineData]:
        return [
            services.LineData(
                description=line.description, quantity=line.quantity, unit_price=line.unit_price,
                discount_percent=line.discount_percent, discount_amount=line.discount_amount,
                product=self.row(ledger.Product, line.product, f"lines[{index}].product"),
                tax_rate=self.row(ledger.TaxRate, line.tax_rate, f"lines[{index}].tax_rate"),
            )
            for index, line in enumerate(lines)
        ]

    def check(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)


def _values(resolve: _Resolver, payload, currency: str, fields: set[str]) -> dict:
    """The keyword arguments of ``create_transaction`` / ``update_draft`` for the given fields."""
    parsers = {
        "type": lambda v: resolve.row(ledger.TransactionType, v, "type"),
        "lines": resolve.lines,
        "amount": lambda v: resolve.amount(v, currency),
        "payment_method": lambda v: resolve.row(ledger.PaymentMethod, v, "payment_method"),
        "refund_method": lambda v: resolve.row(ledger.RefundMethod, v, "refund_method"),
        "category": lambda v: resolve.row(ledger.Category, v, "category"),
        "issue_reason": lambda v: resolve.row(ledger.IssueReason, v, "issue_reason"),
        "targets": lambda v: resolve.rows(ledger.FinancialTransaction, v, "targets"),
        "lender": lambda v: resolve.row(ledger.Lender, v, "lender"),
    }
    values = {}
    for name in fields:
        value = getattr(payload, name)
        values[name] = parsers[name](value) if name in parsers else value
    return values


def _transaction(request: HttpRequest, transaction_id: int):
    return selectors.get_transaction(tenant=request.tenant, transaction_id=transaction_id)


# --- accounts -----------------------------------------------------------------------------------------


@router.get("/accounts", response=list[AccountOut])
@paginate(LimitOffsetPagination)
def list_accounts(request: HttpRequest, customer: int | None = None):
    accounts = selectors.accounts_for(tenant=request.tenant)
    if customer is not None:
        accounts = accounts.filter(customer_id=customer)
    return accounts


@router.post("/accounts", response={201: AccountOut})
def open_account(request: HttpRequest, payload: AccountIn):
    resolve = _Resolver(request.tenant)
    customer = resolve.row(Customer, payload.customer, "customer")
    rule = resolve.row(ledger.DueDateRule, payload.due_date_rule, "due_date_rule")
    resolve.check()
    account = services.open_account(customer=customer, currency=payload.currency, credit_limit=payload.credit_limit,
                                    due_date_rule=rule, name=payload.name)
    return Status(201, account)


@router.get("/accounts/{account_id}", response=AccountDetailOut)
def read_account(request: HttpRequest, account_id: int):
    return selectors.get_account(tenant=request.tenant, account_id=account_id)


@router.post("/accounts/{account_id}/refunds", response={201: RefundOut})
def refund(request: HttpRequest, account_id: int, payload: RefundIn):
    account = selectors.get_account(tenant=request.tenant, account_id=account_id)
    resolve = _Resolver(request.tenant)
    amount = resolve.amount(payload.amount, account.currency)
    method = resolve.row(ledger.RefundMethod, payload.refund_method, "refund_method")
    reason = resolve.row(ledger.IssueReason, payload.issue_reason, "issue_reason")
    resolve.check()
    result = services.refund(account=account, amount=amount, refund_method=method, actor=None, at=timezone.now(),
                             issue_reason=reason, external_reference=payload.external_reference)
    return Status(201, {"transaction": _transaction(request, result.transaction.pk), "warnings": result.warnings})


# --- transactions ---------------------------------------------------------------------------------


@router.get("/transactions", response=list[TransactionSummaryOut])
@paginate(LimitOffsetPagination)
def list_transactions(request: HttpRequest, filters: Query[TransactionFilters]):
    return selectors.filter_transactions(tenant=request.tenant, filters=selectors.TransactionFilter(
        classification=filters.classification, state=filters.state, account_id=filters.account,
        customer_id=filters.customer, posted_from=filters.posted_from, posted_to=filters.posted_to,
        number=filters.number,
    ))


@router.post("/transactions", response={201: TransactionOut})
def create_transaction(request: HttpRequest, payload: TransactionIn):
    resolve = _Resolver(request.tenant)
    account = resolve.row(ledger.Account, payload.account, "account")
    if payload.classification not in ledger.ENTRY_CLASSIFICATIONS:
        resolve.errors["classification"] = [
            "Create an invoice, credit_note, payment or refund; the other classifications come from actions."
        ]
    fields = {"type", "due_on", "payment_method", "refund_method", "category", "issue_reason", "targets",
              "back_office_code", "external_reference"}
    fields |= {"lines"} if payload.classification in ledger.WITH_LINES else {"amount"}
    fields |= {"lender"} if payload.lender is not None else set()
    values = _values(resolve, payload, account.currency if account else "", fields)
    resolve.check()
    lender = values.pop("lender", None)
    create = services.create_posted_transaction if payload.post else services.create_transaction
    result = create(account=account, classification=payload.classification, actor=None, at=timezone.now(),
                    notes=payload.notes, lender=lender, data=services.TransactionData(**values))
    txn = result.transaction if payload.post else result
    return Status(201, _transaction(request, txn.pk))


@router.get("/transactions/{transaction_id}", response=TransactionOut)
def read_transaction(request: HttpRequest, transaction_id: int):
    return _transaction(request, transaction_id)


@router.patch("/transactions/{transaction_id}", response=TransactionOut)
def update_draft(request: HttpRequest, transaction_id: int, payload: TransactionPatch):
    """Edit a draft; a posted or rejected transaction answers 409 and does not change."""
    txn = _transaction(request, transaction_id)
    resolve = _Resolver(request.tenant)
    values = _values(resolve, payload, txn.currency, set(payload.dict(exclude_unset=True)))
    resolve.check()
    services.update_draft(txn=txn, actor=None, at=timezone.now(), changes=services.DraftChanges(**values))
    return _transaction(request, txn.pk)


@router.post("/transactions/{transaction_id}/post", response=TransactionOut)
def post_transaction(request: HttpRequest, transaction_id: int):
    txn = _transaction(request, transaction_id)
    services.post_transaction(txn=txn, actor=None, at=timezone.now())
    return _transaction(request, txn.pk)


@router.post("/transactions/{transaction_id}/reject", response=TransactionOut)
def reject_transaction(request: HttpRequest, transaction_id: int, payload: RejectIn):
    txn = _transaction(request, transaction_id)
    resolve = _Resolver(request.tenant)
    reason = resolve.row(ledger.RejectionReason, payload.reason, "reason")
    resolve.check()
    services.reject_transaction(txn=txn, reason=reason, actor=None, at=timezone.now())
    return _transaction(request, txn.pk)


def _issue(request: HttpRequest, payload) -> dict:
    """The type and issue reason of a cancellation or write-off, the tenant's rows."""
    resolve = _Resolver(request.tenant)
    values = {"type": resolve.row(ledger.TransactionType, payload.type, "type"),
              "issue_reason": resolve.row(ledger.IssueReason, payload.issue_reason, "issue_reason")}
    resolve.check()
    return values


@router.post("/transactions/{transaction_id}/cancel", response={201: TransactionOut})
def cancel_transaction(request: HttpRequest, transaction_id: int, payload: CancelIn | None = None):
    """Cancel a posted invoice or payment, of a cancellation type (the default when none) and for an
    issue reason (optional); answers the cancellation."""
    txn = _transaction(request, transaction_id)
    values = _issue(request, payload or CancelIn())
    if txn.classification == ledger.Classification.PAYMENT:
        cancellation = services.cancel_payment(payment=txn, actor=None, at=timezone.now(), **values)
    else:
        cancellation = services.cancel_invoice(invoice=txn, actor=None, at=timezone.now(), **values)
    return Status(201, _transaction(request, cancellation.pk))


@router.post("/transactions/{transaction_id}/write-off", response={201: TransactionOut})
def write_off(request: HttpRequest, transaction_id: int, payload: WriteOffIn):
    """Write off what is unpaid of a posted invoice, of a write-off type (mandatory) and for an issue
    reason (optional); answers the write-off."""
    txn = _transaction(request, transaction_id)
    values = _issue(request, payload)
    written_off, _warnings = services.write_off_invoice(invoice=txn, actor=None, at=timezone.now(), **values)
    return Status(201, _transaction(request, written_off.pk))


@router.post("/transactions/{transaction_id}/quick-pay", response={201: TransactionOut})
def quick_pay(request: HttpRequest, transaction_id: int, payload: QuickPayIn):
    """Pay exactly what is outstanding on a posted invoice; answers the payment."""
    txn = _transaction(request, transaction_id)
    resolve = _Resolver(request.tenant)
    method = resolve.row(ledger.PaymentMethod, payload.payment_method, "payment_method")
    resolve.check()
    payment = services.quick_pay(invoice=txn, payment_method=method, actor=None, at=timezone.now(),
                                 external_reference=payload.external_reference)
    return Status(201, _transaction(request, payment.pk))


@router.post("/transactions/{transaction_id}/move", response={201: TransactionOut})
def move_payment(request: HttpRequest, transaction_id: int, payload: MoveIn):
    """Move a posted payment to another account of its currency; answers the payment there."""
    txn = _transaction(request, transaction_id)
    resolve = _Resolver(request.tenant)
    destination = resolve.row(ledger.Account, payload.destination, "destination")
    resolve.check()
    moved = services.move_payment(payment=txn, destination=destination, actor=None, at=timezone.now())
    return Status(201, _transaction(request, moved.pk))
