"""``/api/v1/schedules`` (create, list, read, pause, resume, end) and a customer's cards on file
(``/api/v1/customers/{id}/cards``, ``DELETE /api/v1/cards/{id}``): the ledger's scope."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from ninja.responses import Status

from billing import selectors
from billing.models import Frequency, RecurringSchedule, ScheduleRun, ScheduleState
from billing.services import schedules
from crm import selectors as crm_selectors
from crm.access import TenantApiKey
from finance import selectors as finance_selectors
from finance.models import Account, DueDateRule, Product, TaxRate
from payments.models import RemovedVia, SavedCard
from payments.services import saved_cards

router = Router(tags=["recurring invoices and cards on file"], auth=TenantApiKey("ledger"))


class LineIn(Schema):
    product: int | None = Field(None, description="A product's id: its name, price and tax unless given.")
    description: str = Field("", max_length=200)
    quantity: str = Field("1", max_length=20)
    unit_price: str | None = Field(None, max_length=20)
    tax_rate: int | None = None


class ScheduleIn(Schema):
    account: int
    name: str = Field(max_length=100)
    frequency: Frequency
    start_on: date
    day_of_month: int | None = Field(None, description="Monthly, quarterly, yearly: the day of each invoice.")
    end_after: int | None = Field(None, description="The number of invoices, then it ends.")
    end_on: date | None = None
    due_date_rule: int | None = Field(None, description="A due-date rule's id; null: the account's.")
    collect_by_card: bool = True
    lines: list[LineIn] = Field(max_length=20)


class LineOut(Schema):
    product: int | None
    description: str
    quantity: Decimal
    unit_price: Decimal
    tax_rate: int | None
    from_period: int
    until_period: int | None


class RunOut(Schema):
    period: int
    period_on: date
    invoice: int
    number: str
    state: str
    collect_by_card: bool


class ScheduleOut(Schema):
    id: int
    account: int
    name: str
    frequency: str
    start_on: date
    day_of_month: int | None
    end_after: int | None
    end_on: date | None
    due_date_rule: int | None
    collect_by_card: bool
    state: str
    next_period: int
    next_invoice_on: date | None
    lines: list[LineOut]
    runs: list[RunOut]


class CardOut(Schema):
    id: int
    brand: str
    last4: str
    exp_month: int
    exp_year: int
    provider: str
    consent_at: str
    consent_source: str
    removed_at: str | None


def _out(schedule: RecurringSchedule) -> dict:
    """A schedule with its lines and runs prefetched (``_schedules``)."""
    return {
        "id": schedule.pk, "account": schedule.account_id, "name": schedule.name, "frequency": schedule.frequency,
        "start_on": schedule.start_on, "day_of_month": schedule.day_of_month, "end_after": schedule.end_after,
        "end_on": schedule.end_on, "due_date_rule": schedule.due_date_rule_id,
        "collect_by_card": schedule.collect_by_card, "state": schedule.state, "next_period": schedule.next_period,
        "next_invoice_on": schedule.next_on if schedule.state == ScheduleState.ACTIVE else None,
        "lines": [{"product": line.product_id, "description": line.description, "quantity": line.quantity,
                   "unit_price": line.unit_price, "tax_rate": line.tax_rate_id, "from_period": line.from_period,
                   "until_period": line.until_period} for line in schedule.lines.all()],
        "runs": [{"period": run.period, "period_on": run.period_on, "invoice": run.invoice_id,
                  "number": run.invoice.number, "state": run.invoice.state, "collect_by_card": run.collect_by_card}
                 for run in schedule.runs.all()[:120]],
    }


def _lines(request: HttpRequest, lines: list[LineIn]) -> list[schedules.LineInput]:
    found, errors = [], {}
    for index, line in enumerate(lines):
        product = finance_selectors.find(tenant=request.tenant, model=Product, pk=line.product)
        tax_rate = finance_selectors.find(tenant=request.tenant, model=TaxRate, pk=line.tax_rate)
        if line.product is not None and product is None:
            errors[f"lines[{index}].product"] = _("Unknown product.")
        if line.tax_rate is not None and tax_rate is None:
            errors[f"lines[{index}].tax_rate"] = _("Unknown tax rate.")
        found.append(schedules.LineInput(description=line.description, quantity=line.quantity,
                                         unit_price=line.unit_price, product=product, tax_rate=tax_rate))
    if errors:
        raise ValidationError(errors)
    return found


def _schedules(request: HttpRequest):
    runs = Prefetch("runs", queryset=ScheduleRun.objects.select_related("invoice").order_by("-period"))
    return selectors.schedules_for(tenant=request.tenant).prefetch_related("lines", runs)


def _schedule(request: HttpRequest, schedule_id: int) -> RecurringSchedule:
    found = _schedules(request).filter(pk=schedule_id).first()
    if found is None:
        raise Http404(_("No such schedule."))
    return found


@router.post("/schedules", response={201: ScheduleOut})
def create_schedule(request: HttpRequest, payload: ScheduleIn):
    """A recurring schedule on a customer's account; its invoices are issued from ``start_on``."""
    account = finance_selectors.find(tenant=request.tenant, model=Account, pk=payload.account)
    if account is None:
        raise ValidationError({"account": _("Unknown account.")})
    rule = finance_selectors.find(tenant=request.tenant, model=DueDateRule, pk=payload.due_date_rule)
    if payload.due_date_rule is not None and rule is None:
        raise ValidationError({"due_date_rule": _("Unknown due-date rule.")})
    data = schedules.ScheduleData(
        name=payload.name, frequency=payload.frequency, start_on=payload.start_on, day_of_month=payload.day_of_month,
        end_after=payload.end_after, end_on=payload.end_on, due_date_rule=rule,
        collect_by_card=payload.collect_by_card, lines=_lines(request, payload.lines))
    schedule = schedules.create_schedule(account=account, data=data, actor=None, at=timezone.now())
    return Status(201, _out(_schedule(request, schedule.pk)))


@router.get("/schedules", response=list[ScheduleOut])
def list_schedules(request: HttpRequest, account: int | None = None):
    """The tenant's schedules (at most 200), or one account's."""
    found = _schedules(request)
    if account is not None:
        found = found.filter(account_id=account)
    return [_out(schedule) for schedule in found.order_by("pk")[:200]]


@router.get("/schedules/{schedule_id}", response=ScheduleOut)
def read_schedule(request: HttpRequest, schedule_id: int):
    return _out(_schedule(request, schedule_id))


def _change(request: HttpRequest, schedule_id: int, change) -> dict:
    schedule = selectors.get_schedule(tenant=request.tenant, schedule_id=schedule_id)
    change(schedule=schedule, at=timezone.now())
    return _out(_schedule(request, schedule_id))


@router.post("/schedules/{schedule_id}/pause", response=ScheduleOut)
def pause_schedule(request: HttpRequest, schedule_id: int):
    """No invoice while paused; the periods missed are skipped."""
    return _change(request, schedule_id, schedules.pause)


@router.post("/schedules/{schedule_id}/resume", response=ScheduleOut)
def resume_schedule(request: HttpRequest, schedule_id: int):
    """Invoices again, from the first period on or after today."""
    return _change(request, schedule_id, schedules.resume)


@router.post("/schedules/{schedule_id}/end", response=ScheduleOut)
def end_schedule(request: HttpRequest, schedule_id: int):
    """No invoice after today."""
    return _change(request, schedule_id, schedules.end)


def _card_out(card: SavedCard) -> dict:
    return {"id": card.pk, "brand": card.brand, "last4": card.last4, "exp_month": card.exp_month,
            "exp_year": card.exp_year, "provider": card.provider, "consent_at": card.consent_at.isoformat(),
            "consent_source": card.consent_source,
            "removed_at": card.removed_at.isoformat() if card.removed_at else None}


@router.get("/customers/{customer_id}/cards", response=list[CardOut])
def list_cards(request: HttpRequest, customer_id: int):
    """The customer's cards on file (removed ones too, with when)."""
    customer = crm_selectors.get_customer(tenant=request.tenant, customer_id=customer_id)
    return [_card_out(card) for card in saved_cards.cards_of(customer=customer, include_removed=True)]


@router.delete("/cards/{card_id}", response=CardOut)
def remove_card(request: HttpRequest, card_id: int):
    """Remove a card on file: it is never charged again."""
    card = SavedCard.objects.select_related("gateway_account").filter(tenant=request.tenant, pk=card_id).first()
    if card is None:
        raise Http404(_("No such card."))
    return _card_out(saved_cards.remove_card(card=card, via=RemovedVia.API, actor=None, at=timezone.now()))
