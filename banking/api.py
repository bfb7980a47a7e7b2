"""``/api/v1/bank-statements``: import a statement file, and read what became of its lines."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.responses import Status

from banking import selectors
from banking.models import BankAccount
from banking.parsing import StatementRefused
from banking.services.imports import Upload, import_statement
from crm.access import TenantApiKey

router = Router(tags=["bank statements"], auth=TenantApiKey("bank"))


class StatementImportOut(Schema):
    id: int
    bank_account: int
    iban: str
    format: str
    file_name: str
    lines_in_file: int
    lines_added: int
    lines_by_state: dict[str, int]
    imported_at: datetime

    @staticmethod
    def resolve_bank_account(obj) -> int:
        return obj.bank_account_id

    @staticmethod
    def resolve_iban(obj) -> str:
        return obj.bank_account.iban

    @staticmethod
    def resolve_lines_by_state(obj) -> dict[str, int]:
        return selectors.state_counts(selectors.lines_of(tenant=obj.tenant, statement_import=obj))


class StatementLineOut(Schema):
    id: int
    booked_on: date
    direction: str
    amount: Decimal
    currency: str
    bank_reference: str
    end_to_end_id: str
    counterparty_name: str
    counterparty_iban: str
    remittance: str
    state: str
    matched_by: str
    payment: int | None
    account: int | None
    suggested_account: int | None
    suggested_invoice: int | None
    confidence: int

    @staticmethod
    def resolve_payment(obj) -> int | None:
        return obj.payment_id

    @staticmethod
    def resolve_account(obj) -> int | None:
        return obj.payment.account_id if obj.payment_id else None

    @staticmethod
    def resolve_suggested_account(obj) -> int | None:
        return obj.suggested_account_id

    @staticmethod
    def resolve_suggested_invoice(obj) -> int | None:
        return obj.suggested_invoice_id


@router.post("/bank-statements", response={201: StatementImportOut})
def create_statement_import(request: HttpRequest, file: File[UploadedFile],
                            bank_account: Form[int | None] = None):
    """Import a statement: CAMT.053, CAMT.054, MT940 or OFX (found by the IBAN it names, or by
    ``bank_account``), or CSV (``bank_account`` required, read with its saved column mapping). Lines already
    imported are skipped; a file that cannot be read is refused whole (422, naming the line). The new lines are
    booked by the worker; read this import back to see them placed."""
    chosen = None
    if bank_account is not None:
        chosen = BankAccount.objects.filter(tenant=request.tenant, pk=bank_account).first()
        if chosen is None:
            raise ValidationError({"bank_account": "No such bank account."})
    try:
        record = import_statement(tenant=request.tenant, upload=Upload(data=file.read(), file_name=file.name or ""),
                                  bank_account=chosen, actor=None, api_key=request.api_key, at=timezone.now())
    except StatementRefused as error:
        raise ValidationError({"file": str(error)}) from None
    return Status(201, selectors.get_import(tenant=request.tenant, import_id=record.pk))


@router.get("/bank-statements/{import_id}", response=StatementImportOut)
def get_statement_import(request: HttpRequest, import_id: int):
    return selectors.get_import(tenant=request.tenant, import_id=import_id)


@router.get("/bank-statements/{import_id}/lines", response=list[StatementLineOut])
@paginate(LimitOffsetPagination)
def list_statement_lines(request: HttpRequest, import_id: int):
    record = selectors.get_import(tenant=request.tenant, import_id=import_id)
    return selectors.lines_of(tenant=request.tenant, statement_import=record).order_by("line_no", "id")
