"""The customers resource of the API, and the API's authentication."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema
from ninja.pagination import LimitOffsetPagination, paginate
from ninja.responses import Status

from crm import selectors, services
from crm.access import TenantApiKey


class CustomerOut(Schema):
    id: int
    name: str
    email: str
    phone: str
    address_line1: str
    address_line2: str
    city: str
    postcode: str
    country: str
    language: str
    iban: str
    notes: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_phone(obj) -> str:
        return str(obj.phone) if obj.phone else ""

    @staticmethod
    def resolve_country(obj) -> str:
        return obj.country.code or ""


class CustomerIn(Schema):
    name: str = Field(..., max_length=200, examples=["Harriet Holloway"])
    email: str = Field("", examples=["harriet@example.com"])
    phone: str = Field("", description="International form; a national number is read in the tenant's country.",
                       examples=["+44 20 7946 0958"])
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    postcode: str = ""
    country: str = Field("", description="ISO 3166 code.", examples=["GB"])
    language: str | None = Field(None, description="The customer's language; the tenant's when left out.")
    iban: str = Field("", description="For refunds by bank transfer; spaces allowed.",
                      examples=["GB33BUKB20201555555555"])
    notes: str = ""


class CustomerPatch(Schema):
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    address_line1: str | None = None
    address_line2: str | None = None
    city: str | None = None
    postcode: str | None = None
    country: str | None = None
    language: str | None = None
    iban: str | None = None
    notes: str | None = None


def _api_actor_reason(request: HttpRequest) -> str:
    return f"API key “{request.api_key.name}”"


router = Router(tags=["customers"], auth=TenantApiKey("customers"))


@router.get("/customers", response=list[CustomerOut])
@paginate(LimitOffsetPagination)
def list_customers(request: HttpRequest, search: str = ""):
    return selectors.search_customers(tenant=request.tenant, query=search)


@router.post("/customers", response={201: CustomerOut})
def create_customer(request: HttpRequest, payload: CustomerIn):
    customer = services.create_customer(
        tenant=request.tenant, actor=None, reason=_api_actor_reason(request),
        data=services.CustomerData(**payload.dict(exclude_none=True)),
    )
    return Status(201, customer)


@router.get("/customers/{customer_id}", response=CustomerOut)
def read_customer(request: HttpRequest, customer_id: int):
    return selectors.get_customer(tenant=request.tenant, customer_id=customer_id)


@router.patch("/customers/{customer_id}", response=CustomerOut)
def update_customer(request: HttpRequest, customer_id: int, payload: CustomerPatch):
    customer = selectors.get_customer(tenant=request.tenant, customer_id=customer_id)
    return services.update_customer(
        customer=customer, actor=None, reason=_api_actor_reason(request),
        changes=services.CustomerChanges(**payload.dict(exclude_unset=True)),
    )
