"""``/api/v1/accounts/{id}/statement`` (JSON and PDF) and ``/api/v1/invoices/{id}/dunning`` (read, hold,
release): the ledger's scope, read for GET and write for the rest."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from core.clock import tenant_today
from crm.access import TenantApiKey
from finance import selectors as finance_selectors
from finance.models import Classification, FinancialTransaction
from receivables import selectors
from receivables.models import HoldReason
from receivables.printing import statement_response
from receivables.services import dunning
from receivables.services.statements import check_period

router = Router(tags=["statements and dunning"], auth=TenantApiKey("ledger"))


class StatementRowOut(Schema):
    transaction: int
    number: str
    classification: str
    posted_at: datetime
    due_on: date | None
    debit: Decimal
    credit: Decimal
    balance: Decimal


class StatementOut(Schema):
    account: int
    currency: str
    start: date
    end: date
    opening_balance: Decimal
    debits: Decimal
    credits: Decimal
    closing_balance: Decimal
    rows: list[StatementRowOut]
    ageing: dict[str, Decimal] = Field(description="What was open at the end by days past due; credit: unallocated.")


def _statement(request: HttpRequest, account_id: int, start: date | None, end: date | None):
    account = finance_selectors.get_account(tenant=request.tenant, account_id=account_id)
    if account.customer_id is None:
        raise Http404(_("Only a customer's account has a statement."))
    if errors := check_period(start, end, today=tenant_today(request.tenant)):
        raise ValidationError(errors)
    return selectors.statement_of(account=account, start=start, end=end)


@router.get("/accounts/{account_id}/statement", response=StatementOut)
def read_statement(request: HttpRequest, account_id: int, start: date | None = None, end: date | None = None):
    """The account's statement for ``start``..``end`` (both included, at most a year, up to today)."""
    statement = _statement(request, account_id, start, end)
    return {
        "account": statement.account.pk, "currency": statement.currency, "start": statement.start,
        "end": statement.end, "opening_balance": statement.opening, "debits": statement.debits,
        "credits": statement.credits, "closing_balance": statement.closing, "ageing": statement.ageing,
        "rows": [{"transaction": r.txn.pk, "number": r.txn.number, "classification": r.txn.classification,
                  "posted_at": r.txn.posted_at, "due_on": r.txn.due_on, "debit": r.debit, "credit": r.credit,
                  "balance": r.balance} for r in statement.rows],
    }


@router.get("/accounts/{account_id}/statement.pdf", response={200: bytes},
            openapi_extra={"responses": {"200": {"description": "The statement as a PDF.",
                                                 "content": {"application/pdf": {}}}}})
def read_statement_pdf(request: HttpRequest, account_id: int, start: date | None = None, end: date | None = None):
    """The same statement as a PDF."""
    statement = _statement(request, account_id, start, end)
    return statement_response(request, statement, as_pdf=True, pdf_url="")


class NoticeOut(Schema):
    level: str
    days: int
    state: str
    at: datetime
    outstanding: Decimal
    late_fee: int | None
    late_fee_waived: bool


class HoldOut(Schema):
    reason: str
    until: date | None
    note: str
    created_at: datetime


class DunningOut(Schema):
    invoice: int
    number: str
    due_on: date | None
    outstanding: Decimal
    level: str | None = Field(description="The last level whose notice was sent; null before the first.")
    notices: list[NoticeOut]
    hold: HoldOut | None


class HoldIn(Schema):
    reason: HoldReason
    until: date | None = None
    note: str = Field(max_length=500)


def _invoice(request: HttpRequest, invoice_id: int) -> FinancialTransaction:
    invoice = finance_selectors.get_transaction(tenant=request.tenant, transaction_id=invoice_id)
    if invoice.classification != Classification.INVOICE:
        raise Http404(_("No such invoice."))
    return invoice


def _state(request: HttpRequest, invoice: FinancialTransaction) -> dict:
    invoice = FinancialTransaction.objects.get(tenant=request.tenant, pk=invoice.pk)
    notices = selectors.notices_of(invoice=invoice)
    hold = selectors.hold_of(invoice=invoice, today=tenant_today(request.tenant))
    sent = [n for n in notices if n.state == "sent"]
    return {
        "invoice": invoice.pk, "number": invoice.number, "due_on": invoice.due_on, "outstanding": invoice.open_amount,
        "level": sent[-1].level.name if sent else None, "hold": hold,
        "notices": [{"level": n.level.name, "days": n.level.days, "state": n.state, "at": n.at,
                     "outstanding": n.outstanding, "late_fee": n.late_fee_id,
                     "late_fee_waived": n.waiver_id is not None}
                    for n in notices],
    }


@router.get("/invoices/{invoice_id}/dunning", response=DunningOut)
def read_dunning(request: HttpRequest, invoice_id: int):
    return _state(request, _invoice(request, invoice_id))


@router.post("/invoices/{invoice_id}/dunning/hold", response=DunningOut)
def hold(request: HttpRequest, invoice_id: int, payload: HoldIn):
    """Stop dunning the invoice: a dispute (until released, or a date) or a promise to pay by a date."""
    invoice = _invoice(request, invoice_id)
    dunning.hold_invoice(invoice=invoice, reason=payload.reason, until=payload.until, note=payload.note,
                         actor=None, at=timezone.now())
    return _state(request, invoice)


@router.post("/invoices/{invoice_id}/dunning/release", response=DunningOut)
def release(request: HttpRequest, invoice_id: int):
    """End the invoice's hold; the next sweep chases it again."""
    invoice = _invoice(request, invoice_id)
    dunning.release_invoice(invoice=invoice, actor=None, at=timezone.now())
    return _state(request, invoice)


