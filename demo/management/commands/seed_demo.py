"""Load the demo: two tenants, their staff, the named customers with a few transactions each, and a year
of business for a few hundred more (``demo.history``). Running it again adds nothing twice.

It lives in the top app because it seeds every app below it.
"""

import secrets
from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_scopes import scope

from core import l10n
from crm import services
from crm.models import Customer, Role, Tenant, User
from demo.bank import seed_bank
from demo.billing import seed_billing
from demo.history import card_method, seed_history
from finance import services as ledger
from finance.models import Account, Classification, FeePayer, Lender, TransactionType
from gateways import services as gateway_services
from gateways.models import GatewayAccount
from obligations.models import Obligation
from obligations.services.obligations import AUTOMATIC, ObligationData, Plan, create_obligation
from receivables.services.levels import add_suggested_levels

DEMO_PASSWORD = "duly-demo-2026"

TENANTS = [
    {
        "name": "Acme Brokers", "slug": "acme", "country": "GB", "time_zone": "Europe/London",
        "default_currency": "GBP", "locale": "en", "history": 200,
        "staff": [
            ("alice", "Alice", "Archer", [key for key, _ in Role.KEYS]),
            ("bob", "Bob", "Baker", [Role.STAFF]),
        ],
        "customers": [
            ("Harriet Holloway", "harriet@example.com", "+447911123456", "12 Elm Row", "London", "E1 6AN"),
            ("Ivan Ilic", "ivan@example.com", "+447911123457", "4 Mill Lane", "Leeds", "LS1 4AP"),
            ("Jasmine Jones", "jasmine@example.com", "", "9 Quay St", "Bristol", "BS1 4DJ"),
            ("Kilnworth Ltd", "accounts@kilnworth.example", "+442079460958", "1 Forge Yard", "Manchester", "M1 1AE"),
            ("Leo Lambert", "", "+447912345678", "", "York", ""),
        ],
    },
    {
        # A Credicorp tenant in Panama: its staff read Duly in Spanish, in Panama's time and formats.
        "name": "Istmo Seguros", "slug": "istmo", "country": "PA", "time_zone": "America/Panama",
        "default_currency": "USD", "locale": "es", "history": 30,
        "staff": [("pilar", "Pilar", "Pérez", [key for key, _ in Role.KEYS])],
        "customers": [
            ("María Fernández", "maria@example.com", "+50761234567", "Calle 50, Torre Global", "Panamá", ""),
            ("Carlos Rodríguez", "carlos@example.com", "", "Vía España 120", "David", ""),
        ],
    },
    {
        "name": "Northwind Motors", "slug": "northwind", "country": "IE", "time_zone": "Europe/Dublin",
        "default_currency": "EUR", "locale": "en", "history": 60,
        "staff": [("nora", "Nora", "Nolan", [Role.STAFF, Role.CAN_TAKE_PAYMENT, Role.MANAGER])],
        "customers": [
            ("Aoife Byrne", "aoife@example.com", "+353851234567", "22 Harbour Rd", "Dublin", "D02 X285"),
            ("Conor Walsh", "conor@example.com", "", "3 Main St", "Cork", "T12 RX2P"),
        ],
    },
]


def demo_customers(*, tenant: Tenant, spec: dict) -> list[Customer]:
    """The demo's own customers of ``tenant``, in the order the demo lists them, found by their natural key
    (name and email): whatever else the tenant holds is the user's and is never touched."""
    found = []
    for name, email, *_rest in spec["customers"]:
        customer = Customer.objects.filter(tenant=tenant, name=name, email=email).order_by("pk").first()
        if customer is not None:
            found.append(customer)
    return found


def seed_ledger(*, tenant: Tenant, customers: list[Customer]) -> None:
    """An account per demo customer; for the first three, a history: invoices, a payment, a credit note.
    A demo customer that already has an account is left as it is."""
    ledger.set_up_ledger(tenant=tenant)
    card = card_method(tenant)
    now = timezone.now()
    for index, customer in enumerate(customers):
        if Account.objects.filter(tenant=tenant, customer=customer).exists():
            continue
        account = ledger.open_account(customer=customer, currency=tenant.default_currency, credit_limit="1000.00")
        if index >= 3:
            continue
        start = now - timedelta(days=60 - 10 * index)
        for days, description, price in ((0, _("Annual policy fee"), "240.00"), (20, _("Arrangement fee"), "95.50")):
            draft = ledger.create_transaction(
                account=account,
                classification=Classification.INVOICE,
                actor=None,
                at=start + timedelta(days=days),
                data=ledger.TransactionData(lines=[ledger.LineData(description, Decimal(1), Decimal(price))]),
            )
            ledger.post_transaction(txn=draft, actor=None, at=start + timedelta(days=days))
        payment = ledger.create_transaction(
            account=account,
            classification=Classification.PAYMENT,
            actor=None,
            at=start + timedelta(days=25),
            data=ledger.TransactionData(
                amount=Decimal("150.00") + 50 * index, payment_method=card, external_reference=f"DEMO-{index + 1}"
            ),
        )
        ledger.post_transaction(txn=payment, actor=None, at=start + timedelta(days=25))
        if index == 0:
            # A broker fee due from the customer: its row on the customer file offers "Take Payment".
            fee_type = TransactionType.objects.get(tenant=tenant, classification=Classification.INVOICE,
                                                   fee_payer=FeePayer.CUSTOMER)
            fee = ledger.create_transaction(
                account=account,
                classification=Classification.INVOICE,
                actor=None,
                at=now,
                data=ledger.TransactionData(
                    type=fee_type, lines=[ledger.LineData(fee_type.name, Decimal(1), Decimal("150.00"))]
                ),
            )
            ledger.post_transaction(txn=fee, actor=None, at=now)
            seed_lender_fee(account=account, at=now)


def seed_lender_fee(*, account: Account, at) -> None:
    """A procuration fee the lender owes for the customer's mortgage: booked on the lender's account and
    shown on the customer file as due from the lender, never in the customer's balance."""
    lender, _ = Lender.objects.get_or_create(tenant=account.tenant, name="Northbank Mortgages",
                                             defaults={"email": "introducers@northbank.example"})
    fee_type = TransactionType.objects.get(tenant=account.tenant, classification=Classification.INVOICE,
                                           fee_payer=FeePayer.PROVIDER)
    fee = ledger.create_transaction(
        account=account,
        lender=lender,
        classification=Classification.INVOICE,
        actor=None,
        at=at,
        data=ledger.TransactionData(
            type=fee_type, lines=[ledger.LineData(fee_type.name, Decimal(1), Decimal("420.00"))]
        ),
    )
    ledger.post_transaction(txn=fee, actor=None, at=at)


def seed_obligations(*, tenant: Tenant, customers: list[Customer]) -> None:
    """An instalment plan for the first demo customer, so the calendar and the customer portal have something.
    Only that customer's plans count: the user's own plans neither stop nor receive the demo's."""
    customer = customers[0] if customers else None
    if customer is None or Obligation.objects.filter(tenant=tenant, customer=customer).exists():
        return
    today = timezone.localdate()
    first = today.replace(day=1) + timedelta(days=32)
    create_obligation(
        customer=customer,
        actor=None,
        at=timezone.now(),
        plan=Plan(kind=AUTOMATIC, first_due_on=first.replace(day=min(today.day, 28)), count=3),
        reason="demo data",
        data=ObligationData(
            payee_kind="government",
            payee=_("Revenue office"),
            payment_code=f"TAX-{today.year}-0042",
            description=_("Income tax %(year)s") % {"year": today.year},
            total_amount="1000.00",
            currency=tenant.default_currency,
            manager_comments=_("Demo: paid late last year."),
        ),
    )


class Command(BaseCommand):
    help = "Load the demo tenants, staff users and customers (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--history", type=float, default=1.0,
                            help="Scale the year of history: 1 (the default) for a few hundred customers, 0 for none.")

    @transaction.atomic
    def handle(self, *args, **options):
        for spec in TENANTS:
            tenant = Tenant.objects.filter(slug=spec["slug"]).first() or services.create_tenant(
                name=spec["name"], slug=spec["slug"], country=spec["country"], time_zone=spec["time_zone"],
                default_currency=spec["default_currency"], locale=spec["locale"],
            )
            for username, first, last, roles in spec["staff"]:
                if not User.objects.filter(username=username).exists():
                    services.create_staff_user(
                        tenant=tenant, username=username, email=f"{username}@{spec['slug']}.example",
                        password=DEMO_PASSWORD, first_name=first, last_name=last, role_keys=roles,
                    )
            with scope(tenant=tenant), l10n.for_tenant(tenant):  # the demo's own texts in the tenant's language
                for name, email, phone, street, city, postcode in spec["customers"]:
                    if not Customer.objects.filter(tenant=tenant, name=name, email=email).exists():
                        services.create_customer(tenant=tenant, actor=None, reason="demo data",
                                                 data=services.CustomerData(
                                                     name=name, email=email, phone=phone, address_line1=street,
                                                     city=city, postcode=postcode, country=spec["country"]))
                customers = demo_customers(tenant=tenant, spec=spec)
                seed_ledger(tenant=tenant, customers=customers)
                seed_obligations(tenant=tenant, customers=customers)
                if not GatewayAccount.objects.filter(tenant=tenant, provider="sandbox").exists():
                    # The offline sandbox provider, so the demo takes payments with no network.
                    gateway_services.save_gateway_account(
                        tenant=tenant, provider="sandbox", live=False, secret=f"sbx_{secrets.token_urlsafe(24)}"
                    )
                staff = User.objects.get(username=spec["staff"][0][0])
                seed_history(tenant=tenant, customers=round(spec["history"] * options["history"]), staff=staff)
                seed_bank(tenant=tenant, customers=customers)
                if tenant.slug == "acme":  # the usual four dunning levels; the running demo's beat sends them
                    add_suggested_levels(tenant=tenant)
                    seed_billing(tenant=tenant, customers=customers)
        if not User.objects.filter(username="support").exists():
            User.objects.create_superuser(username="support", email="support@duly.example", password=DEMO_PASSWORD)
        self.stdout.write(self.style.SUCCESS("Demo data is loaded."))
        self.stdout.write("Open http://127.0.0.1:8000/ and log in as:")
        self.stdout.write(f"  alice / {DEMO_PASSWORD}  (Acme Brokers: every role)")
        self.stdout.write(f"  bob   / {DEMO_PASSWORD}  (Acme Brokers: staff only)")
        self.stdout.write(f"  nora  / {DEMO_PASSWORD}  (Northwind Motors)")
        self.stdout.write(f"  pilar / {DEMO_PASSWORD}  (Istmo Seguros, Panama: in Spanish)")
        self.stdout.write(f"  support / {DEMO_PASSWORD}  (platform support, Django admin at /admin/)")
