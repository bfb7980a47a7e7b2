"""Obligations and instalments over the API: create with an automatic or manual schedule, read, update
(the obligation's fields, one instalment's amount or due date), list by customer and due date, and list
instalments by due date.

Amounts are decimal strings in the obligation's currency. Manager comments are never part of an API
answer: an API key has no manager role. Another tenant's ids in the path answer 404, in the body 422
naming the field.
"""

# No ``from __future__ import annotations`` here: django-ninja must see ``Query[...]`` as a class, not a
# string, or /api/v1/openapi.json fails with "QueryParams is not fully defined" (found by schemathesis).
from datetime import date, datetime
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.responses import Status

from core.clock import tenant_today
from crm.access import TenantApiKey
from crm.models import Customer
from obligations import selectors
from obligations.services import obligations

router = Router(tags=["obligations"], auth=TenantApiKey("obligations"))


class InstalmentOut(Schema):
    id: int
    obligation: int
    number: int
    amount: str
    currency: str
    due_on: date
    status: str
    paid_at: datetime | None
    paid_outside: bool

    @staticmethod
    def resolve_obligation(obj) -> int:
        return obj.obligation_id

    @staticmethod
    def resolve_amount(obj) -> str:
        return f"{obj.amount:.2f}"

    @staticmethod
    def resolve_currency(obj) -> str:
        return obj.obligation.currency


class ObligationOut(Schema):
    id: int
    customer: int
    payee_kind: str
    payee: str
    payment_code: str
    description: str
    total_amount: str
    currency: str
    date_rule: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_customer(obj) -> int:
        return obj.customer_id

    @staticmethod
    def resolve_total_amount(obj) -> str:
        return f"{obj.total_amount:.2f}"


class ObligationDetailOut(ObligationOut):
    instalments: list[InstalmentOut]

    @staticmethod
    def resolve_instalments(obj) -> list:
        rows = list(obj.instalments.order_by("due_on", "number"))
        for row in rows:
            row.obligation = obj
        return rows


class ManualInstalmentIn(Schema):
    due_on: str = Field(..., examples=["2026-03-31"])
    amount: str = Field(..., examples=["120.00"])


class ObligationIn(Schema):
    customer: int
    payee_kind: Literal["institution", "government", "tenant"] = "institution"
    payee: str
    payment_code: str = Field(..., description="The payment ID of the debt.")
    description: str
    total_amount: str = Field(..., examples=["1000.00"])
    currency: str | None = Field(None, description="Defaults to the tenant's currency.")
    date_rule: Literal["next", "previous"] = "next"
    send_email: bool = Field(False, description="Email the customer that the obligation was registered.")
    plan: Literal["automatic", "manual"]
    first_due_on: str | None = Field(None, description="automatic: the first instalment's date.")
    count: int | None = Field(None, description="automatic: how many instalments.")
    instalment_amount: str | None = Field(None, description="automatic: each instalment; empty divides evenly.")
    frequency: Literal["monthly", "weekly"] = "monthly"
    instalments: list[ManualInstalmentIn] = Field([], description="manual: the instalments, adding up to the total.")


class ObligationPatch(Schema):
    payee_kind: Literal["institution", "government", "tenant"] | None = None
    payee: str | None = None
    payment_code: str | None = None
    description: str | None = None
    total_amount: str | None = Field(None, description="The last unpaid instalment absorbs the difference.")
    currency: str | None = None
    date_rule: Literal["next", "previous"] | None = None
    notify_customer: bool = False


class InstalmentPatch(Schema):
    amount: str | None = None
    due_on: str | None = None
    notify_customer: bool = False


class ObligationFiltersIn(Schema):
    customer: int | None = None
    due_from: date | None = None
    due_to: date | None = None


class InstalmentFiltersIn(Schema):
    customer: int | None = None
    status: str = ""
    due_from: date | None = None
    due_to: date | None = None


def _reason(request: HttpRequest) -> str:
    return f"API key “{request.api_key.name}”"


def _detail(request, obligation_id: int):
    return selectors.get_obligation(tenant=request.tenant, obligation_id=obligation_id)


@router.post("/obligations", response={201: ObligationDetailOut})
def create_obligation(request: HttpRequest, payload: ObligationIn):
    customer = Customer.objects.filter(tenant=request.tenant, pk=payload.customer).first()
    if customer is None:
        raise ValidationError({"customer": _("Not found.")})
    data = obligations.ObligationData(**payload.dict(include={
        "payee_kind", "payee", "payment_code", "description", "total_amount", "currency", "date_rule"}))
    created = obligations.create_obligation(
        customer=customer, data=data, actor=None, at=timezone.now(), send_email=payload.send_email,
        plan=obligations.Plan(
            kind=payload.plan, first_due_on=payload.first_due_on, count=payload.count,
            instalment_amount=payload.instalment_amount, frequency=payload.frequency,
            rows=[obligations.ManualRow(due_on=row.due_on, amount=row.amount) for row in payload.instalments]),
        reason=_reason(request),
    )
    return Status(201, _detail(request, created.pk))


@router.get("/obligations", response=list[ObligationOut])
@paginate(LimitOffsetPagination)
def list_obligations(request: HttpRequest, filters: Query[ObligationFiltersIn]):
    return selectors.obligations(tenant=request.tenant, customer_id=filters.customer, due_from=filters.due_from,
                                 due_to=filters.due_to)


@router.get("/obligations/{obligation_id}", response=ObligationDetailOut)
def read_obligation(request: HttpRequest, obligation_id: int):
    return _detail(request, obligation_id)


@router.patch("/obligations/{obligation_id}", response=ObligationDetailOut)
def update_obligation(request: HttpRequest, obligation_id: int, payload: ObligationPatch):
    obligation = _detail(request, obligation_id)
    changes = obligations.ObligationChanges(**payload.dict(exclude_none=True, exclude={"notify_customer"}))
    obligations.update_obligation(obligation=obligation, changes=changes, actor=None, at=timezone.now(),
                               notify_customer=payload.notify_customer, reason=_reason(request))
    return _detail(request, obligation_id)


@router.get("/instalments", response=list[InstalmentOut])
@paginate(LimitOffsetPagination)
def list_instalments(request: HttpRequest, filters: Query[InstalmentFiltersIn]):
    if filters.status and filters.status not in selectors.INSTALMENT_STATUSES:
        raise ValidationError({"status": _("One of %(join)s.") % {"join": ', '.join(selectors.INSTALMENT_STATUSES)}})
    today = tenant_today(request.tenant)
    return selectors.instalments(tenant=request.tenant, today=today, filters=selectors.InstalmentFilters(
        customer=filters.customer, status=filters.status, due_from=filters.due_from, due_to=filters.due_to))


@router.get("/instalments/{instalment_id}", response=InstalmentOut)
def read_instalment(request: HttpRequest, instalment_id: int):
    return selectors.get_instalment(tenant=request.tenant, instalment_id=instalment_id)


@router.patch("/instalments/{instalment_id}", response=InstalmentOut)
def update_instalment(request: HttpRequest, instalment_id: int, payload: InstalmentPatch):
    instalment = selectors.get_instalment(tenant=request.tenant, instalment_id=instalment_id)
    obligations.update_instalment(instalment=instalment, amount=payload.amount, due_on=payload.due_on, actor=None,
                               at=timezone.now(), notify_customer=payload.notify_customer, reason=_reason(request))
    return selectors.get_instalment(tenant=request.tenant, instalment_id=instalment_id)
