"""A year of a business for the demo: customers with invoices, payments, credit notes, cancellations and
write-offs, payment requests in every status, instalment plans paid and overdue, and the messages these
sent — so that the dashboard, the aged receivables, the calendar and every report show real shapes.

Everything is made by Duly's own services, deterministically (a seeded random generator), and only once:
the history is there when its first customer is.
"""

from __future__ import annotations

import random
import re
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from faker import Faker

from core import l10n
from crm import services as crm_services
from crm.models import Customer, Tenant, User
from finance import services as ledger
from finance.models import Account, Classification, PaymentMethod, TransactionType
from gateways.models import GatewayAccount
from obligations.services.obligations import (
    AUTOMATIC,
    ObligationData,
    Plan,
    create_obligation,
    mark_instalment_paid,
)
from paylinks.services.requests import (
    RequestData,
    cancel_payment_request,
    expire_payment_requests,
    request_payment,
)
from payments.models import PaymentPurpose
from payments.services.gateway_payments import DEFAULT_PAYMENT_METHOD, apply_state, record_payment

PRODUCTS = ((_("Annual policy fee"), "240.00"), (_("Arrangement fee"), "95.50"), (_("Monthly finance fee"), "49.00"),
            (_("Quarterly retainer"), "450.00"), (_("Vehicle service"), "189.99"), (_("Renewal fee"), "60.00"))
MONTHS = 12


def _faker(tenant: Tenant) -> Faker:
    fake = Faker({"GB": "en_GB", "IE": "en_IE", "PA": "es_MX"}.get(str(tenant.country), "en_GB"))
    fake.seed_instance(f"duly-demo-{tenant.slug}")
    return fake


def card_method(tenant: Tenant) -> PaymentMethod:
    """The ledger set-up's card payment method, named in the tenant's language."""
    with l10n.for_tenant(tenant):
        return PaymentMethod.objects.get(tenant=tenant, name=str(DEFAULT_PAYMENT_METHOD))


def seed_history(*, tenant: Tenant, customers: int, staff: User, now: datetime | None = None) -> bool:
    """``customers`` customers of ``tenant``, each with a year of ledger history, a few payment requests and
    instalment plans. Returns ``False`` (and adds nothing) when the tenant has the history already."""
    fake, rng = _faker(tenant), random.Random(f"duly-demo-{tenant.slug}")  # noqa: S311 - demo data, not secrets
    names = [f"{fake.first_name()} {fake.last_name()}" for _ in range(customers)]
    if not names or Customer.objects.filter(tenant=tenant, name=names[0], notes="Demo history").exists():
        return False
    now = now or timezone.now()
    card = card_method(tenant)
    write_off_type = TransactionType.objects.get(tenant=tenant, classification=Classification.WRITE_OFF,
                                                 is_default=True)
    gateway = GatewayAccount.objects.filter(tenant=tenant, provider="sandbox").first()
    for index, name in enumerate(names):
        customer = crm_services.create_customer(
            tenant=tenant, actor=None, reason="demo data",
            data=crm_services.CustomerData(
                name=name, email=f"{re.sub(r'[^a-z]+', '.', name.lower()).strip('.')}{index}@example.com",
                phone="" if index % 7 == 0 else f"+4479111234{index % 100:02d}", address_line1=fake.street_address(),
                city=fake.city(), postcode=fake.postcode(), country=str(tenant.country), notes="Demo history"))
        account = ledger.open_account(customer=customer, currency=tenant.default_currency, credit_limit="2000.00")
        _a_year_of(account, rng=rng, now=now, card=card, write_off_type=write_off_type, staff=staff)
        if gateway is not None and index < 12:
            _a_request(account, index=index, gateway=gateway, staff=staff, now=now)
        if index % 25 == 3:
            _a_plan(customer, index=index, staff=staff, now=now)
    return True


def _a_year_of(account: Account, *, rng: random.Random, now: datetime, card, write_off_type, staff) -> None:
    """An invoice in most months, paid about three weeks later as most customers do; some left open (the
    aged receivables), a few credited, cancelled or written off."""
    for months_ago in range(MONTHS, 0, -1):
        if rng.random() < 0.6:
            continue
        at = now - timedelta(days=30 * months_ago + rng.randrange(0, 20))
        description, price = rng.choice(PRODUCTS)
        description = str(description)
        draft = ledger.create_transaction(
            account=account, classification=Classification.INVOICE, actor=staff, at=at,
            data=ledger.TransactionData(lines=[ledger.LineData(description, Decimal(1), Decimal(price))]))
        invoice = ledger.post_transaction(txn=draft, actor=staff, at=at).transaction
        fate, paid_at = rng.random(), at + timedelta(days=rng.randrange(5, 40))
        if paid_at >= now:
            continue
        if fate < 0.72:
            ledger.quick_pay(invoice=invoice, payment_method=card, actor=staff, at=paid_at,
                             external_reference=f"BANK-{invoice.number}")
        elif fate < 0.78:
            goodwill = gettext("Goodwill: %(product)s") % {"product": description}
            credit = ledger.create_transaction(
                account=account, classification=Classification.CREDIT_NOTE, actor=staff, at=paid_at,
                data=ledger.TransactionData(lines=[ledger.LineData(goodwill, Decimal(1),
                                                                   (Decimal(price) / 4).quantize(Decimal("0.01")))],
                                            targets=[invoice]))
            ledger.post_transaction(txn=credit, actor=staff, at=paid_at)
        elif fate < 0.81:
            ledger.cancel_invoice(invoice=invoice, actor=staff, at=paid_at)
        elif fate < 0.83 and months_ago > 4:
            ledger.write_off_invoice(invoice=invoice, actor=staff, at=paid_at, type=write_off_type)
        # otherwise left open: overdue by now, in one of the ageing buckets


def _a_request(account: Account, *, index: int, gateway, staff, now: datetime) -> None:
    """A payment request: open, paid, expired or cancelled, in turn."""
    kind = ("open", "paid", "expired", "cancelled")[index % 4]
    at = now - timedelta(days=3) if kind == "expired" else now - timedelta(hours=index)
    request, _ = request_payment(
        customer=account.customer, account=account, actor=staff, at=at,
        data=RequestData(amount=f"{50 + 10 * index}.00", reference=f"DEMO-REQ-{index + 1}",
                         message=gettext("Your deposit, as agreed on the phone."), channels=["email"]))
    if kind == "paid":
        payment = record_payment(purpose=PaymentPurpose.REQUEST, gateway_account=gateway, account=account,
                                 amount=request.amount, description=f"Request {request.reference}",
                                 mode="hosted_page", at=at, payment_request=request, created_by=staff)
        apply_state(payment=payment, status="succeeded", at=at + timedelta(minutes=3), source="demo data",
                    amount_minor=int(request.amount * 100))
    elif kind == "expired":
        expire_payment_requests(at=now)  # as the hourly sweep would, minutes after the demo starts
    elif kind == "cancelled":
        cancel_payment_request(request=request, actor=staff, at=now)


def _a_plan(customer: Customer, *, index: int, staff: User, now: datetime) -> None:
    """An instalment plan that began months ago: the early instalments paid, one overdue, the rest to come."""
    first = (now - timedelta(days=95)).date()
    obligation = create_obligation(
        customer=customer, actor=staff, at=now - timedelta(days=100), reason="demo data",
        plan=Plan(kind=AUTOMATIC, first_due_on=_weekday(first), count=6),
        data=ObligationData(payee_kind="government", payee=gettext("Revenue office"),
                            payment_code=f"TAX-DEMO-{index:03d}",
                            description=gettext("Income tax in instalments"), total_amount="1200.00",
                            currency=customer.tenant.default_currency))
    for instalment in obligation.instalments.order_by("number")[:2]:
        mark_instalment_paid(instalment=instalment, actor=staff, at=datetime.combine(
            instalment.due_on, datetime.min.time(), tzinfo=now.tzinfo))


def _weekday(day: date) -> date:
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day
