"""Payment requests over the API: create (which sends the link), list, read, cancel.

Amounts are decimal strings; the currency is the account's. Another tenant's ids in the path answer 404,
in the body 422 naming the field; cancelling a request that is not open answers 409.
"""

from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.responses import Status

from crm.access import TenantApiKey
from crm.models import Customer, User
from finance.models import Account, FinancialTransaction
from paylinks import selectors
from paylinks.models import RequestStatus
from paylinks.services import requests

router = Router(tags=["payment requests"], auth=TenantApiKey("payment_requests"))


class PaymentRequestIn(Schema):
    customer: int
    account: int
    amount: str = Field(..., examples=["120.00"])
    currency: str | None = Field(None, description="If given, must be the account's currency.")
    reference: str = Field("", description="Invoice or contract number.")
    message: str = ""
    channels: list[str] = Field(..., examples=[["email", "sms"]])
    staff: int | None = Field(None, description="The staff member told when it is paid.")
    invoice: int | None = Field(None, description="A posted invoice of the account; the payment is allocated to it.")


class AttemptOut(Schema):
    reference: str
    provider: str
    status: str
    failure_message: str
    created_at: datetime


class PaymentRequestOut(Schema):
    id: int
    customer: int
    account: int
    invoice: int | None
    amount: str
    currency: str
    reference: str
    message: str
    channels: list[str]
    status: str
    created_at: datetime
    sent_at: datetime | None
    expires_at: datetime
    completed_at: datetime | None
    consolidated_at: datetime | None
    created_by: int | None
    consolidated_by: int | None

    @staticmethod
    def resolve_customer(obj) -> int:
        return obj.customer_id

    @staticmethod
    def resolve_account(obj) -> int:
        return obj.account_id

    @staticmethod
    def resolve_invoice(obj) -> int | None:
        return obj.invoice_id

    @staticmethod
    def resolve_amount(obj) -> str:
        return f"{obj.amount:.2f}"

    @staticmethod
    def resolve_created_by(obj) -> int | None:
        return obj.created_by_id

    @staticmethod
    def resolve_consolidated_by(obj) -> int | None:
        return obj.consolidated_by_id


class PaymentRequestDetailOut(PaymentRequestOut):
    attempts: list[AttemptOut]

    @staticmethod
    def resolve_attempts(obj) -> list:
        return list(obj.attempts.order_by("created_at", "id"))


class PaymentRequestCreatedOut(PaymentRequestOut):
    pay_link: str = Field(..., description="Shown once: only a hash of its token is stored.")


class RequestFiltersIn(Schema):
    status: str = ""
    created_from: date | None = None
    created_to: date | None = None
    staff: int | None = None
    customer: int | None = None
    reference: str = ""
    sort: str = "-created"


def _row(model, tenant, pk, field: str):
    row = model.objects.filter(tenant=tenant, pk=pk).first()
    if row is None:
        raise ValidationError({field: _("Not found.")})
    return row


@router.post("/payment-requests", response={201: PaymentRequestCreatedOut})
def create_payment_request(request: HttpRequest, payload: PaymentRequestIn):
    customer = _row(Customer, request.tenant, payload.customer, "customer")
    account = _row(Account, request.tenant, payload.account, "account")
    actor = _row(User, request.tenant, payload.staff, "staff") if payload.staff is not None else None
    invoice = _row(FinancialTransaction, request.tenant, payload.invoice, "invoice") if payload.invoice else None
    created, token = requests.request_payment(
        customer=customer, account=account, currency=payload.currency, actor=actor, at=timezone.now(),
        invoice=invoice, data=requests.RequestData(amount=payload.amount, reference=payload.reference,
                                                   message=payload.message, channels=payload.channels),
    )
    created.pay_link = requests.pay_link(token)
    return Status(201, created)


@router.get("/payment-requests", response=list[PaymentRequestOut])
@paginate(LimitOffsetPagination)
def list_payment_requests(request: HttpRequest, filters: Query[RequestFiltersIn]):
    errors = {}
    if filters.status and filters.status not in RequestStatus.values:
        errors["status"] = _("One of %(join)s.") % {"join": ', '.join(RequestStatus.values)}
    if filters.sort not in selectors.REQUEST_SORTS:
        errors["sort"] = _("One of %(join)s.") % {"join": ', '.join(selectors.REQUEST_SORTS)}
    if errors:
        raise ValidationError(errors)
    return selectors.payment_requests(tenant=request.tenant, filters=selectors.RequestFilters(
        status=filters.status, created_from=filters.created_from, created_to=filters.created_to,
        created_by=filters.staff, customer=filters.customer, reference=filters.reference, sort=filters.sort,
    ))


@router.get("/payment-requests/{request_id}", response=PaymentRequestDetailOut)
def read_payment_request(request: HttpRequest, request_id: int):
    return selectors.get_payment_request(tenant=request.tenant, request_id=request_id)


@router.post("/payment-requests/{request_id}/cancel", response={200: PaymentRequestOut, 409: dict})
def cancel_payment_request(request: HttpRequest, request_id: int):
    found = selectors.get_payment_request(tenant=request.tenant, request_id=request_id)
    try:
        return requests.cancel_payment_request(request=found, actor=None, at=timezone.now())
    except ValidationError as refusal:
        return Status(409, {"detail": " ".join(refusal.messages)})
